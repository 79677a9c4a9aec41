"""FastAGI: Asterisk asks ``agi://host:4573/<script>`` and a script answers.

The protocol (``protocol``) and the asyncio server (``server``) know nothing of the
call center; the call center's scripts (``lookup``, ``ticket_status``) are glue and live
in ``callcenter.bridge.agi_scripts``.

How a host starts it, inside its asyncio loop::

    server = FastAGIServer({"lookup": script, ...}, host=AGI_HOST, port=AGI_PORT)
    await server.start()            # listening; server.port is the bound port
    ...
    await server.close()            # ends sessions, joins the worker threads

A host without an event loop uses ``FastAGIThread(server).start()`` and ``.stop()``.
"""

from __future__ import annotations

from telephony.agi.protocol import (
    AGIDeadChannel,
    AGIEnvironment,
    AGIError,
    AGIHangup,
    AGIReply,
    dialplan_safe,
    quote_arg,
)
from telephony.agi.server import AGISession, FastAGIServer
from telephony.agi.thread import FastAGIThread

__all__ = [
    "AGIDeadChannel", "AGIEnvironment", "AGIError", "AGIHangup", "AGIReply", "AGISession",
    "FastAGIServer", "FastAGIThread", "dialplan_safe", "quote_arg",
]
