"""The real-time layer: Socket.IO in the web server, live state in Redis, PBX commands.

- ``server``: ``init_realtime(app)`` (called by the app factory), ``get_socketio(app)``;
- ``publish``: ``AgentEventPublisher`` for the bridge (no Flask app needed);
- ``live``: the Redis keys of the live state, snapshots, acks;
- ``commands``: ``request_pbx_action`` (web -> bridge -> PBX).

The contract with the telephony bridge is ``telephony/README.md``.
"""
