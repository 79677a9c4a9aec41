"""Queues, members and the queue_log as app_queue keeps them."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telephony.simulator.config import QueueSpec
from telephony.simulator.frames import Channel, Pairs


@dataclass(eq=False)
class Device:
    """An agent's endpoint; shared by every queue the interface is a member of."""

    number: int
    interface: str  # Local/agent1@agents/n (the member Interface)
    exten: str  # agent1
    device: str  # Local/agent1@agents (DeviceStateChange Device)
    ringing: int = 0
    talking: int = 0
    wrapup_until: float = 0.0

    @property
    def legs(self) -> int:
        return self.ringing + self.talking


@dataclass(eq=False)
class Member:
    queue: Queue
    device: Device
    name: str
    state_interface: str
    membership: str = "static"
    penalty: int = 0
    paused: bool = False
    paused_reason: str = ""
    last_pause: int = 0
    login_time: int = 0
    calls_taken: int = 0
    last_call: int = 0
    ringinuse: bool = False

    @property
    def interface(self) -> str:
        return self.device.interface

    def status(self) -> int:
        # Local-channel members never report 6 (RINGING): 1 idle, 2 in use (INDEX.md)
        return 2 if self.device.legs else 1

    def available(self, now: float) -> bool:
        dev = self.device
        if self.paused or now < dev.wrapup_until or dev.ringing:
            return False
        return dev.talking == 0 or self.ringinuse

    def _common(self) -> Pairs:
        return [
            ("StateInterface", self.state_interface),
            ("Membership", self.membership),
            ("Penalty", str(self.penalty)),
            ("CallsTaken", str(self.calls_taken)),
            ("LastCall", str(self.last_call)),
            ("LastPause", str(self.last_pause)),
            ("LoginTime", str(self.login_time)),
            ("InCall", "1" if self.device.talking else "0"),
            ("Status", str(self.status())),
            ("Paused", "1" if self.paused else "0"),
            ("PausedReason", self.paused_reason),
        ]

    def event_pairs(self) -> Pairs:
        """QueueMemberStatus/Added/Removed/Pause/...: MemberName + Interface."""
        return [("Queue", self.queue.name), ("MemberName", self.name),
                ("Interface", self.interface), *self._common(),
                ("Ringinuse", "1" if self.ringinuse else "0"), ("Wrapuptime", "0")]

    def status_pairs(self) -> Pairs:
        """The QueueStatus list item: Name + Location instead (captured difference)."""
        return [("Queue", self.queue.name), ("Name", self.name),
                ("Location", self.interface), *self._common(), ("Wrapuptime", "0")]


@dataclass(eq=False)
class QueueEntry:
    call: Any
    channel: Channel  # the ;2 running Queue()
    joined: float
    priority: int = 0
    original_position: int = 0
    ringing: bool = False


class Queue:
    def __init__(self, spec: QueueSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.strategy = spec.strategy
        self.members: list[Member] = []
        self.entries: list[QueueEntry] = []
        self.completed = 0
        self.abandoned = 0
        self.completed_in_sl = 0
        self.abandoned_in_sl = 0
        self.holdtime = 0
        self.talktime = 0
        self._rr_next = 0
        self._changed = asyncio.Event()

    # -- membership -------------------------------------------------------------
    def member(self, interface: str) -> Member | None:
        return next((m for m in self.members if m.interface == interface), None)

    # -- callers ----------------------------------------------------------------
    def join(self, entry: QueueEntry) -> int:
        """Insert by priority (higher first, FIFO within a priority); 1-based position."""
        index = len(self.entries)
        for i, other in enumerate(self.entries):
            if other.priority < entry.priority:
                index = i
                break
        self.entries.insert(index, entry)
        entry.original_position = index + 1
        self.notify()
        return index + 1

    def position(self, entry: QueueEntry) -> int:
        return self.entries.index(entry) + 1

    def leave(self, entry: QueueEntry) -> int:
        position = self.position(entry)
        self.entries.remove(entry)
        self.notify()
        return position

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._changed.wait(), timeout=max(0.0, timeout))
        except TimeoutError:
            pass

    def pick(self, entry: QueueEntry, now: float) -> list[Member]:
        """Members to ring for ``entry`` now, or [] if it must wait (autofill=yes)."""
        available = [m for m in self.members if m.available(now)]
        if not available:
            return []
        ahead = 0
        for other in self.entries:
            if other is entry:
                break
            if not other.ringing:
                ahead += 1
        if ahead >= len(available):
            return []
        if self.strategy == "ringall":
            # captured AgentCalled order is reverse member order
            return list(reversed(available))
        count = len(self.members)
        for step in range(count):
            index = (self._rr_next + step) % count
            member = self.members[index]
            if member in available:
                self._rr_next = index + 1
                return [member]
        return []

    # -- statistics (app_queue's running averages) -------------------------------
    def record_connect(self, holdtime: int) -> bool:
        self.holdtime = (self.holdtime * 3 + holdtime) // 4
        return holdtime <= self.spec.servicelevel

    def record_complete(self, talktime: int, in_sl: bool) -> None:
        self.completed += 1
        self.completed_in_sl += int(in_sl)
        self.talktime = (self.talktime * 3 + talktime) // 4

    def record_abandon(self, holdtime: int) -> None:
        self.abandoned += 1
        self.abandoned_in_sl += int(holdtime <= self.spec.servicelevel)

    def params_pairs(self) -> Pairs:
        perf = 100.0 * self.completed_in_sl / self.completed if self.completed else 0.0
        total = self.completed + self.abandoned
        perf2 = (100.0 * (self.completed_in_sl + self.abandoned_in_sl) / total
                 if total else 0.0)
        return [("Queue", self.name), ("Max", "0"), ("Strategy", self.strategy),
                ("Calls", str(len(self.entries))), ("Holdtime", str(self.holdtime)),
                ("TalkTime", str(self.talktime)), ("Completed", str(self.completed)),
                ("Abandoned", str(self.abandoned)),
                ("ServiceLevel", str(self.spec.servicelevel)),
                ("ServicelevelPerf", f"{perf:.1f}"), ("ServicelevelPerf2", f"{perf2:.1f}"),
                ("Weight", str(self.spec.weight))]

    def queue_vars(self) -> list[tuple[str, str]]:
        """The ``setqueuevar=yes`` variables app_queue sets on the caller."""
        perf = 100.0 * self.completed_in_sl / self.completed if self.completed else 0.0
        return [("QUEUENAME", self.name), ("QUEUEMAX", "0"),
                ("QUEUESTRATEGY", self.strategy), ("QUEUECALLS", str(len(self.entries))),
                ("QUEUEHOLDTIME", str(self.holdtime)), ("QUEUETALKTIME", str(self.talktime)),
                ("QUEUECOMPLETED", str(self.completed)),
                ("QUEUEABANDONED", str(self.abandoned)),
                ("QUEUESRVLEVEL", str(self.spec.servicelevel)),
                ("QUEUESRVLEVELPERF", f"{perf:.1f}")]

    def summary_pairs(self, now: float) -> Pairs:
        logged_in = len(self.members)
        available = sum(1 for m in self.members if m.available(now))
        longest = max((int(now - e.joined) for e in self.entries), default=0)
        return [("Queue", self.name), ("LoggedIn", str(logged_in)),
                ("Available", str(available)), ("Callers", str(len(self.entries))),
                ("HoldTime", str(self.holdtime)), ("TalkTime", str(self.talktime)),
                ("LongestHoldTime", str(longest))]


@dataclass
class QueueLog:
    """Appends app_queue's ``epoch|callid|queue|agent|verb|data...`` lines."""

    path: Path
    _handle: Any = field(default=None, repr=False)

    def write(self, callid: str, queue: str, agent: str, verb: str, *data: object) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        fields = [str(int(time.time())), callid, queue, agent, verb, *map(str, data)]
        self._handle.write("|".join(fields) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
