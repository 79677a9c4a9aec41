"""A stop signal closes the web process's Socket.IO sessions once (callcenter.serving):
a second signal, as when a supervisor's SIGTERM follows the terminal's Ctrl-C, runs the
close again at the same moment, and two engine.io shutdowns at once raced on its service
task (``'NoneType' object has no attribute 'join'``, logged with a traceback)."""

from __future__ import annotations

import logging
import threading

from callcenter.serving import close_socketio_sessions


def test_two_stop_signals_close_the_sessions_once(app, caplog):
    caplog.set_level(logging.ERROR, logger="callcenter.serving")
    shutdowns = []
    real_shutdown = app.extensions["socketio"].server.shutdown

    def counted_shutdown():
        shutdowns.append(threading.current_thread().name)
        real_shutdown()
    app.extensions["socketio"].server.shutdown = counted_shutdown

    go = threading.Barrier(4)

    def close():
        go.wait()
        close_socketio_sessions(app)
    threads = [threading.Thread(target=close, name=f"signal-{n}") for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(shutdowns) == 1
    assert not [r for r in caplog.records if "failed" in r.getMessage()]
