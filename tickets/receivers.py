"""What the tickets domain answers and does when other domains signal (connected by
``tickets.init_app``): the caller card's open tickets, the IVR's ticket status, and a
customer merge (the merged customer's tickets follow the survivor)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.core.fields import MAX_ID
from tickets import history
from tickets.history import CUSTOMERS_MERGED, system_note
from tickets.models import Ticket
from tickets.queries import open_tickets_for_customer
from tickets.serializers import open_ticket_summary

#: A ticket number as a caller keys it in: digits only, at most this many.
MAX_NUMBER_DIGITS = 12
#: Times on the caller card are shown in this zone unless the asker says otherwise.
_UTC = ZoneInfo("UTC")


def answer_open_tickets(customer_id: int, *, session: Session, timezone: str | None = None,
                        **_: Any) -> list[dict[str, Any]]:
    """``calls.open_tickets_asked``: the customer's open tickets, newest first."""
    if not isinstance(customer_id, int) or isinstance(customer_id, bool):
        return []
    zone = ZoneInfo(timezone) if timezone else _UTC
    return [open_ticket_summary(t, zone) for t in open_tickets_for_customer(session,
                                                                             customer_id)]


def answer_ticket_status(number: str, *, session: Session, **_: Any) -> str | None:
    """``calls.ticket_status_asked``: the status of ticket ``number`` as one lower-case
    word (``in_progress``); None for a number that is no ticket's (or no number)."""
    if not isinstance(number, str) or not number.isascii() or not number.isdigit() \
            or len(number) > MAX_NUMBER_DIGITS:
        return None
    ticket_id = int(number)
    if not 0 < ticket_id <= MAX_ID:
        return None
    status = session.scalar(select(Ticket.status).where(Ticket.id == ticket_id))
    return status.value if status is not None else None


def move_tickets_to_survivor(survivor_id: int, *, merged_id: int, session: Session,
                             **_: Any) -> dict[str, int]:
    """``customers_merged``: the merged-away customer's tickets belong to the survivor
    (each with a ``customer_id`` history row by the system)."""
    ids = list(session.scalars(select(Ticket.id).where(Ticket.customer_id == merged_id)))
    if not ids:
        return {"tickets": 0}
    session.execute(update(Ticket).where(Ticket.id.in_(ids))
                    .values(customer_id=survivor_id)
                    .execution_options(synchronize_session="fetch"))
    for ticket_id in ids:
        history.record(session, ticket_id, None, "customer_id", merged_id, survivor_id,
                       system_note=system_note(CUSTOMERS_MERGED))
    session.flush()
    return {"tickets": len(ids)}
