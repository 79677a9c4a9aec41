"""The 360° page's one timeline: the customer's calls, tickets and recorded changes,
newest first. Each domain answers through its public functions (``callcenter.calls``,
``tickets.timeline``, ``callcenter.customers.history``), already scoped to the reader;
this only merges them.

Changes come one entry per save, not one per field: an edit of five fields, or a new
customer with its first contact, is one line, so the calls and tickets stay in view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

#: Entries on the page (the full lists are one click away).
TIMELINE_ENTRIES = 30
#: Records by one person this close together came from one save (each row's time is
#: taken as it is written, so one save spreads over a few milliseconds).
SAVE_WINDOW_S = 2.0


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def change_entries(changes: list) -> list[dict[str, Any]]:
    """ChangeRecords (newest first) as one entry per save: ``{"at", "kind": "change",
    "user", "changes": [records, newest first]}``."""
    entries: list[dict[str, Any]] = []
    oldest: datetime | None = None
    for change in changes:
        at = _aware(change.changed_at)
        last = entries[-1] if entries else None
        if last is not None and last["user_id"] == change.user_id and oldest is not None \
                and (oldest - at).total_seconds() <= SAVE_WINDOW_S:
            last["changes"].append(change)
        else:
            entries.append({"at": at, "kind": "change", "user_id": change.user_id,
                            "user": change.user, "changes": [change]})
        oldest = at
    return entries


def merged_timeline(calls: list[dict], ticket_events: list[dict], changes: list,
                    limit: int = TIMELINE_ENTRIES) -> list[dict[str, Any]]:
    """``[{"at", "kind": call|ticket|change, ...}]`` newest first: ``calls`` are the
    page's call rows (``{"call", ...}``), ``ticket_events`` tickets.timeline's,
    ``changes`` ChangeRecords (newest first; grouped by ``change_entries``)."""
    entries: list[dict[str, Any]] = []
    entries += [{"at": _aware(row["call"].started_at), "kind": "call", **row} for row in calls]
    entries += [{**event, "kind": "ticket"} for event in ticket_events]
    entries += change_entries(changes)
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries[:limit]
