"""A loopback TCP proxy for tests that break a link on purpose.

``TcpProxy(target_port)`` listens on ``127.0.0.1:<proxy.port>`` and forwards every
connection to the target, both ways, byte for byte (two threads per connection).

* ``cut()`` closes every live connection at both ends at once, as a network drop
  would: bytes in flight inside the proxy are lost, both peers see the link go (a
  reset, not a polite close).
* ``pause(accept=False)`` refuses new connections until ``resume()`` (each is reset as
  soon as it arrives, so a client's reconnect attempt fails and it backs off);
  ``pause(accept=True)`` accepts them but holds them, unconnected to the target and
  without a byte either way, until ``resume()``.
* ``close()`` stops listening and cuts what is left.

``accepted`` counts the connections that reached the target; ``refused`` those turned
away while paused.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

_LINGER_RESET = struct.pack("ii", 1, 0)  # close() sends RST instead of FIN


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Link:
    """One proxied connection: client <-> upstream."""

    def __init__(self, proxy: TcpProxy, client: socket.socket,
                 upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self._lock = threading.Lock()
        self._closed = False
        self._pumps = 2

    def start(self) -> None:
        for source, sink, name in ((self.client, self.upstream, "up"),
                                   (self.upstream, self.client, "down")):
            threading.Thread(target=self._pump, args=(source, sink),
                             name=f"tcp-proxy-{name}", daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # One direction ended (EOF, reset or cut): the link is over both ways.
            self.close()
            with self._lock:
                self._pumps -= 1
                last = self._pumps == 0
            if last:
                for sock in (self.client, self.upstream):
                    with contextlib.suppress(OSError):
                        sock.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _reset(self.client)
        _reset(self.upstream)
        self.proxy._forget(self)


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._held: list[socket.socket] = []
        self._paused = False
        self._hold = False
        self._closing = False
        self.accepted = 0
        self.refused = 0
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy",
                                        daemon=True)
        self._thread.start()

    # -- control ------------------------------------------------------------------------
    def cut(self) -> int:
        """Drop every live connection (both ends); returns how many there were."""
        with self._lock:
            links = list(self._links)
            self.cuts += 1
        for link in links:
            link.close()
        return len(links)

    def pause(self, accept: bool = False) -> None:
        """Turn new connections away (``accept=False``) or hold them (``accept=True``)."""
        with self._lock:
            self._paused = True
            self._hold = accept

    def resume(self) -> None:
        """Accept and forward again; held connections are connected to the target now."""
        with self._lock:
            self._paused = False
            held, self._held = self._held, []
        for client in held:
            self._forward(client)

    def live(self) -> int:
        with self._lock:
            return len(self._links)

    def close(self) -> None:
        self._closing = True
        self._thread.join(5)  # the accept loop looks at _closing every 0.1 s
        with contextlib.suppress(OSError):
            self._listener.close()
        self.cut()
        with self._lock:
            held, self._held = self._held, []
        for client in held:
            _reset(client)
            client.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------
    def _accept_loop(self) -> None:
        self._listener.settimeout(0.1)
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                paused, hold = self._paused, self._hold
                if paused and hold:
                    self._held.append(client)
                    continue
                if paused:
                    self.refused += 1
            if paused:
                _reset(client)
                client.close()
                continue
            self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            client.close()
            return
        upstream.settimeout(None)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(self, client, upstream)
        with self._lock:
            self._links.add(link)
            self.accepted += 1
        link.start()

    def _forget(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)
