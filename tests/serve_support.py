"""`callcenter serve` as a real process, for the tests of the production server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """``python -m callcenter serve --port N [args]`` with its output in a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("wb") as out:
            # Fixed arguments and the test's own environment: no user input here.
            self.proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "callcenter", "serve", "--port", str(self.port), *args],
                env={**env, "PYTHONUNBUFFERED": "1"}, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> ServeProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if requests.get(self.base + "/login", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError("serve did not answer in time:\n" + self.output())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Signal the server (the arbiter) and wait; the whole group is killed if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("serve did not stop in time:\n" + self.output()) from None

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def serve_env(database_url: str, redis_url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url,
               CALLCENTER_INSTANCE=str(instance), SECRET_KEY="serve-test-secret-key",
               TIMEZONE="Asia/Shanghai")
    return env
