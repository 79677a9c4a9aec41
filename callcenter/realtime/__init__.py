"""The real-time layer: Socket.IO in the web server, live state in Redis, PBX commands.

- ``server``: ``init_realtime(app)`` (called by the app factory), ``get_socketio(app)``;
- ``rooms``: which Socket.IO rooms a user joins;
- ``publish``: ``LivePublisher`` and ``register_event`` (any process; no Flask app);
- ``live``: the Redis live-state contract: every key, channel, room and payload;
- ``agent_calls``: an agent's live calls, seq and acks (atomic Lua operations);
- ``commands``: ``request_pbx_action`` (web -> bridge -> PBX);
- ``receivers``: what the live state does when other domains signal.

The contract with the telephony bridge is ``telephony/README.md``.
"""


def init_app() -> None:
    """Connect the realtime layer's receivers (called once per process by
    ``callcenter.core.domains.init_domains``)."""
    from callcenter.calls.signals import call_wrapped_up
    from callcenter.realtime.receivers import drop_wrapped_up_pop

    call_wrapped_up.connect(drop_wrapped_up_pop)
