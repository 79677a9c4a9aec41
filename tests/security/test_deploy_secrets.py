"""Issue 9, defect 7: unsafe deployment defaults.

Before: the AMI secret was committed in deploy/asterisk/manager.conf and was compose's
default, POSTGRES_PASSWORD defaulted to "callcenter", Redis had no password. Now compose
refuses to start without the four secrets, `callcenter deploy init-env` generates them
into .env (never overwriting one), Asterisk gets its AMI secret from the environment at
start, and Redis requires a password that every app service has in REDIS_URL.

No Docker engine here: the compose file is read as compose reads it
(tests/compose_support.py) and the processes it starts are run for real where they can
be (the Asterisk start script with sh, redis-server with the compose arguments).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from compose_support import (
    ROOT,
    SECRETS,
    MissingVariable,
    interpolate,
    load_compose,
    read_env_file,
    service_env,
    variables_used,
)

from callcenter.bridge.settings import load_bridge_settings
from callcenter.cli import main as cli
from callcenter.config import load_settings

APP_SERVICES = ("migrate", "web", "worker", "bridge")
START = ROOT / "deploy" / "asterisk-init" / "start.sh"
MANAGER = ROOT / "deploy" / "asterisk" / "manager.conf"


@pytest.fixture
def dot_env(tmp_path) -> dict[str, str]:
    path = tmp_path / ".env"
    result = CliRunner().invoke(cli, ["deploy", "init-env", "--path", str(path)])
    assert result.exit_code == 0, result.output
    return read_env_file(path)


# --- compose refuses to start without real secrets ---------------------------------

@pytest.mark.parametrize("missing", SECRETS)
def test_compose_refuses_to_start_without_each_secret(dot_env, missing):
    compose = load_compose()
    env = {k: v for k, v in dot_env.items() if k != missing}
    with pytest.raises(MissingVariable, match=missing):
        interpolate(compose, env)
    with pytest.raises(MissingVariable, match=missing):
        interpolate(compose, {**env, missing: ""})  # an empty value is no secret either
    assert interpolate(compose, dot_env)  # with all four it starts


def test_no_secret_has_a_default_anywhere():
    text = (ROOT / "docker-compose.yml").read_text()
    for name in SECRETS:
        assert f"${{{name}:-" not in text and f"${{{name}-" not in text, name
    assert "change-me" not in text and "callcenter}@" not in text
    live = [line for line in MANAGER.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith(";")]
    assert not [line for line in live if line.replace(" ", "").startswith("secret=")]


def test_init_env_writes_private_secrets_and_never_overwrites(tmp_path):
    path = tmp_path / ".env"
    runner = CliRunner()
    assert runner.invoke(cli, ["deploy", "init-env", "--path", str(path)]).exit_code == 0
    first = read_env_file(path)
    assert set(first) == set(SECRETS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all(len(v) >= 32 and v[0].isalnum() and v.replace("-", "").replace("_", "")
               .isalnum() for v in first.values())
    again = runner.invoke(cli, ["deploy", "init-env", "--path", str(path)])
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert read_env_file(path) == first
    # An older .env: what it has stays, what it lacks is added; a copied
    # .env.example's empty values are filled in.
    path.write_text("POSTGRES_PASSWORD=kept-password-123\nTIMEZONE=UTC\nREDIS_PASSWORD=\n")
    result = runner.invoke(cli, ["deploy", "init-env", "--path", str(path)])
    assert result.exit_code == 0
    values = read_env_file(path)
    assert values["POSTGRES_PASSWORD"] == "kept-password-123" and values["TIMEZONE"] == "UTC"
    assert all(values[name] for name in SECRETS)
    assert path.read_text().count("REDIS_PASSWORD=") == 1
    example = tmp_path / "example.env"
    shutil.copy(ROOT / ".env.example", example)
    runner.invoke(cli, ["deploy", "init-env", "--path", str(example)])
    assert all(read_env_file(example)[name] for name in SECRETS)


def test_the_generated_env_gives_every_service_valid_settings(dot_env, tmp_path):
    compose = load_compose()
    for name in APP_SERVICES:
        env = service_env(compose, name, dot_env)
        env["CALLCENTER_INSTANCE"] = str(tmp_path / name)
        settings = load_settings(env)
        assert dot_env["POSTGRES_PASSWORD"] in settings.database_url
        assert settings.redis_url == f"redis://:{dot_env['REDIS_PASSWORD']}@redis:6379/0"
        assert settings.secret_key == dot_env["SECRET_KEY"]
    bridge = load_bridge_settings(service_env(compose, "bridge", dot_env))
    assert bridge.ami_secret == dot_env["AMI_SECRET"]
    postgres = service_env(compose, "postgres", dot_env)
    assert postgres["POSTGRES_PASSWORD"] == dot_env["POSTGRES_PASSWORD"]


def test_env_example_names_every_compose_variable_and_env_is_ignored():
    example = read_env_file(ROOT / ".env.example")
    commented = (ROOT / ".env.example").read_text()
    for name in variables_used():
        assert name in example or f"#{name}=" in commented, name
    assert all(example[name] == "" for name in SECRETS)  # placeholders, no values
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT,
                             check=False, timeout=30)
    assert ignored.returncode == 0


# --- Asterisk: the AMI secret from the environment ---------------------------------

def _run_start(tmp_path: Path, secret: str | None) -> subprocess.CompletedProcess:
    nxt = tmp_path / "next.sh"
    nxt.write_text('#!/bin/sh\necho "started: $* secret=${AMI_SECRET:-unset}"\n')
    nxt.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "CALLCENTER_SECRETS_DIR": str(tmp_path / "run"),
           "ASTERISK_ENTRYPOINT": str(nxt)}
    if secret is not None:
        env["AMI_SECRET"] = secret
    return subprocess.run(["sh", str(START), "asterisk", "-f"], env=env, capture_output=True,
                          text=True, timeout=30, check=False)


def test_asterisk_gets_the_ami_secret_at_start_and_manager_conf_includes_it(dot_env,
                                                                           tmp_path):
    compose = load_compose()
    asterisk = compose["services"]["asterisk"]
    assert asterisk["entrypoint"] == ["/bin/sh", "/usr/local/bin/callcenter-asterisk-start"]
    assert "./deploy/asterisk-init/start.sh:/usr/local/bin/callcenter-asterisk-start:ro" \
        in asterisk["volumes"]
    secret = service_env(compose, "asterisk", dot_env)["AMI_SECRET"]
    assert secret == service_env(compose, "bridge", dot_env)["AMI_SECRET"]

    result = _run_start(tmp_path, secret)
    # The image's own entrypoint runs next, with the arguments, without the secret.
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started: asterisk -f secret=unset"
    written = tmp_path / "run" / "ami_bridge_secret.conf"
    assert stat.S_IMODE(written.stat().st_mode) & 0o077 == 0
    # manager.conf's [bridge] includes the file: read it as Asterisk does.
    include = '#include "/run/callcenter/ami_bridge_secret.conf"'
    manager = MANAGER.read_text()
    assert manager.count(include) == 1
    section = manager.split("[bridge]", 1)[1].replace(include, written.read_text())
    secrets = [line.split("=", 1)[1].strip() for line in section.splitlines()
               if line.replace(" ", "").startswith("secret=")]
    assert secrets == [dot_env["AMI_SECRET"]]


@pytest.mark.parametrize("bad", [None, "", "short", "has;comment-0123456",
                                 "two words 0123456789", "line\nbreak-0123456789"])
def test_asterisk_start_refuses_a_missing_or_unusable_secret(tmp_path, bad):
    result = _run_start(tmp_path, bad)
    assert result.returncode != 0 and "AMI_SECRET" in result.stderr
    assert "started" not in result.stdout


# --- Redis: a password, and every app service has it --------------------------------

@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")
def test_redis_requires_the_password_the_services_use(dot_env, tmp_path):
    from serve_support import free_port
    compose = load_compose()
    command = interpolate(compose["services"]["redis"]["command"], dot_env)
    assert command[command.index("--requirepass") + 1] == dot_env["REDIS_PASSWORD"]
    port = free_port()
    server = subprocess.Popen(  # the compose command, on a free port, without the AOF file
        [shutil.which("redis-server"), *command[1:], "--port", str(port), "--bind",
         "127.0.0.1", "--dir", str(tmp_path), "--save", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = service_env(compose, "web", dot_env)["REDIS_URL"].replace(
            "@redis:6379", f"@127.0.0.1:{port}")
        client = redis.Redis.from_url(url, socket_timeout=5, retry_on_timeout=True)
        for _ in range(100):
            try:
                assert client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            raise AssertionError("redis-server did not start")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port, socket_timeout=5).ping()
        # The health check authenticates through REDISCLI_AUTH.
        health = compose["services"]["redis"]["healthcheck"]["test"]
        assert health[0] == "CMD-SHELL"
        auth = service_env(compose, "redis", dot_env)["REDISCLI_AUTH"]
        probe = subprocess.run(["sh", "-c", health[1].replace("redis-cli",
                                                               f"redis-cli -p {port}")],
                               env={**os.environ, "REDISCLI_AUTH": auth}, timeout=30,
                               check=False)
        assert probe.returncode == 0
    finally:
        server.kill()
        server.wait()
    for name in APP_SERVICES:
        assert dot_env["REDIS_PASSWORD"] in service_env(compose, name, dot_env)["REDIS_URL"]
