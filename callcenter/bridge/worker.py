"""A thread that handles batches of work items in order, off the AMI read loop."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_STOP = object()


class EffectWorker:
    """Calls ``handle(batch)`` with everything submitted since the last call, in order.

    Batching lets the call-log writer commit many updates at once under load, while at
    a trickle each item is handled as soon as it arrives. A failing batch is logged and
    counted; the worker goes on with the next one.
    """

    def __init__(self, name: str, handle: Callable[[list[Any]], None], *,
                 idle: Callable[[], None] | None = None, idle_every_s: float = 0.5,
                 max_batch: int = 500, settle_s: float = 0.0) -> None:
        self.name = name
        #: Wait this long after the first item before taking the batch: work that may
        #: lag (the call log) then stays off the CPU while a burst's pops go out.
        self.settle_s = settle_s
        self.handle = handle
        self.idle = idle
        self.idle_every_s = idle_every_s
        self.max_batch = max_batch
        self.failures = 0
        self.handled = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> EffectWorker:
        self._thread.start()
        return self

    def submit(self, item: Any) -> None:
        self._queue.put(item)

    def backlog(self) -> int:
        return self._queue.qsize()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what was submitted, then end the thread."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self.idle_every_s)
            except queue.Empty:
                self._call(self.idle)
                continue
            if self.settle_s:
                time.sleep(self.settle_s)
            batch = []
            item = first
            while True:
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
                if len(batch) >= self.max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._call(self.handle, batch)
                self.handled += len(batch)
            self._call(self.idle)

    def _call(self, fn: Callable | None, *args: Any) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:
            self.failures += 1
            log.exception("bridge worker %s failed", self.name)
