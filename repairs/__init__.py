"""Repair orders, service stations and spare parts, and the technician's phone.

A sibling of ``tickets`` (a repair order is raised from a service request) on the
installed base of ``callcenter.products``; it meets the other domains only through
their public functions and signals (docs/architecture.md).
"""


def init_app() -> None:
    """Connect the repairs domain's receivers and register its live events (called once
    per process by ``callcenter.core.domains.init_domains``)."""
    from callcenter.customers.signals import customers_merged
    from repairs.receivers import move_orders_to_survivor
    from repairs.stock_notices import register_events as register_stock_events

    register_stock_events()
    customers_merged.connect(move_orders_to_survivor)
