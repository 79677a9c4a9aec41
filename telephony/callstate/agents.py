"""Queue membership and agent state, derived rather than copied from Asterisk.

Asterisk's own member ``Status`` is no help for Local-channel members: it goes 1 -> 2
(INUSE) as soon as a member is *rung* and never shows 6 (RINGING) (INDEX.md). So the
state is computed from what the tracker knows, in this order of precedence:

``on_call``   the interface has a connected leg (AgentConnect, not yet completed)
``ringing``   it has a leg rung (AgentCalled) and not yet answered or dismissed
``wrap_up``   it completed a call less than the wrap-up time ago, or it is paused in
              every queue for after-call work (reason ``ACW_REASON``)
``logged_out`` it is a member of no queue
``paused``    it is paused in *every* queue it belongs to (a member paused in one queue
              still takes calls from the others, so it is not shown as paused)
``available`` otherwise

An interface with a call in progress stays ``on_call`` after QueueRemove (05 removes
agent6 mid-call) and becomes ``logged_out`` once the call and the wrap-up are over.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from telephony.callstate.effects import (
    ACW_REASON,
    AVAILABLE,
    LOGGED_OUT,
    NO_EFFECTS,
    ON_CALL,
    PAUSED,
    RINGING,
    WRAP_UP,
    AgentChanged,
    AgentView,
    Effect,
    QueueChanged,
    QueueView,
    WaitingCaller,
)


class Membership:
    __slots__ = ("queue", "paused", "reason", "wrapup")

    def __init__(self, queue: str) -> None:
        self.queue = queue
        self.paused = False
        self.reason = ""
        self.wrapup = 0.0  # the member's own Wrapuptime (0: the queue's)


class Agent:
    __slots__ = ("interface", "name", "memberships", "ringing", "talking", "wrap_until",
                 "state", "reason", "since")

    def __init__(self, interface: str, name: str, now: float) -> None:
        self.interface = interface
        self.name = name or interface
        self.memberships: dict[str, Membership] = {}
        self.ringing: set[str] = set()  # leg Uniqueids
        self.talking: set[str] = set()
        self.wrap_until = 0.0
        self.state = LOGGED_OUT
        self.reason: str | None = None
        self.since = now

    def derive(self, now: float) -> tuple[str, str | None]:
        if self.talking:
            return ON_CALL, None
        if self.ringing:
            return RINGING, None
        if self.wrap_until > now:
            return WRAP_UP, None
        members = self.memberships
        if not members:
            return LOGGED_OUT, None
        reason = None
        for membership in members.values():
            if not membership.paused:
                return AVAILABLE, None
            if reason is None or (not reason and membership.reason):
                reason = membership.reason
        return (WRAP_UP if reason == ACW_REASON else PAUSED), reason

    def view(self) -> AgentView:
        return AgentView(self.interface, self.name, self.state, self.reason, self.since,
                         tuple(self.memberships))


class QueueState:
    """Waiting callers (call_id -> (caller number, joined), join order) and members."""

    __slots__ = ("name", "waiting", "members", "strategy")

    def __init__(self, name: str) -> None:
        self.name = name
        self.waiting: dict[str, tuple[str, float]] = {}
        self.members: dict[str, Membership] = {}
        self.strategy: str | None = None

    def view(self) -> QueueView:
        return QueueView(self.name,
                         tuple(WaitingCaller(cid, num, at)
                               for cid, (num, at) in self.waiting.items()),
                         tuple(self.members))


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    value = value.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    return None


def _seconds(value: str | None) -> float:
    try:
        seconds = float(value) if value else 0.0
    except ValueError:
        return 0.0
    return seconds if 0.0 <= seconds < 86400 else 0.0


class AgentBook:
    """Agents by interface, queues by name, and the wrap-up timers."""

    def __init__(self, wrapup_s: float, wrapup_by_queue: Mapping[str, float] | None,
                 stats: dict[str, int]) -> None:
        self.wrapup_s = wrapup_s
        self.wrapup_by_queue = dict(wrapup_by_queue or {})
        self.agents: dict[str, Agent] = {}
        self.queues: dict[str, QueueState] = {}
        self.wrapups: dict[str, float] = {}  # interface -> wrap_until
        self.deadline = math.inf
        self.stats = stats

    # -- lookups ----------------------------------------------------------------------
    def agent(self, interface: str, name: str | None, now: float) -> Agent:
        agent = self.agents.get(interface)
        if agent is None:
            agent = self.agents[interface] = Agent(interface, name or "", now)
        elif name and agent.name == interface:
            agent.name = name
        return agent

    def queue(self, name: str) -> QueueState:
        state = self.queues.get(name)
        if state is None:
            state = self.queues[name] = QueueState(name)
        return state

    # -- state changes ------------------------------------------------------------------
    def refresh(self, agent: Agent, now: float, out: list[Effect],
                queues_changed: bool = False) -> None:
        """Recompute the state; an AgentChanged when it (or the pause reason) changed,
        or when the agent's queues did (the view lists them: the wallboard and the desk
        read them from ``cc:live:agents``)."""
        state, reason = agent.derive(now)
        if state != agent.state or reason != agent.reason:
            agent.state, agent.reason, agent.since = state, reason, now
            out.append(AgentChanged(agent.interface, state, reason, now, agent.view(), now))
        elif queues_changed:
            out.append(AgentChanged(agent.interface, state, reason, agent.since,
                                    agent.view(), now))

    def start_wrapup(self, agent: Agent, queue: str | None, now: float) -> None:
        seconds = self.wrapup_s
        if queue is not None:
            membership = agent.memberships.get(queue)
            if membership is not None and membership.wrapup > 0:
                seconds = membership.wrapup
            else:
                seconds = self.wrapup_by_queue.get(queue, seconds)
        if seconds <= 0:
            return
        agent.wrap_until = max(agent.wrap_until, now + seconds)
        self.wrapups[agent.interface] = agent.wrap_until
        if agent.wrap_until < self.deadline:
            self.deadline = agent.wrap_until

    def expire(self, now: float) -> list[Effect]:
        """Wrap-ups that are over by ``now`` (called from feed() and tick())."""
        out: list[Effect] = []
        for interface, until in list(self.wrapups.items()):
            if until <= now:
                del self.wrapups[interface]
                agent = self.agents.get(interface)
                if agent is not None:
                    agent.wrap_until = 0.0
                    self.refresh(agent, now, out)
        self.deadline = min(self.wrapups.values(), default=math.inf)
        return out

    def ensure_member(self, agent: Agent, queue_name: str | None, now: float,
                      out: list[Effect]) -> None:
        """A member app_queue rings is a member of that queue, whether or not a
        QueueMember* event said so yet (the tracker may start with a busy PBX)."""
        if queue_name and queue_name not in agent.memberships:
            membership = agent.memberships[queue_name] = Membership(queue_name)
            self.queue(queue_name).members[agent.interface] = membership
            self.queue_changed(queue_name, now, out)

    def queue_changed(self, name: str, now: float, out: list[Effect]) -> None:
        state = self.queues.get(name)
        if state is not None:
            out.append(QueueChanged(name, state.view(), now))

    # -- member events ------------------------------------------------------------------
    def member_event(self, frame: Mapping[str, str], now: float,
                     interface_key: str = "Interface", name_key: str = "MemberName",
                     removed: bool = False) -> list[Effect]:
        """QueueMemberStatus/Added/Removed/Pause/Penalty/Ringinuse, and QueueStatus's
        ``QueueMember`` (which calls its fields ``Location``/``Name``)."""
        queue_name = frame.get("Queue")
        interface = frame.get(interface_key)
        if not queue_name or not interface:
            self.stats["missing_fields"] += 1
            return NO_EFFECTS
        agent = self.agent(interface, frame.get(name_key), now)
        queue = self.queue(queue_name)
        out: list[Effect] = []
        if removed:
            was_member = agent.memberships.pop(queue_name, None) is not None
            if queue.members.pop(interface, None) is not None:
                self.queue_changed(queue_name, now, out)
            self.refresh(agent, now, out, queues_changed=was_member)
            return out
        membership = agent.memberships.get(queue_name)
        joined = membership is None
        if joined:
            membership = agent.memberships[queue_name] = Membership(queue_name)
            queue.members[interface] = membership
            self.queue_changed(queue_name, now, out)
        paused = _flag(frame.get("Paused"))
        if paused is not None:
            membership.paused = paused
            membership.reason = (frame.get("PausedReason") or "") if paused else ""
        elif "Paused" in frame:
            self.stats["bad_values"] += 1
        if "Wrapuptime" in frame:
            membership.wrapup = _seconds(frame.get("Wrapuptime"))
        self.refresh(agent, now, out, queues_changed=joined)
        return out or NO_EFFECTS
