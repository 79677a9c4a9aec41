"""Initialising the domains: one call, made by every process, once.

Each domain package that reacts to other domains (signal receivers) or registers
something with the infrastructure (live events for the browsers) has an ``init_app()``
function doing exactly that and nothing else: no settings read, no connection made.
``init_domains()`` calls them all, in ``DOMAINS`` order. The web app (``create_app``),
the worker (``callcenter worker`` and every job run) and the bridge (``callcenter
bridge``) call it; calling it again is a no-op, so no receiver is connected twice and
a process that builds several apps (the tests) still has one set.

A new domain with receivers adds its package to ``DOMAINS`` and an ``init_app()``.
"""

from __future__ import annotations

import importlib
import threading

#: The packages whose ``init_app()`` is called, in this order.
DOMAINS = (
    "callcenter.calls",       # its live events (call.ringing, ... to the agent's room)
    "callcenter.wallboard",   # its live events (queue.update, agent.update to queue rooms)
    "callcenter.realtime",    # a saved wrap-up closes the agent's pop
    "callcenter.desk",        # a saved wrap-up ends the agent's after-call work
    "tickets",                # receivers (open tickets, ticket status, merges), live events
    "repairs",                # repair orders, stations, stock: live events
)

_lock = threading.Lock()
_initialised = False


def init_domains() -> bool:
    """Call every domain's ``init_app()`` unless this process did already.

    Returns True when this call did the work. Thread-safe: the bridge's threads and a
    web server's requests may race to it.
    """
    global _initialised
    if _initialised:
        return False
    with _lock:
        if _initialised:
            return False
        for name in DOMAINS:
            importlib.import_module(name).init_app()
        _initialised = True
        return True


def domains_initialised() -> bool:
    return _initialised


def check_domain_settings(settings) -> None:
    """Let each domain refuse settings it cannot work with, at start, before any job or
    request meets them: a domain package may define ``check_settings(settings)``, which
    raises ``callcenter.config.ConfigError`` naming the variable (e.g. a bad
    ``SLA_ESCALATION`` for the tickets' escalation ladder)."""
    for name in DOMAINS:
        check = getattr(importlib.import_module(name), "check_settings", None)
        if check is not None:
            check(settings)
