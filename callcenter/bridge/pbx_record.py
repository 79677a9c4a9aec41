"""The bridge's side of checking the call log against the PBX's own record.

Where the record comes from (docs/architecture.md, "The PBX's own record"): Asterisk's
queue_log file, which app_queue writes whatever happens to the bridge, Redis or the
database. The compose setup shares Asterisk's log directory with the bridge
(read-only); ``PBX_QUEUE_LOG`` names the file. How far it was read is kept in the
database (``pbx_record_cursors``) in the same transaction as the rows it repaired, so a
killed bridge starts again where the last repair left off, and re-reading is harmless.

Runs on the log thread (``EffectWorker``), between batches: every ``every_s`` a pass
over the new lines repairs finished calls the bridge did not record right; after each
AMI (re)connect, :meth:`after_resync` also repairs and closes the rows of calls that
ended while the bridge was away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from callcenter.calls.pbx_record import (
    ReconcileResult,
    close_vanished_calls,
    load_cursor,
    reconcile_calls,
    save_cursor,
)
from callcenter.db import session_scope
from telephony.queuelog import QueueLogBook, QueueLogTail

log = logging.getLogger(__name__)

#: A reader with no saved position starts this far from the end of the file.
FIRST_READ_WINDOW = 8 * 1024 * 1024
#: A stay with no end for this long is given up on (the PBX restarted mid-call).
STALE_STAY_S = 12 * 3600


@dataclass(frozen=True)
class AfterResync:
    """What the PBX listed as live right after a (re)connect, passed to the log thread
    (in order after the resync's own effects)."""

    live_call_ids: frozenset[str]
    live_queue_uniqueids: frozenset[str]
    listed_at: float


class PbxRecordReconciler:
    """Follows the queue_log and repairs the call log from it (see the module doc).

    Without a ``path`` (PBX_QUEUE_LOG unset) it can only close, after a reconnect, the
    rows of calls the PBX no longer lists; it logs at start that it cannot do more.
    """

    def __init__(self, session_factory: sessionmaker[Session], path: str | None, *,
                 region: str,
                 member_interfaces: Callable[[], Mapping[str, str]],
                 every_s: float = 2.0, grace_s: float = 5.0) -> None:
        self.session_factory = session_factory
        self.path = path
        self.region = region
        self.member_interfaces = member_interfaces
        self.every_s = every_s
        #: A call finished this recently is the live bridge's to write: passes leave it
        #: alone so they never race the effects still on their way.
        self.grace_s = grace_s
        self.book = QueueLogBook()
        self.tail: QueueLogTail | None = None
        self._due = 0.0
        self.stats = {"passes": 0, "added": 0, "corrected": 0, "closed": 0, "failures": 0}

    # -- reading ------------------------------------------------------------------------
    def _open(self, session: Session) -> QueueLogTail:
        saved = load_cursor(session, self.path)
        if saved is None:
            inode, offset = QueueLogTail.start_near_end(self.path, FIRST_READ_WINDOW)
        else:
            inode, offset = saved
        return QueueLogTail(self.path, inode=inode, offset=offset)

    def _read(self, session: Session) -> None:
        if self.tail is None:
            self.tail = self._open(session)
        while True:
            lines = self.tail.read()
            for offset, text in lines:
                self.book.add(offset, text)
            if not lines:
                break

    # -- passes -------------------------------------------------------------------------
    def run_if_due(self) -> ReconcileResult | None:
        now = time.monotonic()
        if not self.path or now < self._due:
            return None
        self._due = now + self.every_s
        return self.run(time.time() - self.grace_s)

    def run(self, ended_by: float, *, live_queue_uniqueids: frozenset[str] = frozenset(),
            open_rows_too: bool = False) -> ReconcileResult:
        """One pass: read what is new, repair the calls finished by ``ended_by``."""
        with session_scope(self.session_factory) as session:
            self._read(session)
            finals = [c for c in self.book.final_calls(ended_by)
                      if c.callid not in live_queue_uniqueids]
            result = reconcile_calls(session, finals, member_interfaces=self.member_interfaces(),
                                     region=self.region, skip_open=not open_rows_too)
            # a call whose row is still open stays in the book: once the bridge finishes
            # the row, a later pass checks it; if it never does, the next reconnect's
            # repair finds it here
            left = set(result.left_open)
            done = [c.callid for c in finals if c.callid not in left]
            kept_offset = self._kept_offset(done)
            save_cursor(session, self.path, self.tail.inode, kept_offset)
        # Only once committed: a failed pass reads the same calls again next time.
        self.book.forget(done)
        self.book.forget_stale(time.time() - STALE_STAY_S)
        self.stats["passes"] += 1
        self.stats["added"] += result.added
        self.stats["corrected"] += result.corrected
        if result.added or result.corrected:
            log.info("PBX record: %d calls added to the call log, %d corrected (queue_log)",
                     result.added, result.corrected)
        return result

    def _kept_offset(self, done: list[str]) -> int:
        finished = set(done)
        assert self.tail is not None
        return min((c.first_offset for c in self.book.calls.values()
                    if c.callid not in finished), default=self.tail.offset)

    def after_resync(self, item: AfterResync) -> tuple[ReconcileResult, list]:
        """After a (re)connect: every call the PBX finished meanwhile is repaired from the
        queue_log at once (no grace: it is not live, so no effect of it is on its way),
        then rows of calls that are gone and that the queue_log knows nothing of end."""
        if self.path:
            result = self.run(time.time(), live_queue_uniqueids=item.live_queue_uniqueids,
                              open_rows_too=True)
        else:  # no queue_log configured: only what is gone can be closed
            result = ReconcileResult()
        with session_scope(self.session_factory) as session:
            listed = datetime.fromtimestamp(item.listed_at, UTC)
            closed = close_vanished_calls(session, live_call_ids=set(item.live_call_ids),
                                          seen_before=listed, now=datetime.now(UTC))
            gone = [(row.call_id, row.queue, row.agent_interface) for row in closed]
        if gone:
            log.info("PBX record: %d calls that ended while the bridge was away closed "
                     "(no queue_log lines)", len(gone))
        self.stats["closed"] += len(gone)
        result.queues.update(q for _, q, _ in gone if q)
        return result, gone

