"""Reading the environment Asterisk sends first, from a stream, within bounds."""

from __future__ import annotations

import asyncio

from telephony.agi.protocol import (
    MAX_ENV_LINES,
    AGIEnvironment,
    AGIError,
    AGIProtocolError,
    build_environment,
    parse_env_line,
)


class PeerIdle(AGIError):
    """The peer stayed silent longer than ``idle_timeout`` while sending its environment."""


class EnvironmentTruncated(AGIProtocolError):
    """The peer closed the connection before the environment's blank line."""



async def read_environment(reader: asyncio.StreamReader,
                           idle_timeout: float | None = None) -> AGIEnvironment:
    """Read ``agi_*`` lines up to the blank line, however many TCP chunks they span;
    PeerIdle when a line takes longer than ``idle_timeout`` to arrive."""
    variables: dict[str, str] = {}
    for _ in range(MAX_ENV_LINES):
        try:
            async with asyncio.timeout(idle_timeout):
                raw = await reader.readline()
        except TimeoutError as exc:
            raise PeerIdle(f"silent for {idle_timeout}s after {len(variables)} lines") \
                from exc
        except ValueError as exc:  # LimitOverrunError: a line longer than the limit
            raise AGIProtocolError("environment line too long") from exc
        if not raw.endswith(b"\n"):
            raise EnvironmentTruncated(f"connection closed after {len(variables)} lines")
        line = raw[:-1].rstrip(b"\r")
        if not line:
            return build_environment(variables)
        key, value = parse_env_line(line)
        variables[key] = value
    raise AGIProtocolError(f"environment longer than {MAX_ENV_LINES} lines")
