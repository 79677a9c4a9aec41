"""The day so far, for the wallboard's charts: the queues' figures per 15 minutes, and
each agent's calls, handling time and pause time.

Per interval
------------
A call belongs to the interval in which it entered the queue, as it belongs to the day
in which it did (``callcenter.wallboard.figures``): a call queued at 09:14:50 and
answered at 09:15:10 is offered *and* answered in 09:00–09:15. So the intervals add up
to the day's figures exactly, and an interval's service level is the day's definition
applied to its calls (a caller still waiting within the service-level time counts
neither way yet). Intervals are 15 minutes of elapsed time from local midnight, labelled
with the local time they begin at: every time zone in use is offset by whole quarter
hours, so they are the wall clock's quarters, also on a day the clocks change (that day
has 92 or 100 of them, and a label can repeat).

The series run from the earlier of the first interval with a call and two hours ago,
to the current interval (which is still filling).

Per agent
---------
``handled``: today's calls of the board's queues answered by the agent (the call log
keeps the agent a call ended with: after a transfer it counts for the one it went to),
including one still in progress. ``aht_s``: their mean talk time, over those finished
(the queue card's AHT, per agent). ``pause_s``: the time today the agent was paused by
choice (a break, lunch, ...), from the pauses the bridge records
(``callcenter.wallboard.pauses``), a pause still open counted up to now; after-call work
is not a pause here and is given apart (``wrap_up_s``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, cast, func, or_, select
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord, Outcome
from callcenter.wallboard.figures import count_columns, entered_at, iso, today_filter
from callcenter.wallboard.models import AgentPause

INTERVAL_S = 15 * 60
#: Intervals shown before now at least (two hours), however quiet the morning was.
MIN_SHOWN = 8
SERIES = ("offered", "answered", "abandoned", "answered_within_sl", "service_level")


def interval_index(session: Session, column: Any, day_start: datetime) -> Any:
    """The interval (0 = the first 15 minutes after local midnight) of a time column, in
    SQL. Whole seconds, truncated: interval boundaries fall on whole seconds, so that is
    exact (SQLite's own date functions round to milliseconds, which would move a call
    at 09:14:59.9996 into the next interval)."""
    start = int(day_start.timestamp())
    if session.get_bind().dialect.name == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: the first 19 characters.
        seconds = cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
    else:
        seconds = cast(func.floor(func.extract("epoch", column)), Integer)
    return (seconds - start) // INTERVAL_S


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator > 0 else None


def _empty(length: int) -> dict[str, list]:
    return {name: [0] * length if name != "service_level" else [None] * length
            for name in SERIES}


def _add(series: dict[str, list], i: int, row: Mapping[str, Any]) -> None:
    for name in ("offered", "answered", "abandoned", "answered_within_sl"):
        series[name][i] += int(row.get(name) or 0)
    series.setdefault("_pending", [0] * len(series["offered"]))[i] += \
        int(row.get("pending_within_sl") or 0)


def _finish(series: dict[str, list]) -> dict[str, list]:
    pending = series.pop("_pending", None) or [0] * len(series["offered"])
    series["service_level"] = [
        _ratio(within, offered - waiting) for within, offered, waiting
        in zip(series["answered_within_sl"], series["offered"], pending, strict=True)]
    return series


def interval_series(session: Session, queues: Mapping[str, Mapping[str, Any]], *,
                    day_start: datetime, now: datetime, timezone: str | ZoneInfo
                    ) -> dict[str, Any]:
    """Today's figures per 15 minutes, per queue and for all of ``queues`` together.

    ``queues``: queue name -> ``{"sl_threshold_s", "sl_target"}`` (as ``queue_figures``
    gives them), in the order to show. One aggregate query, grouped by queue and interval.
    """
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    current = max(0, int((now - day_start).total_seconds() // INTERVAL_S))
    thresholds = {name: int(q["sl_threshold_s"]) for name, q in queues.items()}
    rows: list[Any] = []
    if thresholds:
        index = interval_index(session, entered_at(), day_start).label("interval")
        stmt = (select(CallRecord.queue, index, *count_columns(thresholds, now=now))
                .where(*today_filter(thresholds, day_start=day_start, now=now))
                .group_by(CallRecord.queue, index))
        rows = [r._asdict() for r in session.execute(stmt)]
    used = [int(r["interval"]) for r in rows if 0 <= int(r["interval"]) <= current]
    first = min([*used, max(0, current - MIN_SHOWN + 1)])
    length = current - first + 1
    per_queue = {name: _empty(length) for name in queues}
    total = _empty(length)
    for row in rows:
        i = int(row["interval"]) - first
        if 0 <= i < length and row["queue"] in per_queue:
            _add(per_queue[row["queue"]], i, row)
            _add(total, i, row)
    starts = [day_start + timedelta(seconds=INTERVAL_S * (first + i)) for i in range(length)]
    targets = {q.get("sl_target") for q in queues.values()}
    return {
        "interval_s": INTERVAL_S,
        "intervals": [{"start": iso(s), "label": s.astimezone(tz).strftime("%H:%M")}
                      for s in starts],
        "total": {**_finish(total),
                  # one target line only when every queue has the same target
                  "sl_target": targets.pop() if len(targets) == 1 else None},
        "queues": [{"queue": name, "sl_target": q.get("sl_target"), **_finish(per_queue[name])}
                   for name, q in queues.items()],
    }


def _seconds(value: Any) -> float | None:
    return round(float(value), 1) if value is not None else None


def agent_figures(session: Session, interfaces: Iterable[str], queues: Iterable[str], *,
                  day_start: datetime, now: datetime) -> dict[str, dict[str, Any]]:
    """Interface -> ``{"handled", "aht_s", "pause_s", "wrap_up_s", "paused_since"}`` today,
    for the calls of ``queues`` (those of the board). Two queries: calls, pauses."""
    interfaces = sorted(set(interfaces))
    out = {i: {"handled": 0, "aht_s": None, "pause_s": 0.0, "wrap_up_s": 0.0,
               "paused_since": None} for i in interfaces}
    queues = list(queues)
    if not interfaces:
        return out
    c = CallRecord
    if queues:
        finished = c.outcome.in_((Outcome.ANSWERED, Outcome.TRANSFERRED))
        # Every agent of the queues (a few hundred groups at most), ours kept: cheaper
        # than testing each row against a list of the board's interfaces.
        stmt = (select(c.agent_interface, func.count().label("handled"),
                       func.avg(case((finished, c.talk_s))).label("aht_s"))
                .where(*today_filter(queues, day_start=day_start, now=now),
                       c.answered_at.is_not(None))
                .group_by(c.agent_interface))
        for row in session.execute(stmt):
            if row.agent_interface in out:
                out[row.agent_interface].update(handled=int(row.handled),
                                                aht_s=_seconds(row.aht_s))
    p = AgentPause
    pauses = session.execute(select(p.interface, p.state, p.started_at, p.ended_at).where(
        p.interface.in_(interfaces), p.started_at < now,
        or_(p.ended_at.is_(None), p.ended_at > day_start)))
    for interface, state, started, ended in pauses:
        begin = max(started, day_start)
        end = min(ended or now, now)
        if end <= begin:
            continue
        key = "wrap_up_s" if state == "wrap_up" else "pause_s"
        out[interface][key] += (end - begin).total_seconds()
        if ended is None and state != "wrap_up":
            out[interface]["paused_since"] = iso(started.astimezone(UTC))
    for figures in out.values():
        figures["pause_s"] = round(figures["pause_s"], 1)
        figures["wrap_up_s"] = round(figures["wrap_up_s"], 1)
    return out
