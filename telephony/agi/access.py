"""Who may open a FastAGI session, and how many connections each may hold.

A lookup answers with customer names and tiers, so the server talks only to the PBXes
it is told of (``allowed_peers``: addresses or CIDR ranges, IPv4 and IPv6; loopback by
default). Anyone else's connection is closed at once, before a byte is read.

An allowed address can still be a problem (a compromised host on the PBX's network, or
a process on the PBX itself): ``max_per_peer`` caps the connections one address holds,
and a connection that has not yet sent its environment is the first to go. Asterisk
sends its environment the moment it connects, so a PBX's own connections are only ever
"waiting" for a few milliseconds; a flood of idle ones is evicted, oldest first, to make
room for whatever arrives next, rather than a new call being refused. The same holds for
the server-wide ``max_sessions``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Loopback only: the bridge and the PBX on one host (the quick start, the simulator).
DEFAULT_ALLOWED_PEERS = ("127.0.0.0/8", "::1")
#: Connections one address may hold at once (its calls in the IVR plus a margin).
DEFAULT_MAX_PER_PEER = 200
#: Seconds a new connection may stay silent before its environment is complete.
DEFAULT_IDLE_TIMEOUT = 2.0


def parse_peers(spec: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """``"10.0.0.5, 172.28.0.0/24, ::1"`` (or a list of those) -> networks.

    Raises ValueError naming the bad entry; an empty list is refused too (a server that
    talks to nobody is a mistake, not a setting).
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    networks = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not an IP address or CIDR range") from exc
    if not networks:
        raise ValueError("no address given")
    return tuple(networks)


def peer_address(peername: object) -> IPAddress | None:
    """The peer's address from ``getpeername()``; IPv4-mapped IPv6 as plain IPv4."""
    if not isinstance(peername, tuple) or not peername:
        return None
    try:
        address = ipaddress.ip_address(str(peername[0]).split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_allowed(address: IPAddress | None, networks: tuple[IPNetwork, ...] | None) -> bool:
    if networks is None:
        return True
    return address is not None and any(address in net for net in networks
                                       if net.version == address.version)


@dataclass
class Slot:
    """One accepted connection: its peer, its handler task, whether it still waits for
    its environment, whether it was released already (eviction releases it at once and
    cancels the task, which then ends quietly)."""

    peer: str
    task: asyncio.Task[None] | None
    waiting: bool = True
    released: bool = False
    evicted: bool = False


@dataclass
class ConnectionTable:
    """Open connections per peer, and those still waiting for their environment in
    arrival order (the eviction queue). Used from the event loop only."""

    max_sessions: int
    max_per_peer: int
    per_peer: Counter[str] = field(default_factory=Counter)
    waiting: dict[int, Slot] = field(default_factory=dict)
    total: int = 0

    def admit(self, peer: str, task: asyncio.Task[None] | None) -> tuple[Slot | None, int]:
        """A slot for a new connection, or None when it must be refused; and how many
        idle connections were evicted to make room."""
        evicted = 0
        if self.per_peer[peer] >= self.max_per_peer:
            if not self._evict(peer):
                return None, evicted
            evicted += 1
        if self.total >= self.max_sessions:
            if not self._evict(None):
                return None, evicted
            evicted += 1
        slot = Slot(peer, task)
        self.per_peer[peer] += 1
        self.total += 1
        self.waiting[id(slot)] = slot
        return slot, evicted

    def started(self, slot: Slot) -> None:
        """The environment arrived: the connection is a session now, never evicted."""
        slot.waiting = False
        self.waiting.pop(id(slot), None)

    def release(self, slot: Slot) -> None:
        if slot.released:
            return
        slot.released = True
        self.waiting.pop(id(slot), None)
        self.total -= 1
        self.per_peer[slot.peer] -= 1
        if self.per_peer[slot.peer] <= 0:
            del self.per_peer[slot.peer]

    def _evict(self, peer: str | None) -> bool:
        """Close the oldest connection (of ``peer``, or anyone's) still waiting."""
        for key, slot in self.waiting.items():
            if peer is None or slot.peer == peer:
                del self.waiting[key]
                self.release(slot)
                slot.evicted = True
                if slot.task is not None:
                    slot.task.cancel()
                return True
        return False


@dataclass
class RefusalLog:
    """Say each refused address at most once per ``every_s`` (a flood must not flood
    the log); the counters count every refusal."""

    every_s: float = 60.0
    _last: dict[str, float] = field(default_factory=dict)

    def should_log(self, peer: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(peer, -self.every_s - 1) < self.every_s:
            return False
        if len(self._last) > 4096:
            self._last.clear()
        self._last[peer] = now
        return True
