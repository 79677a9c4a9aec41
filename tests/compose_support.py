"""docker-compose.yml as compose reads it, without a Docker engine: the YAML, and the
``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}`` interpolation
compose applies to it with the variables of a ``.env`` file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
#: The secrets compose must refuse to start without.
SECRETS = ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "AMI_SECRET", "SECRET_KEY")


class MissingVariable(Exception):
    """What compose says for ``${VAR:?error}`` when VAR is unset or empty."""


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """``value`` (a string, list or mapping from the YAML) with ``env`` substituted."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        current = env.get(name)
        if op == ":?":
            if not current:
                raise MissingVariable(f"{name}: {arg}")
            return current
        if op == ":-":
            return current or arg
        if op == "-":
            return arg if current is None else current
        return current or ""

    return _VARIABLE.sub(one, value)


def variables_used() -> set[str]:
    return {m.group(1) for m in _VARIABLE.finditer(COMPOSE.read_text())}


def read_env_file(path: Path) -> dict[str, str]:
    from callcenter.deploy_env import assigned
    return assigned(path.read_text(encoding="utf-8"))


def service_env(compose: dict, name: str, env: dict[str, str]) -> dict[str, str]:
    """A service's environment as its container gets it."""
    return {k: str(v) for k, v in
            interpolate(compose["services"][name].get("environment", {}), env).items()}
