"""Run a FastAGIServer in a background thread, for hosts without an event loop."""

from __future__ import annotations

import asyncio
import threading

from telephony.agi.server import FastAGIServer


class FastAGIThread:
    """Runs a FastAGIServer in an event loop of its own, in one background thread."""

    def __init__(self, server: FastAGIServer):
        self.server = server
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Future[None] | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> FastAGIThread:
        self._thread = threading.Thread(target=self._run, name="fastagi", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("FastAGI server did not start")
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
                self._error = exc
                return
            self._stop = loop.create_future()
            self._ready.set()
            loop.run_until_complete(self._stop)
            loop.run_until_complete(self.server.close())
        finally:
            self._ready.set()
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def stop(self, timeout: float = 15.0) -> None:
        if self._loop is None or self._thread is None:
            return
        stop = self._stop
        if stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(None))
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError("FastAGI server thread did not stop")
