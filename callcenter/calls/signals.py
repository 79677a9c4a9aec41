"""The signals the calls domain sends (conventions: ``callcenter.core.signals``)."""

from __future__ import annotations

from callcenter.core.signals import signal

#: Event, after the commit: a wrap-up was saved.
call_wrapped_up = signal("calls.wrapped-up", """\
A call's wrap-up (disposition and note) was saved and committed; sent after the
commit by calls.services.save_wrapup.
Sender: the call id (the Linkedid, str).
Keywords: user_id (int: a user done with the call; sent once for each, the one
who saved it first, then every agent who talked to the caller, also before a
transfer; for the default wrap-up only the agents), disposition (str, one of
calls.services.DISPOSITIONS).
The realtime layer drops the call from that user's live pops; after-call work
ends that user's pause if it was for this call.""")

#: Question: the customer's open tickets (for the screen pop and the dialplan).
open_tickets_asked = signal("calls.open-tickets-asked", """\
Which tickets of this customer are open? Asked by the caller card (calls.cards: the
open_tickets of every screen pop) and by the FastAGI lookup (the first ticket's id
becomes OPEN_TICKET_ID in the dialplan).
Sender: the customer id (int).
Keywords: session (the asker's SQLAlchemy session; read only).
Each receiver returns a list of JSON-ready dicts, newest first, each with at least
"id"; None or [] for none. No receiver (no tickets domain yet): no open tickets.
It runs on every pop: keep it to an indexed query.""")

#: Question: a ticket's status, for a caller who keyed in its number.
ticket_status_asked = signal("calls.ticket-status-asked", """\
What is the status of the ticket with this number? Asked by the FastAGI
ticket_status script (the caller keys the number in).
Sender: the number as typed (str of digits).
Keywords: session (read only).
A receiver that knows the ticket returns its status as a short word (open,
in_progress, closed: it becomes part of a sound file name); None when it does not
know the number. The first answer counts; with none the status is "unknown".""")
