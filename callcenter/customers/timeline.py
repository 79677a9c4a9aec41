"""The 360° page's one timeline: the customer's calls, tickets and recorded changes,
newest first. Each domain answers through its public functions (``callcenter.calls``,
``tickets.timeline``, ``callcenter.customers.history``); this only merges them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

#: Entries on the page (the full lists are one click away).
TIMELINE_ENTRIES = 30


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def merged_timeline(calls: list[dict], ticket_events: list[dict], changes: list,
                    limit: int = TIMELINE_ENTRIES) -> list[dict[str, Any]]:
    """``[{"at", "kind": call|ticket|change, ...}]`` newest first: ``calls`` are the
    page's call rows (``{"call", ...}``), ``ticket_events`` tickets.timeline's,
    ``changes`` ChangeRecords."""
    entries: list[dict[str, Any]] = []
    entries += [{"at": _aware(row["call"].started_at), "kind": "call", **row} for row in calls]
    entries += [{**event, "kind": "ticket"} for event in ticket_events]
    entries += [{"at": _aware(ch.changed_at), "kind": "change", "change": ch} for ch in changes]
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries[:limit]
