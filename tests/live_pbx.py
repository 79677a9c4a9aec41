"""A real Asterisk 22 for the ``live_pbx`` tests: private, started and stopped per test.

``scripts/asterisk.sh`` builds and installs it (scripts/test.sh runs that first). Each
``PrivateAsterisk`` has its own ``asterisk.conf`` whose run, spool, log, db, key, cache
and agi directories are the test's, so several can run at once and none touches the
machine's /etc/asterisk or another Asterisk. The configuration is the one compose
deploys (``deploy/asterisk/*.conf``) with only what a test must change templated:

* manager.conf: the AMI port (a free one), loopback only, the bridge user's secret
  (generated per run), and a ``tester`` user the test originates its calls with;
* extensions.conf: ``AGI_HOST`` (the FastAGI address the dialplan dials) -> the
  test's bridge, ``127.0.0.1:<agi_port>``.

Started with ``asterisk -C <conf> -f`` (our child: its pid is ours to signal), ready
when ``asterisk -C <conf> -rx "core waitfullybooted"`` answers, stopped with ``core stop
now`` through its own control socket, killed only if that does not end it.

``require_asterisk()``: no Asterisk 22 installed is a loud skip, and a failure when the
environment variable ``CI`` is set. ``LiveGate`` counts the ``live_pbx`` tests of a run:
with ``CI`` set, a run that included some and passed none fails (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from redis_server import _die_with_parent

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "asterisk"
WANT_VERSION = "Asterisk 22."
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
#: Directories of asterisk.conf that are the test's own (the rest: the installed ones).
PRIVATE_DIRS = ("astetcdir", "astcachedir", "astdbdir", "astkeydir", "astagidir",
                "astspooldir", "astrundir", "astlogdir")
BOOT_TIMEOUT_S = 30.0
TESTER = "tester"


def asterisk_binary() -> str | None:
    """``ASTERISK_BIN`` when set (another install prefix), else asterisk on the PATH."""
    named = os.environ.get("ASTERISK_BIN")
    if named:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("asterisk", path=SEARCH_PATH)


def installed_version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


def require_asterisk() -> str:
    """The asterisk binary; otherwise skip (fail when CI is set), loudly."""
    binary = asterisk_binary()
    version = installed_version(binary) if binary else ""
    if binary and version.startswith(WANT_VERSION):
        return binary
    where = binary or os.environ.get("ASTERISK_BIN") or "no asterisk on PATH"
    why = (f"real Asterisk not installed ({where}"
           f"{': ' + version if version else ''}; want {WANT_VERSION}x): "
           "scripts/asterisk.sh could not build it or was not run "
           "(see ../shared/docs/asterisk-build.md)")
    if os.environ.get("CI"):
        pytest.fail(why, pytrace=False)
    pytest.skip("!!! LIVE PBX TEST NOT RUN: " + why)


def free_port() -> int:
    """A loopback port nobody listens on now (below the ephemeral range, as redis_server)."""
    import random
    while True:
        port = random.randrange(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _set(text: str, key: str, value: str, *, where: str) -> str:
    """Replace the one ``key = ...`` line (``=`` or ``=>``); the file changing shape
    fails here, not as a puzzling PBX."""
    pattern = re.compile(rf"^{re.escape(key)}\s*=>?.*$", re.MULTILINE)
    new, count = pattern.subn(lambda m: f"{key} = {value}" if "=>" not in m.group(0)
                              else f"{key} => {value}", text)
    assert count == 1, f"deploy/asterisk/{where}: expected one '{key}' line, found {count}"
    return new


class PrivateAsterisk:
    """One Asterisk of the test's own. ``start()``, ``stop()``, ``cli()``."""

    def __init__(self, folder: Path, *, agi_port: int, binary: str | None = None) -> None:
        self.binary = binary or require_asterisk()
        self.folder = folder
        self.agi_port = agi_port
        self.ami_port = free_port()
        self.bridge_user = "bridge"
        self.bridge_secret = secrets.token_hex(12)
        self.tester_secret = secrets.token_hex(12)
        # The control socket's path must fit in sun_path (108 bytes): a short run dir.
        self.rundir = Path(tempfile.mkdtemp(prefix="ast-", dir="/tmp"))
        self.dirs = {name: folder / name.removeprefix("ast").removesuffix("dir")
                     for name in PRIVATE_DIRS}
        self.dirs["astrundir"] = self.rundir
        self.conf = self.dirs["astetcdir"] / "asterisk.conf"
        self.process: subprocess.Popen | None = None

    # -- paths --------------------------------------------------------------------------
    @property
    def logdir(self) -> Path:
        return self.dirs["astlogdir"]

    @property
    def queue_log(self) -> Path:
        """app_queue's queue_log of this PBX (empty until the first queue event)."""
        return self.logdir / "queue_log"

    # -- configuration ------------------------------------------------------------------
    def _bridge_secret_included(self, manager: str, etc: Path) -> str:
        """manager.conf holds no secret: the compose Asterisk's start script writes it
        to a file the [bridge] section #includes. The real script does it here too (with
        ``true`` as the image's entrypoint), so the include is proven on a real PBX."""
        include = '#include "/run/callcenter/ami_bridge_secret.conf"'
        assert manager.count(include) == 1, f"deploy/asterisk/manager.conf: no {include}"
        secrets_dir = etc / "secrets"
        subprocess.run(["sh", str(DEPLOY.parent / "asterisk-init" / "start.sh")], check=True,
                       env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                            "AMI_SECRET": self.bridge_secret,
                            "CALLCENTER_SECRETS_DIR": str(secrets_dir),
                            "ASTERISK_ENTRYPOINT": "true"})
        return manager.replace(include,
                               f'#include "{secrets_dir / "ami_bridge_secret.conf"}"')

    def _installed_dirs(self) -> dict[str, str]:
        prefix = Path(self.binary).resolve().parent.parent
        lib = next((prefix / d / "asterisk" / "modules" for d in ("lib", "lib64")
                    if (prefix / d / "asterisk" / "modules").is_dir()),
                   prefix / "lib" / "asterisk" / "modules")
        var = Path("/var/lib/asterisk") if str(prefix) == "/usr" \
            else prefix / "var" / "lib" / "asterisk"
        return {"astmoddir": str(lib), "astvarlibdir": str(var), "astdatadir": str(var),
                "astsbindir": str(Path(self.binary).resolve().parent)}

    def write_config(self) -> None:
        for path in self.dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        for sub in ("cdr-csv", "cdr-custom"):
            (self.logdir / sub).mkdir(exist_ok=True)
        etc = self.dirs["astetcdir"]
        for source in sorted(DEPLOY.glob("*.conf")):
            (etc / source.name).write_text(source.read_text())
        # "[directories](!)" is a template, which Asterisk ignores (the sample's "remove
        # the (!) to enable this"): the compiled-in defaults are the deployed values, but
        # ours must be read.
        text = (DEPLOY / "asterisk.conf").read_text().replace("[directories](!)",
                                                               "[directories]")
        for key, value in {**{k: str(v) for k, v in self.dirs.items()},
                           **self._installed_dirs()}.items():
            text = _set(text, key, value, where="asterisk.conf")
        self.conf.write_text(text)
        manager = (DEPLOY / "manager.conf").read_text()
        manager = _set(manager, "port", str(self.ami_port), where="manager.conf")
        manager = _set(manager, "bindaddr", "127.0.0.1", where="manager.conf")
        manager = self._bridge_secret_included(manager, etc)
        manager += (f"\n; added by tests/live_pbx.py: the test's own connection\n"
                    f"[{TESTER}]\nsecret = {self.tester_secret}\n"
                    "deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\n"
                    "read = system,call,agent,reporting\n"
                    "write = call,originate,agent,reporting\n")
        (etc / "manager.conf").write_text(manager)
        dialplan = (DEPLOY / "extensions.conf").read_text()
        dialplan = _set(dialplan, "AGI_HOST", f"127.0.0.1:{self.agi_port}",
                        where="extensions.conf")
        (etc / "extensions.conf").write_text(dialplan)

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> PrivateAsterisk:
        self.write_config()
        out = (self.logdir / "stdout.log").open("ab")
        # Fixed arguments, paths of our own: no user input here.
        self.process = subprocess.Popen(  # noqa: S603
            [self.binary, "-C", str(self.conf), "-f", "-n"], stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        out.close()
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise AssertionError(f"asterisk exited ({code}) while booting:\n"
                                     f"{self.log_tail()}")
            reply = self.cli("core waitfullybooted", timeout=5, check=False)
            if "fully booted" in reply:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"asterisk not fully booted in {BOOT_TIMEOUT_S} s:\n"
                                     f"{self.log_tail()}")
            time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", self.ami_port), timeout=5) as ami:
            banner = ami.recv(100)
        assert banner.startswith(b"Asterisk Call Manager/"), banner
        return self

    def cli(self, command: str, *, timeout: float = 10.0, check: bool = True) -> str:
        """A CLI command through this PBX's own control socket (``-rx``)."""
        try:
            done = subprocess.run(  # noqa: S603 - our binary, our config
                [self.binary, "-C", str(self.conf), "-rx", command],
                capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            if check:
                raise
            return ""
        if check and done.returncode != 0:
            raise AssertionError(f"asterisk -rx {command!r}: {done.stdout}{done.stderr}")
        return done.stdout

    def calls_up(self) -> int:
        """Calls with a customer leg alive (``Local/<exten>@inbound-XXXX;1`` channels)."""
        text = self.cli("core show channels concise", check=False)
        return len(re.findall(r"^Local/[^@!]+@inbound-[0-9a-f]+;1!", text, re.MULTILINE))

    def channels(self) -> int:
        match = re.search(r"(\d+) active channel", self.cli("core show channels count",
                                                            check=False))
        return int(match.group(1)) if match else -1

    def wait_idle(self, timeout: float) -> bool:
        """True once no channel is up (every call ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.channels() == 0:
                time.sleep(1.0)  # app_queue's last lines reach the queue_log
                return True
            time.sleep(0.5)
        return False

    def stop(self) -> None:
        """``core stop now`` on our own control socket; SIGKILL to our child if needed."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.cli("core stop now", timeout=10, check=False)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None
        shutil.rmtree(self.rundir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        for name in ("full", "messages", "stdout.log"):
            path = self.logdir / name
            if path.exists() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def __enter__(self) -> PrivateAsterisk:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Caller:
    """The test's own AMI connection (``tester``, events off): it places the calls."""

    def __init__(self, pbx: PrivateAsterisk) -> None:
        self.sock = socket.create_connection(("127.0.0.1", pbx.ami_port), timeout=10)
        self.buffer = b""
        self.made = 0
        self.failed: list[str] = []
        self._read(b"\r\n")  # banner
        reply = self.action("Login", Username=TESTER, Secret=pbx.tester_secret,
                            Events="off")
        assert reply.get("Response") == "Success", reply

    def _read(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("Asterisk closed the test's AMI connection")
            self.buffer += chunk
        data, _, self.buffer = self.buffer.partition(marker)
        return data

    def action(self, name: str, **headers: str) -> dict[str, str]:
        action_id = f"t-{self.made}-{time.monotonic_ns()}"
        lines = "".join(f"{k}: {v}\r\n" for k, v in
                        {"Action": name, "ActionID": action_id, **headers}.items())
        self.sock.sendall((lines + "\r\n").encode())
        while True:
            block = self._read(b"\r\n\r\n").decode("utf-8", "replace")
            fields = dict(line.split(": ", 1) for line in block.split("\r\n") if ": " in line)
            if fields.get("ActionID") == action_id:
                return fields

    def call(self, exten: str, caller_id: str, patience_s: int) -> None:
        """A customer calling ``exten@inbound`` who hangs up ``patience_s`` after it is
        answered (the IVR answers at once), as the captures' driver made them."""
        reply = self.action("Originate", Channel=f"Local/{exten}@inbound",
                            Application="Wait", Data=str(patience_s), CallerID=caller_id,
                            Async="true")
        if reply.get("Response") == "Success":
            self.made += 1
        else:
            self.failed.append(json.dumps(reply))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.action("Logoff")
        self.sock.close()


class BridgeProcess:
    """``python -m callcenter bridge`` (or another ``command``) as a real process;
    ``kill()`` is SIGKILL."""

    def __init__(self, env: dict[str, str], log: Path,
                 command: tuple[str, ...] = ("bridge",)) -> None:
        self.env = {**env, "PYTHONUNBUFFERED": "1"}
        self.command = command
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> BridgeProcess:
        with self.log.open("ab") as out:
            out.write(f"----- start {self.starts + 1} at {time.time():.3f}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(  # noqa: S603 - fixed arguments
                [sys.executable, "-m", "callcenter", *self.command], env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)
        self.starts += 1
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class LiveGate:
    """Counts the live_pbx tests of a run; with CI set, none passing fails the run."""

    def __init__(self) -> None:
        self.ran: set[str] = set()
        self.passed: set[str] = set()
        self.counters: list[str] = []

    def report(self, report) -> None:
        if "live_pbx" not in report.keywords:
            return
        self.ran.add(report.nodeid)
        if report.when == "call" and report.passed:
            self.passed.add(report.nodeid)

    def verdict(self) -> str | None:
        """Why the run must fail, or None."""
        if os.environ.get("CI") and self.ran and not self.passed:
            return (f"CI: {len(self.ran)} live_pbx test(s) ran and none passed: the real "
                    "Asterisk tests did not prove anything (scripts/asterisk.sh?)")
        return None


GATE = LiveGate()
