"""Service requests (工单): a customer's request for help, its SLA and its escalation.

A top-level package as the layout promises; the domain builds on the kernel
(``callcenter.core``: errors with codes, field limits, pagination, settings passed in)
and meets the other domains only through their public functions and signals: a ticket
names its customer and installed product by id, the customer card lists open tickets
through the card's signal, and SLA escalation runs as a periodic job.
"""


def init_app() -> None:
    """Register the tickets domain's live events (called once per process by
    ``callcenter.core.domains.init_domains``)."""
    from tickets.notices import register_events

    register_events()
