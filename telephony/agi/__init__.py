"""FastAGI for the call center: Asterisk asks ``agi://host:4573/lookup`` who is calling.

How the bridge starts it, inside its asyncio loop (next to the AMI client)::

    server = create_fastagi_server(sessionmaker, host=AGI_HOST, port=AGI_PORT, region="CN")
    await server.start()            # listening; server.port is the bound port
    ...
    await server.close()            # ends sessions, joins the DB threads

or simply ``await serve_fastagi(host, port, sessionmaker, region)`` (runs until
cancelled). A host without an event loop uses
``FastAGIThread(create_fastagi_server(...)).start()`` and ``.stop()``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from telephony.agi.protocol import (
    AGIDeadChannel,
    AGIEnvironment,
    AGIError,
    AGIHangup,
    AGIReply,
    dialplan_safe,
    quote_arg,
)
from telephony.agi.scripts import (
    TIER_PRIORITY,
    UNKNOWN_CALLER_PRIORITY,
    CallCenterScripts,
    OpenTicketProvider,
    TicketStatusProvider,
)
from telephony.agi.server import AGISession, FastAGIServer
from telephony.agi.thread import FastAGIThread

__all__ = [
    "AGIDeadChannel", "AGIEnvironment", "AGIError", "AGIHangup", "AGIReply", "AGISession",
    "CallCenterScripts", "FastAGIServer", "FastAGIThread", "OpenTicketProvider",
    "TIER_PRIORITY", "TicketStatusProvider", "UNKNOWN_CALLER_PRIORITY",
    "create_fastagi_server", "dialplan_safe", "quote_arg", "serve_fastagi",
]


def create_fastagi_server(session_factory: sessionmaker[Session], *, host: str = "127.0.0.1",
                          port: int = 4573, region: str = "CN",
                          scripts: CallCenterScripts | None = None,
                          **options: Any) -> FastAGIServer:
    """A FastAGI server running ``lookup`` and ``ticket_status`` (not yet listening).

    ``options`` are FastAGIServer's limits (env_timeout, reply_timeout, max_session_s,
    max_sessions, db_workers, ...).
    """
    scripts = scripts or CallCenterScripts()
    return FastAGIServer(scripts.as_mapping(), host=host, port=port,
                         session_factory=session_factory, region=region, **options)


async def serve_fastagi(host: str, port: int, session_factory: sessionmaker[Session],
                        region: str = "CN", **options: Any) -> None:
    """Serve FastAGI until cancelled (for ``asyncio.gather`` with the AMI client)."""
    server = create_fastagi_server(session_factory, host=host, port=port, region=region,
                                   **options)
    await server.serve_forever()
