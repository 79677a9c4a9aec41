"""Today's figures of a queue, and the agents' rows, as the wallboard shows them.

The dicts built here are the wallboard's whole vocabulary: ``GET /api/v1/wallboard``
answers them, the bridge pushes them as ``queue.update`` / ``agent.update`` and the
page renders them. Nothing here touches Redis or Flask, so the bridge can import it.

Definitions (one place, used by every consumer)
-----------------------------------------------

"Today" is from midnight in the call center's time zone (``TIMEZONE``) up to ``now``;
a call belongs to the day on which it entered the queue (``queued_at``; ``started_at``
for a row that has a queue but no ``queued_at``).

``offered``
    Calls that entered the queue today. queue_log: ``ENTERQUEUE``.
``answered``
    Of those, calls an agent answered (``answered_at`` set), whatever happened next:
    hung up, transferred, still talking. queue_log: ``CONNECT``.
``abandoned``
    Callers who left the queue unanswered: hung up, timed out, redirected out
    (``outcome = abandoned``). queue_log: ``ABANDON`` + ``EXITWITHTIMEOUT`` (and the
    rare ``EXITEMPTY`` / ``EXITWITHKEY``).
``service_level``
    ``answered_within / (offered - pending_within)``, a fraction 0..1, where

    - ``answered_within``: answered calls whose queue wait (``wait_s``; queue_log:
      CONNECT's holdtime) was at most ``sl_threshold_s`` (the queue's
      ``PbxQueue.service_level_s``, default 20 s). The boundary is inclusive, as in
      app_queue's own count (``holdtime <= servicelevel``);
    - ``pending_within``: callers still waiting whose wait has not passed the threshold
      yet. Their fate is open, so they count neither way (otherwise every new caller
      would dip the figure). A caller waiting longer than the threshold has missed it
      already and counts against the service level at once.

    Abandoned calls count against the service level, however short their wait (no
    "short abandon" exclusion). This differs on purpose from Asterisk's QueueSummary
    ``ServicelevelPerf``, which divides by answered calls only and so never shows the
    callers who gave up. ``None`` while the denominator is 0.
``abandon_rate``
    ``abandoned / offered``; ``None`` while nothing was offered.
``asa_s``
    Average speed of answer: the mean queue wait of the answered calls (queue_log:
    mean CONNECT holdtime). ``None`` before the first answer.
``aht_s``
    Average handling time: the mean talk time (``talk_s``) of answered calls that are
    over (answered or transferred; queue_log: the talk time of COMPLETEAGENT,
    COMPLETECALLER and the transfer lines).
    Wrap-up time is not included. ``None`` before the first finished call.
``waiting`` / ``longest_wait_s``
    From the live state only: callers in the queue now, and how long the first of them
    has waited at ``now``. ``None`` when there is no live state for the queue.
``alerts``
    The thresholds crossed: service level below ``sl_target``, abandon rate above
    ``abandon_rate_limit``, longest wait above ``longest_wait_limit_s``: the queue's own
    (``callcenter.wallboard.thresholds``: set by its supervisors, else the defaults).

Against queue_log (``figures`` of tests/queue_log.py, the reference): offered, answered,
abandoned, ASA and AHT are the same counts; the service level is the same once no
caller is left waiting within the threshold (queue_log's divides by all offered, so it
dips while such callers wait). queue_log keeps whole seconds; the call log keeps the
waits measured from AMI, to the millisecond: a call answered after 20.4 s is within
20 s by Asterisk's count and not by ours. Given the same waits both agree
(tests/test_wallboard.py checks it on the recorded captures, also cut mid-burst).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord, Outcome
from callcenter.core.display import phone_text
from callcenter.wallboard.thresholds import (
    DEFAULT_ABANDON_RATE_PERCENT,
    DEFAULT_SERVICE_LEVEL_PERCENT,
    DEFAULT_SL_THRESHOLD_S,
    queues_with_thresholds,
)

#: The service level the wallboard flags when today's falls below it (the 80/20 rule),
#: unless the queue's supervisors set their own.
SL_TARGET = DEFAULT_SERVICE_LEVEL_PERCENT / 100
#: The abandon rate the wallboard flags when today's rises above it (same).
ABANDON_RATE_LIMIT = DEFAULT_ABANDON_RATE_PERCENT / 100
#: Waiting callers listed per queue (the count is always complete).
MAX_CALLERS_LISTED = 10
#: Calls queued more than this long after they started are not looked for (it only
#: bounds the index range on (queue, started_at); no real call waits a day to queue).
_START_SLACK = timedelta(days=1)

AGENT_STATES = ("logged_out", "available", "ringing", "on_call", "wrap_up", "paused")

#: What ``alerts`` can name: the thresholds the wallboard colours (with an icon and text).
ALERT_SERVICE_LEVEL = "service_level"
ALERT_ABANDON_RATE = "abandon_rate"
ALERT_LONGEST_WAIT = "longest_wait"


def local_day_start(now: datetime, timezone: str | ZoneInfo) -> datetime:
    """Midnight of ``now``'s day in the call center's time zone, as an aware UTC datetime."""
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    local = now.astimezone(tz)
    midnight = datetime(local.year, local.month, local.day, tzinfo=tz)
    return midnight.astimezone(UTC)


def to_utc(value: Any) -> datetime | None:
    """A live-state time (epoch seconds, or ISO 8601 text) as an aware UTC datetime.

    None for anything else (missing, garbled, not finite): the caller decides whether
    that makes the whole entry unusable.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value < 32503680000:  # before year 3000
            return None
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return None  # a naive time could be any zone's: refuse to guess
        return parsed.astimezone(UTC)
    return None


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator > 0 else None


def _seconds(value: Any) -> float | None:
    return round(float(value), 1) if value is not None else None


def _by_threshold(thresholds: Mapping[str, int]) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    for name, threshold in thresholds.items():
        groups.setdefault(threshold, []).append(name)
    return groups


def _per_queue(thresholds: Mapping[str, int], build) -> Any:
    """OR over the queues grouped by threshold: ``build(names, threshold_s)`` each.

    Thresholds are a handful of values, so this stays a short expression whose
    comparisons bind through the columns' own types (UTC datetimes on every backend).
    """
    clauses = [build(names, t) for t, names in sorted(_by_threshold(thresholds).items())]
    return or_(*clauses) if clauses else false()


def entered_at() -> Any:
    """When a call entered its queue: the moment that decides its day (and interval)."""
    return func.coalesce(CallRecord.queued_at, CallRecord.started_at)


def count_columns(thresholds: Mapping[str, int], *, now: datetime) -> list[Any]:
    """The aggregate columns of the day's figures (see the module's docstring), for a
    SELECT over ``calls`` grouped by queue (and by interval: ``callcenter.wallboard.day``).

    ``thresholds``: queue name -> service level threshold in seconds.
    """
    c = CallRecord
    entered = entered_at()
    answered = c.answered_at.is_not(None)
    within_sl = and_(answered, _per_queue(
        thresholds, lambda names, t: and_(c.queue.in_(names), c.wait_s <= t)))
    pending_within = and_(
        c.answered_at.is_(None), c.ended_at.is_(None), c.outcome == Outcome.IN_PROGRESS,
        _per_queue(thresholds, lambda names, t: and_(
            c.queue.in_(names), entered >= now - timedelta(seconds=t))))
    finished = and_(answered, c.outcome.in_((Outcome.ANSWERED, Outcome.TRANSFERRED)))

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return [
        func.count().label("offered"),
        count_if(answered).label("answered"),
        count_if(c.outcome == Outcome.ABANDONED).label("abandoned"),
        count_if(within_sl).label("answered_within_sl"),
        count_if(pending_within).label("pending_within_sl"),
        func.avg(case((answered, c.wait_s))).label("asa_s"),
        func.avg(case((finished, c.talk_s))).label("aht_s"),
    ]


def today_filter(queues: Iterable[str], *, day_start: datetime, now: datetime) -> list[Any]:
    """WHERE clauses: the calls of ``queues`` that entered their queue today (up to now)."""
    c = CallRecord
    entered = entered_at()
    return [
        c.queue.in_(list(queues)),
        # The (queue, started_at) index bounds the scan; the day is decided by entry.
        c.started_at >= day_start - _START_SLACK,
        c.started_at <= now,
        entered >= day_start,
        entered <= now,
    ]


def aggregate_calls(session: Session, thresholds: Mapping[str, int], *, day_start: datetime,
                    now: datetime) -> dict[str, dict[str, Any]]:
    """Today's counts per queue in one aggregate query (GROUP BY queue).

    ``thresholds``: queue name -> service level threshold in seconds.
    """
    if not thresholds:
        return {}
    stmt = (select(CallRecord.queue, *count_columns(thresholds, now=now))
            .where(*today_filter(thresholds, day_start=day_start, now=now))
            .group_by(CallRecord.queue))
    return {row.queue: row._asdict() for row in session.execute(stmt)}


def _waiting(entry: Mapping[str, Any] | None, now: datetime, region: str | None
             ) -> tuple[int | None, float | None, list[dict]]:
    """(callers waiting, longest wait in s, the callers listed) from a live queue entry;
    each listed caller's number also as people read it (``caller_display``)."""
    if not isinstance(entry, Mapping):
        return None, None, []
    callers = []
    for item in entry.get("waiting") or ():
        if not isinstance(item, Mapping):
            continue  # the bridge's own dicts are checked by nobody else: be lenient
        queued_at = to_utc(item.get("queued_at"))
        wait_s = round(max(0.0, (now - queued_at).total_seconds()), 1) if queued_at else None
        callers.append({"call_id": str(item.get("call_id") or ""),
                        "caller_number": str(item.get("caller_number") or ""),
                        "queued_at": iso(queued_at), "wait_s": wait_s})
    callers.sort(key=lambda c: -(c["wait_s"] or 0.0))
    longest = callers[0]["wait_s"] if callers and callers[0]["wait_s"] is not None else None
    listed = callers[:MAX_CALLERS_LISTED]
    for caller in listed:  # only those shown: the PBX's number is kept for machines
        number = caller["caller_number"]
        caller["caller_display"] = phone_text(number, region) if number and region \
            else number
    return len(callers), (longest if callers else 0.0), listed


def alerts_for(figures: Mapping[str, Any]) -> list[str]:
    """The thresholds a queue's figures cross (the page also re-checks the ticking wait)."""
    alerts = []
    sl = figures.get("service_level")
    if sl is not None and sl < figures.get("sl_target", SL_TARGET):
        alerts.append(ALERT_SERVICE_LEVEL)
    rate = figures.get("abandon_rate")
    if rate is not None and rate > figures.get("abandon_rate_limit", ABANDON_RATE_LIMIT):
        alerts.append(ALERT_ABANDON_RATE)
    longest = figures.get("longest_wait_s")
    if longest is not None and longest > figures.get("longest_wait_limit_s",
                                                     figures["sl_threshold_s"]):
        alerts.append(ALERT_LONGEST_WAIT)
    return alerts


def queue_figures(session: Session, queues: list[str], *, day_start: datetime,
                  now: datetime, live: Mapping[str, Mapping[str, Any]] | None,
                  region: str | None = None) -> list[dict[str, Any]]:
    """Per queue (in the order given), today's figures and the live waiting callers.

    ``live``: queue name -> live entry as in ``cc:live:queues`` (``{"queue", "waiting":
    [{"call_id", "caller_number", "queued_at"}], "members"}``), or None when the live
    state is unavailable; a queue missing from it has no live figures (``None``).
    ``region``: the call center's (``Locality.region``); each caller listed gets
    ``caller_display``, the number as every other screen shows it
    (``callcenter.core.display.phone_text``: national at home, international otherwise).
    Without one (figures that list no callers to people) it is the PBX's number as is.
    Queues without a ``PbxQueue`` row get their name as display name and the default
    threshold. See the module's docstring for the definitions.
    """
    names = list(dict.fromkeys(q for q in queues if q))
    if not names:
        return []
    found = queues_with_thresholds(session, names)
    rows = {name: queue for name, (queue, _limits) in found.items()}
    limits = {name: limit for name, (_queue, limit) in found.items()}
    thresholds = {n: (rows[n].service_level_s if n in rows and rows[n].service_level_s
                      is not None else DEFAULT_SL_THRESHOLD_S) for n in names}
    counts = aggregate_calls(session, thresholds, day_start=day_start, now=now)
    result = []
    for name in names:
        row = counts.get(name) or {}
        offered = int(row.get("offered") or 0)
        answered = int(row.get("answered") or 0)
        abandoned = int(row.get("abandoned") or 0)
        within = int(row.get("answered_within_sl") or 0)
        pending = int(row.get("pending_within_sl") or 0)
        entry = live.get(name) if live is not None else None
        if not isinstance(entry, Mapping):
            entry = None
        waiting, longest, callers = _waiting(entry, now, region)
        limit = limits.get(name)
        figures = {
            "queue": name,
            "display_name": (rows[name].display_name if name in rows else "") or name,
            "waiting": waiting,
            "longest_wait_s": longest,
            "callers": callers,
            "members": len(entry.get("members") or ()) if entry is not None else None,
            "offered": offered,
            "answered": answered,
            "abandoned": abandoned,
            "answered_within_sl": within,
            "service_level": _ratio(within, offered - pending),
            "abandon_rate": _ratio(abandoned, offered),
            "asa_s": _seconds(row.get("asa_s")),
            "aht_s": _seconds(row.get("aht_s")),
            "sl_threshold_s": thresholds[name],
            "sl_target": limit.sl_target if limit else SL_TARGET,
            "abandon_rate_limit": limit.abandon_rate_limit if limit else ABANDON_RATE_LIMIT,
            "longest_wait_limit_s": limit.longest_wait_s if limit else thresholds[name],
            "live": entry is not None,
            "updated_at": iso(now),
        }
        figures["alerts"] = alerts_for(figures)
        result.append(figures)
    return result


def _user_index(users: Iterable[Any] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(users, Mapping):
        return dict(users)
    return {u.interface: u for u in users if getattr(u, "interface", None)}


def agent_rows(live_agents: Mapping[str, Mapping[str, Any]],
               users: Iterable[Any] | Mapping[str, Any], *,
               now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per agent (interface) of ``live_agents`` (as in ``cc:live:agents``).

    ``users``: the User rows whose ``interface`` matches (or interface -> User); an
    interface without a user keeps the name the PBX gave it. Sorted by name.
    """
    now = now or datetime.now(UTC)
    by_interface = _user_index(users)
    rows = []
    for interface, entry in live_agents.items():
        user = by_interface.get(interface)
        since = to_utc(entry.get("since"))
        state = entry.get("state")
        rows.append({
            "interface": interface,
            "user_id": user.id if user is not None else None,
            "name": ((user.display_name or user.username) if user is not None else "")
            or str(entry.get("name") or "") or interface,
            "state": state if state in AGENT_STATES else "logged_out",
            "reason": (str(entry["reason"]) or None) if entry.get("reason") else None,
            "since": iso(since),
            "seconds_in_state": round(max(0.0, (now - since).total_seconds()), 1)
            if since else None,
            "queues": sorted({str(q) for q in entry.get("queues") or ()}),
            "updated_at": iso(now),
        })
    rows.sort(key=lambda r: (r["name"].casefold(), r["interface"]))
    return rows
