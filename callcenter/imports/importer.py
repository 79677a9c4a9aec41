"""Streaming CSV import of customers, contacts and installed products.

The file is read one record at a time with the ``csv`` module (never whole), each
record is checked in Python, and the good ones are written in batches: one
``INSERT ... ON CONFLICT (external_id) DO UPDATE`` per batch, so re-importing the
same file changes nothing and creates no duplicates. A batch that the database
rejects is redone row by row, each row in its own savepoint, so only the offending
rows are skipped. A row is written whole (record, phones, history) or not at all.

Columns per kind (header names, any order, case-insensitive; ``*`` = required):

customers
    external_id*, name*, phones (several, separated by ``;`` ``|`` ``,`` or ``、``),
    tax_id, region, industry, lifecycle (potential|target|current|lost),
    tier (vip|major|ordinary|small), email, responsible (a username),
    department (a path of names, "Service/Beijing"), notes, is_placeholder (yes/no)
contacts
    external_id*, customer_external_id*, name*, position, email, phones
products
    external_id*, serial_number*, model*, customer_external_id* (the end user),
    warranty_type (none|standard|extended|contract), warranty_end, installed_on
    (dates as YYYY-MM-DD; YYYY/MM/DD and YYYY.MM.DD are accepted too)

Rules a user can rely on:

- Line numbers are physical lines of the file, the header being line 1; a record
  whose quoted cell spans lines is reported at its first line.
- An empty cell never erases data: it means "no value" (the default for a new
  record, the current value for an existing one). A non-empty ``phones`` cell
  replaces the record's own phone list.
- A later row with the same external id as an earlier one wins (it updates it).
- Cells that look like spreadsheet formulas (``=...``, ``@...``, ``+cmd``) are
  rejected, so a later export cannot turn imported data into code.
- A cell holding a NUL byte fails its row (reported like any bad row); only a file
  whose first line holds one, or with NULs all over its start, is refused as binary.
- Files that are not UTF-8 but decode as GB18030 (Excel in Chinese) are read as
  such; stray bytes that are not UTF-8 make only their row fail. A BOM is dropped.
  The delimiter is ``,``, ``;`` or a tab, taken from the header line.
- The importer only flushes and uses savepoints: the caller's unit of work commits.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple

from sqlalchemy.orm import Session

from callcenter.core.errors import Problem
from callcenter.core.messages import describe, describer
from callcenter.customers.services import require
from callcenter.imports.batches import BatchWriter
from callcenter.imports.rows import ImportContext, RowInvalid
from callcenter.imports.write import KINDS
from callcenter.users.models import User
from callcenter.users.permissions import Permission

__all__ = ["KINDS", "ImportFileError", "ImportResult", "RowError", "import_csv"]

#: Rows per INSERT statement: big enough to amortise round trips, small enough that a
#: rejected batch is cheap to redo row by row.
DEFAULT_BATCH_SIZE = 500
#: A physical line longer than this is not a customer record; we skip it unread.
MAX_LINE_CHARS = 1_000_000
#: How many per-row errors a result keeps (the count goes on beyond).
MAX_ERRORS_KEPT = 10_000
_SNIFF_BYTES = 64 * 1024
#: English words of a problem, for ``str()`` of errors (logs, tracebacks).
ENGLISH = describer(None)

ProgressCallback = Callable[[int, int | None, int | None], None]


class ImportFileError(ValueError):
    """The file as a whole is unusable (missing, empty, not a CSV, bad header): what is
    wrong as a catalogue code and its values (``problem``), worded where it is shown;
    ``str()`` is the English text, for logs."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(ENGLISH(problem))


class RowError(NamedTuple):
    """A rejected row: its line, the column at fault ("" for the whole line) and what is
    wrong, as a catalogue code and parameters (worded where it is shown)."""

    line: int
    field: str
    problem: Problem

    @property
    def code(self) -> str:
        return self.problem.code

    @property
    def message(self) -> str:
        """The text in the current language (English outside a request)."""
        return describe(self.problem)

    def sort_key(self) -> tuple[int, str, str]:
        return self.line, self.field, self.problem.code


@dataclass
class ImportResult:
    kind: str
    encoding: str = "utf-8"
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    #: Errors beyond MAX_ERRORS_KEPT are only counted.
    errors_total: int = 0
    #: What the reader should know about the whole file (how it was read), as problems.
    notices: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    def add_error(self, line: int, field_name: str, problem: Problem) -> None:
        self.errors_total += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(RowError(line, field_name, problem))

    def summary(self) -> dict:
        return {"kind": self.kind, "encoding": self.encoding, "rows_read": self.rows_read,
                "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "skipped": self.skipped,
                "errors_total": self.errors_total,
                "notices": [[n.code, dict(n.params)] for n in self.notices],
                "seconds": round(self.seconds, 3)}


# --- reading ----------------------------------------------------------------------

class _CountingReader(io.RawIOBase):
    """Counts the bytes handed to the decoder, for the progress bar."""

    def __init__(self, binary: IO[bytes]):
        self._binary = binary
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._binary.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


#: More NUL bytes than this share of the file's start: binary data (or UTF-16 without a
#: BOM), not a CSV file. Fewer: a stray NUL in some cell, which fails only its row.
BINARY_NUL_SHARE = 0.1


def _looks_binary(sample: bytes) -> bool:
    first_line = sample.split(b"\n", 1)[0]
    return b"\x00" in first_line or sample.count(b"\x00") > len(sample) * BINARY_NUL_SHARE


def _choose_encoding(sample: bytes) -> tuple[str, Problem | None]:
    """(codec, notice) for a file starting with ``sample``."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", Problem("import.read_utf16")
    if sample.startswith(b"PK\x03\x04") or sample.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(Problem("import.spreadsheet"))
    if _looks_binary(sample):
        raise ImportFileError(Problem("import.binary"))
    for codec in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(codec)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        if codec == "utf-8":
            return "utf-8-sig", None
        return "gb18030", Problem("import.read_gb18030")
    # Mostly UTF-8 with a few bad bytes: keep them escaped, their rows are rejected.
    return "utf-8-sig", None


@contextmanager
def _open_text(source) -> Iterator[tuple[IO[str], _CountingReader | None, int | None,
                                         str, Problem | None]]:
    """Text stream over ``source`` (path, binary or text file object)."""
    if isinstance(source, io.TextIOBase):
        yield source, None, None, getattr(source, "encoding", None) or "text", None
        return
    owned = None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            owned = source = path.open("rb")
        except OSError as exc:
            raise ImportFileError(Problem("import.cannot_open", {
                "name": path.name, "reason": exc.strerror or ""})) from exc
    try:
        total = _size_of(source)
        counter = _CountingReader(source)
        buffered = io.BufferedReader(counter, buffer_size=_SNIFF_BYTES)
        codec, notice = _choose_encoding(buffered.peek(_SNIFF_BYTES)[:_SNIFF_BYTES])
        text = io.TextIOWrapper(buffered, encoding=codec, errors="surrogateescape",
                                newline="")
        yield text, counter, total, codec.removesuffix("-sig"), notice
    finally:
        if owned is not None:
            owned.close()


def _size_of(binary) -> int | None:
    try:
        if hasattr(binary, "fileno"):
            return os.fstat(binary.fileno()).st_size - binary.tell()
    except (OSError, io.UnsupportedOperation):
        pass
    try:
        here = binary.tell()
        end = binary.seek(0, io.SEEK_END)
        binary.seek(here)
        return end - here
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


class _Lines:
    """Physical lines for csv.reader; over-long lines are swallowed and remembered."""

    def __init__(self, text: IO[str]):
        self._text = text
        self.overlong: set[int] = set()
        self._number = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self._text.readline(MAX_LINE_CHARS)
        if not line:
            raise StopIteration
        self._number += 1
        if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            self.overlong.add(self._number)
            while line and not line.endswith(("\n", "\r")):
                line = self._text.readline(MAX_LINE_CHARS)
            return "\n"
        return line


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _read_header(cells: list[str], kind: str) -> list[str]:
    spec = KINDS[kind]
    names = [c.strip().lower().lstrip("\ufeff") for c in cells]
    if not any(names):
        raise ImportFileError(Problem("import.no_header"))
    unknown = [n for n in names if n and n not in spec.columns]
    if unknown:
        raise ImportFileError(Problem("import.unknown_columns", {
            "columns": unknown, "allowed": list(spec.columns)}))
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:
        raise ImportFileError(Problem("import.columns_twice", {"columns": dupes}))
    missing = [c for c in spec.required if c not in names]
    if missing:
        raise ImportFileError(Problem("import.columns_missing", {"columns": missing}))
    return names


def _records(text: IO[str], kind: str, result: ImportResult
             ) -> Iterator[tuple[int, dict[str, str] | None]]:
    """(line, cells by column) per record; (line, None) for a record already rejected."""
    lines = _Lines(text)
    first = next(lines, None)
    if first is None:
        raise ImportFileError(Problem("import.empty"))
    reader = csv.reader(itertools.chain([first], lines), delimiter=_delimiter(first))
    try:
        header = _read_header(next(reader), kind)
    except (csv.Error, StopIteration) as exc:
        raise ImportFileError(Problem("import.bad_header", {"detail": str(exc)})) from exc
    width = len(header)
    done = reader.line_num
    while True:
        line = done + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            done = reader.line_num
            result.add_error(line, "", _malformed(exc))
            yield line, None
            continue
        done = reader.line_num
        if line in lines.overlong:
            result.add_error(line, "", Problem("import.line_too_long",
                                               {"max": MAX_LINE_CHARS}))
            yield line, None
            continue
        if not cells or not any(c.strip() for c in cells):
            continue  # blank lines are not records
        nul = next((i for i, c in enumerate(cells) if "\x00" in c), None)
        if nul is not None:
            # A NUL byte fails its row (no column can hold it), never the whole file.
            column = header[nul] if nul < width else ""
            result.add_error(line, column, Problem("nul_char"))
            yield line, None
            continue
        if len(cells) < width:
            result.add_error(line, "", Problem("import.cell_count",
                                                   {"cells": len(cells), "width": width}))
            yield line, None
            continue
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            result.add_error(line, "", Problem("import.cell_count",
                                                   {"cells": len(cells), "width": width}))
            yield line, None
            continue
        yield line, {name: cell for name, cell in zip(header, cells, strict=False) if name}


def _malformed(exc: csv.Error) -> Problem:
    """A record the csv module cannot read. Its message is English, so it is kept as a
    value for programs (``detail``) and worded by the catalogue."""
    detail = str(exc)
    if "field limit" in detail:
        return Problem("import.cell_too_large", {"max": csv.field_size_limit(),
                                                 "detail": detail})
    return Problem("import.malformed", {"detail": detail})


# --- writing ----------------------------------------------------------------------

def import_csv(session: Session, actor: User | None, kind: str, source, *,
               region: str, batch_size: int = DEFAULT_BATCH_SIZE,
               progress: ProgressCallback | None = None) -> ImportResult:
    """Import ``source`` (a path or a file object) as ``kind`` on behalf of ``actor``.

    ``actor`` None is the operator at the command line: no permission or scope check,
    and the history records no user. ``progress(rows_done, bytes_done, bytes_total)``
    is called after every batch (bytes are None for text streams / unknown sizes).
    Raises ImportFileError when the file as a whole is unusable; never for a bad row.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if actor is not None:
        require(actor, Permission.CUSTOMER_IMPORT)
    started = time.perf_counter()
    result = ImportResult(kind=kind)
    spec = KINDS[kind]
    ctx = ImportContext(session, actor, region)
    ctx.prepare(kind)
    with _open_text(source) as (text, counter, total, encoding, notice):
        result.encoding = encoding
        if notice:
            result.notices.append(notice)
        # On PostgreSQL the batches are written by a second thread, so that the database
        # works on one batch while this one reads and checks the next.
        writer = BatchWriter(ctx, spec, ImportResult(kind=kind),
                             threaded=ctx.dialect == "postgresql")
        try:
            _read_and_submit(ctx, spec, text, result, writer, batch_size,
                             lambda: progress and progress(
                                 result.rows_read, counter.count if counter else None, total))
        except BaseException:
            writer.close(raise_errors=False)
            raise
        _merge(result, writer.close())
    result.seconds = time.perf_counter() - started
    return result


def _read_and_submit(ctx: ImportContext, spec, text, result: ImportResult,
                     writer: BatchWriter, batch_size: int, report: Callable[[], None]) -> None:
    batch: list = []
    keys: set[str] = set()
    for line, cells in _records(text, spec.name, result):
        result.rows_read += 1
        if cells is None:
            result.skipped += 1
            continue
        try:
            row = spec.clean(ctx, line, cells)
        except RowInvalid as exc:
            result.add_error(line, exc.field, exc.problem)
            result.skipped += 1
            continue
        if row.key in keys:
            # The same external id twice: write the first, then let the second update it.
            writer.submit(batch)
            batch, keys = [], set()
        batch.append(row)
        keys.add(row.key)
        if len(batch) >= batch_size:
            writer.submit(batch)
            batch, keys = [], set()
            report()
    writer.submit(batch)
    report()


def _merge(result: ImportResult, written: ImportResult) -> None:
    result.created += written.created
    result.updated += written.updated
    result.unchanged += written.unchanged
    result.skipped += written.skipped
    result.errors_total += written.errors_total
    result.errors = sorted(result.errors + written.errors,
                           key=RowError.sort_key)[:MAX_ERRORS_KEPT]
