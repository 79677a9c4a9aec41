"""The product's processes, for end-to-end tests: a live web server, the bridge, agents.

* ``Stack``: a fresh database (migrated) with agents agent1..agent5 whose interfaces are
  the captures' queue members (``Local/agentN@agents/n``), supervisors of the support
  and repairs queues, an admin; a live web server (werkzeug, threaded, with the
  Socket.IO server on the Redis message queue).
* ``BridgeThread``: ``run_bridge`` (the code behind ``callcenter bridge``) in an event
  loop of its own, against any AMI port (the PBX simulator, a replayed capture, ...).
* ``Inbox``: a python-socketio client of one user, recording what it receives.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import socketio
from live_server import live_settings, start_live_app
from sqlalchemy.orm import Session

from callcenter.bridge.main import run_bridge
from callcenter.bridge.settings import BridgeSettings
from callcenter.calls.models import PbxQueue
from callcenter.config import Settings
from callcenter.db import make_engine
from callcenter.users.services import create_user, ensure_department, issue_api_token

PASSWORD = "stack-pass-12345"
WAIT_S = 10.0

#: (username, role, department, interface)
PEOPLE = [(f"agent{n}", "agent", "Service/Hotline", f"Local/agent{n}@agents/n")
          for n in range(1, 6)] + [
    ("sup_support", "supervisor", "Service", None),
    ("sup_repairs", "supervisor", "Aftersales", None),
    ("admin", "admin", None, None),
]
QUEUES = [("support", "Service"), ("repairs", "Aftersales")]


def interface_of(n: int) -> str:
    return f"Local/agent{n}@agents/n"


@dataclass
class Stack:
    base: str
    settings: Settings
    ids: dict[str, int]
    tokens: dict[str, str]
    app: object = None

    def api(self, path: str, user: str = "admin", **params) -> requests.Response:
        return requests.get(self.base + path, params=params, timeout=WAIT_S,
                            headers={"Authorization": f"Bearer {self.tokens[user]}"})

    def user_by_interface(self) -> dict[str, int]:
        return {iface: self.ids[name] for name, _r, _d, iface in PEOPLE if iface}


def seed(url: str) -> tuple[dict[str, int], dict[str, str]]:
    engine = make_engine(url)
    ids, tokens = {}, {}
    try:
        with Session(engine) as session:
            for username, role, department, interface in PEOPLE:
                user = create_user(session, username=username, password=PASSWORD, role=role,
                                   department=department, interface=interface, locale="en")
                tokens[username] = issue_api_token(session, user)
                ids[username] = user.id
            for name, department in QUEUES:
                session.add(PbxQueue(name=name, service_level_s=20,
                                     department_id=ensure_department(session, department).id))
            session.commit()
    finally:
        engine.dispose()
    return ids, tokens


def start_stack(database_url: str, redis_url: str, instance: Path,
                seeded: tuple[dict[str, int], dict[str, str]] | None = None):
    """(Stack, stop) with a live web server on a free port. ``seeded``: what ``seed``
    returned for this database, when it was made from a seeded copy
    (``fresh_database.seeded(backend, seed)``); else it is seeded here."""
    ids, tokens = seeded or seed(database_url)
    live, stop = start_live_app(live_settings(instance, database_url, redis_url,
                                              secret="stack-test-secret-key",
                                              TIMEZONE="Asia/Shanghai"))
    return Stack(live.base, live.settings, ids, tokens, live.app), stop


class BridgeThread:
    """``run_bridge`` in a thread of its own; ``stop()`` ends it as SIGTERM would."""

    def __init__(self, settings: Settings, ami_port: int, *, agi_port: int = 0,
                 ttl_s: float = 2.0) -> None:
        self.bridge_settings = BridgeSettings(
            ami_host="127.0.0.1", ami_port=ami_port, ami_username="bridge",
            ami_secret="bridgesecret", agi_host="127.0.0.1", agi_port=agi_port,  # noqa: S106
            leader_ttl_s=ttl_s)
        self.settings = settings
        self.leader = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="bridge", daemon=True)

    def start(self) -> BridgeThread:
        self._thread.start()
        self._ready.wait(WAIT_S)
        return self

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await run_bridge(self.settings, self.bridge_settings, self._stop,
                             on_leader=self.leader)
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - re-raised by stop()
            self.error = exc

    def stop(self, timeout: float = 20.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the bridge did not stop"
        if self.error is not None:
            raise self.error

    def alive(self) -> bool:
        return self._thread.is_alive()


@dataclass
class Inbox:
    """One user's Socket.IO connection and everything it received, in order."""

    sio: socketio.Client
    events: list = field(default_factory=list)

    @classmethod
    def connect(cls, stack: Stack, username: str) -> Inbox:
        sio = socketio.Client(reconnection=False)
        inbox = cls(sio)

        def record(event, data=None):
            inbox.events.append((event, data))  # list.append is atomic: no lock needed
            if isinstance(data, dict) and "seq" in data and event.startswith("call."):
                sio.emit("call.ack", {"seq": data["seq"]})

        sio.on("*", record)
        sio.connect(stack.base, auth={"token": stack.tokens[username]},
                    transports=["websocket"], wait_timeout=WAIT_S)
        return inbox

    def of(self, *names: str) -> list[dict]:
        return [data for event, data in list(self.events) if event in names]

    def mark(self) -> int:
        """A position in what was received: ``wait_for(..., after=mark)`` looks only later."""
        return len(self.events)

    def wait_for(self, name: str, predicate=lambda d: True, timeout: float = WAIT_S,
                 after: int = 0) -> dict:
        """The first ``name`` event (from position ``after`` on) that ``predicate`` likes."""
        deadline = time.monotonic() + timeout
        seen = after
        while True:
            events = self.events
            while seen < len(events):
                event, data = events[seen]
                seen += 1
                if event == name and predicate(data):
                    return data
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {name} within {timeout} s; got {[e for e, _ in self.events]}")
            time.sleep(0.01)

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


def wait_until(condition, timeout: float = WAIT_S, interval: float = 0.05, what: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {what}")
        time.sleep(interval)
