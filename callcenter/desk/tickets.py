"""What the desk's script needs for tickets: the URLs of the ticket pages and the texts
of the pop's open tickets, its "new ticket" button and the ``ticket.notice`` banner
(static/js/desk/tickets.js)."""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from callcenter.users.models import User
from tickets.notices import notices_query, notices_to_dicts


def desk_ticket_strings() -> dict[str, object]:
    return {
        "newTicket": _("New ticket"),
        "saveAndTicket": _("Save and open a ticket"),
        "ticketNeededHint": _("Saving opens the new-ticket form in a new tab, with the "
                              "caller, customer, product and call filled in."),
        "ticketStatus": {"new": _("New"), "assigned": _("Assigned"),
                         "in_progress": _("In progress"), "pending": _("Pending"),
                         "resolved": _("Resolved"), "closed": _("Closed")},
        "slaStates": {"on_track": _("On track"), "at_risk": _("At risk"),
                      "breached": _("SLA breached"), "paused": _("Clock paused"),
                      "met": _("Met")},
        # {id}, {subject}, {level}: the notice's ticket, its subject, the escalation level.
        "noticeKinds": {
            "warn": _("Ticket #{id} “{subject}” is at risk of breaching its SLA."),
            "at_risk": _("Ticket #{id} “{subject}” is at risk of breaching its SLA."),
            "breached": _("Ticket #{id} “{subject}” has breached its SLA."),
            "escalated": _("Ticket #{id} “{subject}” was escalated to you (level {level})."),
            "lead": _("Ticket #{id} “{subject}” was escalated to you (level {level})."),
            "up": _("Ticket #{id} “{subject}” was escalated to you (level {level})."),
            "assigned": _("Ticket #{id} “{subject}” was assigned to you."),
        },
        "noticeOther": _("Ticket #{id} “{subject}” needs your attention."),
        "noticeDue": _("due {when}"),
        "openTicketN": _("Open ticket #{id}"),
        "dismiss": _("Dismiss"),
    }


#: Unread notices the desk shows when it opens (those that came while the agent was away).
UNREAD_ON_OPEN = 20


def desk_ticket_config(session: Session, user: User) -> dict[str, object]:
    """URLs of the ticket pages (None without the tickets blueprint), the user's unread
    ticket notices, and where a dismissed one is marked read."""
    if "tickets.new" not in current_app.view_functions:
        return {"ticketNewUrl": None, "ticketUrl": None, "unreadNotices": [],
                "noticeReadUrl": None}
    notices = list(session.scalars(notices_query(user, unread=True).limit(UNREAD_ON_OPEN)))
    return {"ticketNewUrl": url_for("tickets.new"),
            "ticketUrl": url_for("tickets.view", ticket_id=0)[:-1],
            "unreadNotices": notices_to_dicts(session, notices),
            "noticeReadUrl": "/api/v1/notices/{id}/read"}
