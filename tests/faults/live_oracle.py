"""What the live_pbx fault tests run and what they hold the product to.

* ``plan_calls``: a seeded mix of calls (support, repairs, support with a 10 s queue
  timeout; patient and impatient callers), placed by AMI Originate at set times.
* ``Timeline``: calls and faults (kill the bridge, stop Redis, cut the AMI link) at
  their offsets from the start, in the test's thread.
* ``disagreements``: Asterisk's own queue_log (tests/queue_log.py) against the product,
  call by call: the call log (table ``calls``: outcome, agent_interface, wait_s,
  talk_s, one row per queue_log callid), the agents' live pops in Redis (whatever is
  left once the calls ended must be ``call.ended``) and the wallboard's figures.
* ``Counters``: one JSON line per test (printed, and again in the terminal summary).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from live_pbx import GATE
from queue_log import call_times, figures, parse
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord
from callcenter.db import utcnow
from callcenter.realtime.agent_calls import read_snapshot
from callcenter.wallboard.figures import queue_figures

#: queue_log has whole seconds (and truncates): the call log's floats may differ by this.
SECONDS_SLACK = 1.5
QUEUES = ("support", "repairs")
#: stack.seed gives every queue this service-level threshold.
SL_THRESHOLD_S = 20


@dataclass(frozen=True)
class PlannedCall:
    at: float
    exten: str  # s (support), repairs, short (support, 10 s queue timeout)
    caller_id: str
    patience_s: int


def plan_calls(count: int, *, start: float, spread_s: float, seed: int,
               patience: tuple[int, int] = (18, 35), impatient: float = 0.3,
               impatience: tuple[int, int] = (5, 12), first: int = 0) -> list[PlannedCall]:
    """``count`` calls evenly over ``spread_s`` from ``start``: 60 % support, 30 % repairs,
    10 % support with the short queue timeout; ``impatient`` of them hang up early."""
    rng = random.Random(seed)
    calls = []
    for i in range(count):
        exten = rng.choices(("s", "repairs", "short"), (6, 3, 1))[0]
        span = impatience if rng.random() < impatient else patience
        n = first + i
        calls.append(PlannedCall(start + spread_s * i / max(1, count - 1), exten,
                                 f'"Caller {n}" <1381000{n:04d}>', rng.randint(*span)))
    return calls


class Timeline:
    """Actions at offsets (seconds) from ``run()``; the calls go through ``caller``."""

    def __init__(self, caller) -> None:
        self.caller = caller
        self.actions: list[tuple[float, int, Callable[[], None]]] = []

    def calls(self, planned: list[PlannedCall]) -> Timeline:
        for call in planned:
            self.at(call.at, lambda c=call: self.caller.call(c.exten, c.caller_id,
                                                             c.patience_s))
        return self

    def at(self, offset: float, action: Callable[[], None]) -> Timeline:
        self.actions.append((offset, len(self.actions), action))
        return self

    def run(self) -> float:
        """Runs everything in order; returns the monotonic start."""
        start = time.monotonic()
        for offset, _n, action in sorted(self.actions, key=lambda a: (a[0], a[1])):
            delay = start + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            action()
        return start


@dataclass
class Counters:
    test: str
    calls_made: int = 0
    kills: int = 0
    outages: int = 0
    outage_s: float = 0.0
    calls_up_at_fault: int = 0
    calls_checked: int = 0
    calls_in_outage: int = 0
    pops_checked: int = 0
    wrong: int = 0
    converged_after_s: float | None = None
    duration_s: float = 0.0
    extra: dict = field(default_factory=dict)

    def line(self) -> str:
        return json.dumps({"live_pbx": asdict(self)}, separators=(",", ":"))

    def publish(self) -> None:
        print(self.line())
        GATE.counters.append(self.line())


def _agent_no(member: str) -> int | None:
    match = re.search(r"\d+", member or "")
    return int(match.group()) if match else None


def disagreements(queue_log: Path, session: Session, redis_client,
                  agents: dict[int, int], *, day_start: datetime) -> tuple[list[str], int, int]:
    """(problems, calls checked, pops checked). ``agents``: agent number -> user id."""
    records = parse(queue_log.read_text().splitlines()).records
    want = call_times(records)
    rows = list(session.scalars(select(CallRecord).order_by(CallRecord.id)))
    problems: list[str] = []
    by_uid: dict[str, list[CallRecord]] = {}
    for row in rows:
        if row.queue_uniqueid is None:
            problems.append(f"call log row {row.call_id} ({row.caller_number}): no queue "
                            f"callid, outcome {row.outcome.value}")
            continue
        by_uid.setdefault(row.queue_uniqueid, []).append(row)
    for uid in sorted(set(by_uid) - set(want)):
        problems.append(f"call {uid}: in the call log, not in queue_log")
    for callid, exp in sorted(want.items()):
        got = by_uid.get(callid, [])
        label = f"call {callid} (queue_log: {exp.outcome}, {'/'.join(exp.queues)}"
        label += f", {exp.agents[-1]})" if exp.agents else ")"
        if not got:
            problems.append(f"{label}: missing from the call log")
            continue
        if len(got) > 1:
            problems.append(f"{label}: logged {len(got)} times")
        row = got[0]
        diffs = []
        if row.outcome.value != exp.outcome:
            diffs.append(f"outcome {row.outcome.value}")
        if exp.agents:
            n = _agent_no(exp.agents[-1])
            iface = f"Local/agent{n}@agents/n"
            if row.agent_interface != iface:
                diffs.append(f"agent_interface {row.agent_interface}")
        if exp.has_wait and (row.wait_s is None or abs(row.wait_s - exp.wait) > SECONDS_SLACK):
            diffs.append(f"wait_s {row.wait_s} vs {exp.wait}")
        if exp.has_talk and (row.talk_s is None or abs(row.talk_s - exp.talk) > SECONDS_SLACK):
            diffs.append(f"talk_s {row.talk_s} vs {exp.talk}")
        if diffs:
            problems.append(f"{label}: call log says {', '.join(diffs)}")

    pops = 0
    for n, user_id in sorted(agents.items()):
        for entry in read_snapshot(redis_client, user_id)["calls"]:
            pops += 1
            if entry.get("event") != "call.ended":
                problems.append(f"agent{n}: pop {entry.get('event')} left for call "
                                f"{entry.get('call_id')} after every call ended")

    reference = figures(records, threshold=SL_THRESHOLD_S)
    board = queue_figures(session, list(QUEUES), day_start=day_start,
                          now=utcnow() + timedelta(minutes=1), live=None)
    for row in board:
        ref = reference.get(row["queue"])
        ref_counts = (ref.offered, ref.answered, ref.abandoned) if ref else (0, 0, 0)
        got_counts = (row["offered"], row["answered"], row["abandoned"])
        if got_counts != ref_counts:
            problems.append(f"wallboard {row['queue']}: offered/answered/abandoned "
                            f"{got_counts}, queue_log {ref_counts}")
        for name, ref_value in (("asa_s", ref.asa if ref else None),
                                ("aht_s", ref.aht if ref else None)):
            value = row[name]
            if ref_value is not None and (value is None or
                                          abs(value - ref_value) > SECONDS_SLACK):
                problems.append(f"wallboard {row['queue']}: {name} {value}, "
                                f"queue_log {ref_value:.2f}")
    return problems, len(want), pops


def in_window(queue_log: Path, start: float, end: float) -> set[str]:
    """queue_log callids with a line stamped within [start, end] (epoch seconds)."""
    records = parse(queue_log.read_text().splitlines()).records
    return {r.callid for r in records
            if r.callid != "NONE" and int(start) <= r.time <= int(end) + 1}
