"""Writing the batches of an import, in order, each in a savepoint.

A batch the database rejects (a unique serial number used twice, say) is redone row
by row, each row in its own savepoint, so only the offending rows are skipped and a
row is never half-written. On PostgreSQL this runs in a background thread: the
database then works on one batch while the reading thread checks the next (the
driver releases the GIL while it waits), which is most of an import's wall time.
SQLite connections stay in the thread that made them, so there it runs inline.
"""

from __future__ import annotations

import queue
import threading

from sqlalchemy.exc import DBAPIError

from callcenter.imports.rows import ImportContext

#: Batches read ahead of the writer, at most (bounds memory).
READ_AHEAD = 2


class BatchWriter:
    """Writes submitted batches in order; ``close()`` waits and returns the totals.

    ``totals`` is an ImportResult owned by the writer (never touched by the reading
    thread), merged into the import's result at the end.
    """

    def __init__(self, ctx: ImportContext, spec, totals, *, threaded: bool):
        self.ctx = ctx
        self.spec = spec
        self.totals = totals
        self._error: BaseException | None = None
        self._queue: queue.Queue | None = None
        if threaded:
            self._queue = queue.Queue(maxsize=READ_AHEAD)
            self._thread = threading.Thread(target=self._run, name="import-writer",
                                            daemon=True)
            self._thread.start()

    def submit(self, batch: list) -> None:
        if not batch:
            return
        if self._queue is None:
            write_batch(self.ctx, self.spec, batch, self.totals)
            return
        if self._error is not None:
            raise self._error
        self._queue.put(batch)

    def close(self, *, raise_errors: bool = True):
        if self._queue is not None:
            self._queue.put(None)
            self._thread.join()
            self._queue = None
        if raise_errors and self._error is not None:
            raise self._error
        return self.totals

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._error is not None:
                continue  # keep draining, so the reader never blocks on a full queue
            try:
                write_batch(self.ctx, self.spec, batch, self.totals)
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                self._error = exc


def write_batch(ctx: ImportContext, spec, batch: list, totals) -> None:
    session = ctx.session
    try:
        with session.begin_nested():
            outcome = spec.write(ctx, batch)
    except DBAPIError:
        # Something in this batch broke a constraint: find which rows, one at a time.
        outcome = None
    if outcome is not None:
        _count(outcome, totals)
        return
    for row in batch:
        try:
            with session.begin_nested():
                one = spec.write(ctx, [row])
        except DBAPIError as exc:
            field_name, problem = spec.explain(exc)
            totals.add_error(row.line, field_name, problem)
            totals.skipped += 1
            continue
        _count(one, totals)


def _count(outcome, totals) -> None:
    totals.created += outcome.created
    totals.updated += outcome.updated
    totals.unchanged += outcome.unchanged
    for line, field_name, problem in outcome.errors:
        totals.add_error(line, field_name, problem)
        totals.skipped += 1
