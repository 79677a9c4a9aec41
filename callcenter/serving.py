"""`callcenter serve`: the web app under gunicorn, embedded (no `gunicorn` command line).

One worker process with many threads (gunicorn's ``gthread`` worker), as Flask-SocketIO's
deployment notes advise for ``async_mode="threading"`` with simple-websocket: every
WebSocket holds one thread for as long as the browser stays connected, and one process
keeps every Socket.IO session of its clients in one place (a second worker process
would need sticky sessions in front of it, which gunicorn does not do). To use more
cores, run more ``serve`` processes behind a reverse proxy with sticky sessions: they
share the database and Redis (the Socket.IO message queue), see docker-compose.yml.

Stopping: SIGTERM stops accepting, closes this process's Socket.IO sessions (browsers
reconnect, to another process if there is one) and lets running requests finish; SIGINT
stops at once. Request logs are off unless asked for (``--access-log``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from callcenter.config import Settings

log = logging.getLogger(__name__)

#: Threads of the worker: each connected browser holds one (its WebSocket), and pages
#: and API calls need some more. Past it, new connections wait for a free thread.
DEFAULT_THREADS = 1000
#: Connections gunicorn keeps open besides the busy threads (HTTP keep-alive).
SPARE_CONNECTIONS = 200
#: Seconds that running requests get to finish after SIGTERM.
GRACEFUL_TIMEOUT_S = 8


class SocketIOThreadWorker(ThreadWorker):
    """gunicorn's gthread worker that ends its Socket.IO sessions when told to stop.

    Without it a graceful stop waits the whole ``graceful_timeout`` for WebSockets that
    never end by themselves, and then kills them. Closing them at engine.io level (not
    with a Socket.IO DISCONNECT packet) makes browsers reconnect rather than give up.
    """

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        # A signal handler must not block: the close frames are sent from a thread.
        threading.Thread(target=close_socketio_sessions, args=(self.wsgi,),
                         name="socketio-close", daemon=True).start()


def close_socketio_sessions(app) -> None:
    """Close every Socket.IO session of this process and stop its background tasks.

    Once per app: a second signal (a supervisor's SIGTERM after the terminal's) runs
    this again, and two engine.io shutdowns at once race on its service task."""
    extensions = getattr(app, "extensions", {})
    sio = extensions.get("socketio")
    if sio is None or sio.server is None:
        return
    # dict.setdefault is atomic: both threads get the same lock, one of them closes.
    if not extensions.setdefault("socketio_closing", threading.Lock()).acquire(blocking=False):
        return
    try:
        sio.server.eio.disconnect()  # every client, with engine.io's CLOSE packet
        sio.server.shutdown()
    except Exception:  # noqa: BLE001 - stopping anyway; say why it was not clean
        log.exception("closing the Socket.IO sessions failed")


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 5000
    threads: int = DEFAULT_THREADS
    access_log: bool = False

    def gunicorn_config(self) -> dict[str, object]:
        """gunicorn's settings for these options."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return {
            "bind": [f"{host}:{self.port}"],
            "workers": 1,
            "worker_class": SocketIOThreadWorker,
            "threads": self.threads,
            "worker_connections": self.threads + SPARE_CONNECTIONS,
            "graceful_timeout": GRACEFUL_TIMEOUT_S,
            # The app is created in the worker, after the fork: no database pool,
            # Redis client or thread is shared between the arbiter and the worker.
            "preload_app": False,
            "accesslog": "-" if self.access_log else None,
            "errorlog": "-",
            "loglevel": "info",
            "proc_name": f"callcenter-web:{self.port}",
            # gunicorn >= 25.1 opens a control socket in $HOME by default: several
            # `serve` processes on one host would fight over it, and nothing uses it.
            "control_socket_disable": True,
        }


class WebServer(BaseApplication):
    """gunicorn's arbiter and one gthread worker, serving ``create_app(settings)``."""

    def __init__(self, settings: Settings, options: ServeOptions):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.gunicorn_config().items():
            if key in self.cfg.settings:  # older gunicorns lack the newer settings
                self.cfg.set(key, value)

    def load(self):
        from callcenter.app import create_app
        return create_app(self.settings)


def serve(settings: Settings, options: ServeOptions) -> None:
    """Run the web server in the foreground until SIGTERM or SIGINT (exits the process)."""
    WebServer(settings, options).run()
