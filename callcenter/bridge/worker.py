"""A thread that handles batches of work items in order, off the AMI read loop.

A batch that fails (the database or Redis is down) is tried again with backoff, and
everything after it waits: nothing is dropped and nothing overtakes. When the outage
has lasted ``dead_letter_after_s``, or the worker is stopping, the batch goes to the
dead letter (``callcenter.bridge.dead_letters``) for an admin to see and replay, and the
worker goes on.
"""

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
                 max_batch: int = 500, settle_s: float = 0.0,
                 dead_letter: Callable[[str, list[Any], BaseException], None] | None = None,
                 dead_letter_after_s: float = 300.0, retry_first_s: float = 0.2,
                 retry_max_s: float = 5.0, stop_grace_s: float = 5.0) -> None:
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
        self.retries = 0
        self.dead_lettered = 0
        self.dead_letter = dead_letter
        self.dead_letter_after_s = dead_letter_after_s
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.stop_grace_s = stop_grace_s
        #: monotonic time the current outage began (None: the last batch went through)
        self.outage_since: float | None = None
        self._stopping_by = float("inf")
        self._wake = threading.Event()
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
        """Finish what was submitted, then end the thread. A batch that still cannot be
        handled after ``stop_grace_s`` goes to the dead letter."""
        self._stopping_by = time.monotonic() + self.stop_grace_s
        self._queue.put(_STOP)
        self._wake.set()
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
                self._handle(batch)
                self.handled += len(batch)
            self._call(self.idle)

    def _handle(self, batch: list[Any]) -> None:
        delay = self.retry_first_s
        while True:
            try:
                self.handle(batch)
            except Exception as exc:
                self.failures += 1
                now = time.monotonic()
                if self.outage_since is None:
                    self.outage_since = now
                    log.warning("bridge worker %s: a batch of %d failed (%s: %s); retrying "
                                "with backoff", self.name, len(batch), type(exc).__name__,
                                exc)
                    log.debug("the failure", exc_info=True)
                if self.dead_letter is None or now >= self._stopping_by or \
                        now - self.outage_since >= self.dead_letter_after_s:
                    self._give_up(batch, exc)
                    return
                self.retries += 1
                self._wake.wait(min(delay, max(0.0, self._stopping_by - now)))
                delay = min(delay * 2, self.retry_max_s)
                continue
            if self.outage_since is not None:
                log.warning("bridge worker %s: writing again after %.1f s", self.name,
                            time.monotonic() - self.outage_since)
                self.outage_since = None
            return

    def _give_up(self, batch: list[Any], exc: BaseException) -> None:
        if self.dead_letter is None:
            log.error("bridge worker %s failed; %d items lost", self.name, len(batch),
                      exc_info=exc)
            return
        self.dead_lettered += len(batch)
        try:
            self.dead_letter(self.name, batch, exc)
        except Exception:
            log.exception("bridge worker %s: the dead letter failed too; %d items lost",
                          self.name, len(batch))

    def _call(self, fn: Callable | None, *args: Any) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:
            self.failures += 1
            log.exception("bridge worker %s failed", self.name)
