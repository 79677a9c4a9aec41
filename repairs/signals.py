"""The signals the repairs domain sends (conventions: ``callcenter.core.signals``)."""

from __future__ import annotations

from callcenter.core.signals import signal

#: Event, inside the unit of work: a repair order was closed.
repair_order_closed = signal("repairs.order-closed", """\
A repair order moved from settlement to closed (repairs.transitions.move_order).
Sent inside the unit of work, before the commit: a receiver that writes does so with
the sender (the session) and must not commit; anything to do outside the database
(a survey, a live event) is registered with callcenter.db.after_commit.
Sender: the session.
Keywords: order (repairs.models.RepairOrder, status closed, amounts frozen),
actor (the user who closed it).""")
