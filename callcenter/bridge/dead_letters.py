"""The bridge's dead letter: what could not be written after a long outage.

The bridge retries a failed write with backoff (``EffectWorker``); when the database or
Redis stays away longer than ``BRIDGE_DEAD_LETTER_AFTER`` seconds, the batch is kept
here instead of being lost: one JSON line per item in
``<instance>/dead-letters/bridge-<day>.jsonl``. A file, because the database may be
what is down; the instance directory is shared by every process of the product (the
compose volume), so the web app shows the count to admins (``/healthz``, the admin's
Dead letters page) and ``callcenter dead-letters replay`` writes the call-log rows back
once the database answers (idempotent: a row is upserted by its Linkedid).

Only call-log items are replayed: the screen pops and live wallboard state they held
are long stale by then, and the reconnect's resync and the queue_log reconciliation
(``callcenter.bridge.pbx_record``) have rebuilt them; they are kept for the record.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

DIRECTORY = "dead-letters"
#: Items whose replay writes a call-log row; every other kind is only kept.
REPLAYABLE = frozenset(("CallUpdated", "CallFinished"))


def dead_letter_dir(instance_path: Path) -> Path:
    return Path(instance_path) / DIRECTORY


def _jsonable(item: Any) -> Any:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return dataclasses.asdict(item)
    if isinstance(item, dict):
        return item
    return repr(item)


class DeadLetterBox:
    """Appends failed batches to the day's file (thread-safe: one write per batch, and
    O_APPEND keeps lines whole)."""

    def __init__(self, instance_path: Path) -> None:
        self.directory = dead_letter_dir(instance_path)

    def put(self, worker: str, batch: list[Any], error: BaseException) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        now = time.time()
        day = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d")
        lines = []
        for item in batch:
            lines.append(json.dumps({
                "at": now, "worker": worker, "kind": type(item).__name__,
                "error": f"{type(error).__name__}: {str(error)[:300]}",
                "item": _jsonable(item)}, ensure_ascii=False, default=str))
        path = self.directory / f"bridge-{day}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            os.write(fd, ("\n".join(lines) + "\n").encode())
        finally:
            os.close(fd)
        log.error("bridge worker %s: gave up after the outage; %d items kept in the dead "
                  "letter %s (callcenter dead-letters replay)", worker, len(batch), path)


def read_dead_letters(instance_path: Path) -> list[dict[str, Any]]:
    """Every kept item, oldest first (a line that does not parse is reported as such)."""
    items = []
    directory = dead_letter_dir(instance_path)
    if not directory.is_dir():
        return items
    for path in sorted(directory.glob("bridge-*.jsonl")):
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    entry = json.loads(line)
                except ValueError:
                    entry = {"kind": "unreadable", "item": None}
                if not isinstance(entry, dict):
                    entry = {"kind": "unreadable", "item": None}
                entry["file"], entry["line"] = path.name, number
                items.append(entry)
    return items


def count_dead_letters(instance_path: Path) -> int:
    directory = dead_letter_dir(instance_path)
    if not directory.is_dir():
        return 0
    total = 0
    for path in directory.glob("bridge-*.jsonl"):
        with open(path, "rb") as handle:
            total += sum(1 for _ in handle)
    return total


def replay_dead_letters(session: Session, instance_path: Path, *, region: str
                        ) -> dict[str, int]:
    """Write the kept call-log items back (idempotent), then move the files to
    ``replayed/``. The caller commits; on an exception nothing is moved."""
    from callcenter.calls.recording import record_call

    counts = {"replayed": 0, "kept_only": 0, "unreadable": 0}
    directory = dead_letter_dir(instance_path)
    files = sorted(directory.glob("bridge-*.jsonl")) if directory.is_dir() else []
    for entry in read_dead_letters(instance_path):
        item = entry.get("item")
        if entry.get("kind") in REPLAYABLE and isinstance(item, dict) \
                and isinstance(item.get("summary"), dict):
            record_call(session, item["summary"], region=region)
            counts["replayed"] += 1
        elif entry.get("kind") == "unreadable":
            counts["unreadable"] += 1
        else:
            counts["kept_only"] += 1
    session.flush()
    counts["files"] = len(files)
    return counts


def archive_dead_letters(instance_path: Path) -> None:
    """After a committed replay: the files move to ``replayed/`` (kept, not counted)."""
    directory = dead_letter_dir(instance_path)
    if not directory.is_dir():
        return
    done = directory / "replayed"
    done.mkdir(exist_ok=True)
    for path in directory.glob("bridge-*.jsonl"):
        path.rename(done / f"{path.stem}-{int(time.time())}{path.suffix}")
