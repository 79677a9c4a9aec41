"""Service requests (工单): a customer's request for help, its SLA and its escalation.

A top-level package as the layout promises; the domain builds on the kernel
(``callcenter.core``: errors with codes, field limits, pagination, settings passed in)
and meets the other domains only through their public functions and signals: a ticket
names its customer and installed product by id, the customer card lists open tickets
through the card's signal, and SLA escalation runs as a periodic job.
"""


def init_app() -> None:
    """Connect the tickets domain's receivers and register its live events (called once
    per process by ``callcenter.core.domains.init_domains``)."""
    from callcenter.calls.signals import open_tickets_asked, ticket_status_asked
    from callcenter.customers.signals import customers_merged
    from tickets.notices import register_events
    from tickets.receivers import (
        answer_open_tickets,
        answer_ticket_status,
        move_tickets_to_survivor,
    )

    customers_merged.connect(move_tickets_to_survivor)
    open_tickets_asked.connect(answer_open_tickets)
    ticket_status_asked.connect(answer_ticket_status)
    # ticket.notice (to a user), ticket.escalated and ticket.changed (to a team).
    register_events()


def check_settings(settings) -> None:
    """A bad escalation ladder (``SLA_ESCALATION``) stops the worker and the web app at
    start with a ConfigError naming it (``callcenter.core.domains``)."""
    from tickets.escalation import parse_ladder

    parse_ladder(settings.escalation_ladder)
