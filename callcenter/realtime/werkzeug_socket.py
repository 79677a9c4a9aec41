"""Socket.IO on Werkzeug's server: what the in-process test servers need.

``callcenter serve`` runs under gunicorn, which needs none of this: its listening socket
has TCP_NODELAY, and engine.io ends a WebSocket session there by raising StopIteration,
which gunicorn takes as "close the connection". Werkzeug's threaded server, which the
tests start inside their own process (gunicorn's arbiter cannot run in a thread), needs
both done here. On any other server the middleware passes requests straight through.

Relies on engine.io raising ConnectionError when a WebSocket session on Werkzeug ends
(``engineio.async_drivers._websocket_wsgi``), checked against the releases in
``callcenter.realtime.server.CHECKED_WITH``.
"""

from __future__ import annotations

import socket


class WerkzeugWebSocketEnd:
    """WSGI middleware for Socket.IO connections on Werkzeug's server.

    - TCP_NODELAY: without it, an event of a kilobyte or more (a pop with the customer
      card) waits for Nagle's algorithm and the peer's delayed ACK: 13 ms median, 40 ms
      worst, measured on loopback; with it, under 1.5 ms at p99.
    - When a WebSocket session ends, the connection is shut down: Werkzeug would keep
      it and read the client's close frame as a new HTTP request (an error in the log
      for every closed tab, and a client left waiting for the close handshake).
    """

    def __init__(self, wsgi_app, path: str = "/socket.io"):
        self.wsgi_app = wsgi_app
        self.path = path

    def __call__(self, environ, start_response):
        sock = environ.get("werkzeug.socket")
        if sock is None or not environ.get("PATH_INFO", "").startswith(self.path):
            return self.wsgi_app(environ, start_response)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):  # not TCP (a unix socket, a test)
            pass
        try:
            return self.wsgi_app(environ, start_response)
        except ConnectionError:
            # engine.io's way of telling Werkzeug that a WebSocket session is over.
            _shut_down(sock)
            raise


def _shut_down(sock) -> None:
    """Close both directions and drop what the client sent after the session ended, so
    Werkzeug's next read sees the end of the connection."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
        timeout = sock.gettimeout()
        sock.settimeout(0)
        try:
            for _ in range(64):
                if not sock.recv(65536):
                    break
        except (BlockingIOError, OSError):
            pass
        finally:
            sock.settimeout(timeout)
    except OSError:
        pass
