"""Asterisk's queue_log: the PBX's own record of every queued call, read as it grows.

app_queue appends one line per queue event, ``epoch|callid|queue|agent|verb|data...``,
and writes it whatever happens to the programs that watch the PBX: a bridge killed or
cut from AMI, a Redis or a database down. So it is the record a call log is checked and
repaired against after an outage (``callcenter.bridge.pbx_record``).

* ``callid`` is the Uniqueid of the channel that ran Queue() (not the Linkedid);
* ``agent`` is the member's name (``membername`` in queues.conf), or the interface when
  no name was given, or ``NONE``;
* the data fields per verb (app_queue.c; the captures' queue_log files)::

    ENTERQUEUE       url|callerid|position
    CONNECT          holdtime|member channel uniqueid|ringtime
    COMPLETEAGENT    holdtime|talktime|origposition      (COMPLETECALLER: the same)
    BLINDTRANSFER    exten|context|holdtime|talktime|origposition
    ATTENDEDTRANSFER method|data(1 or 2 fields)|holdtime|talktime|origposition
    ABANDON          position|origposition|waittime
    EXITWITHTIMEOUT  position|origposition|waittime       (EXITEMPTY: the same)
    EXITWITHKEY      key|position|origposition|waittime

Times are app_queue's whole seconds. A call is every stay of one callid: its wait is the
sum of the stays' hold and wait times, its talk the sum of their talk times, and its
outcome ``answered`` (the last agent did not transfer it away), ``transferred`` or
``abandoned`` (no stay connected).

Nothing here trusts the file: a line that does not parse is counted and skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

EXIT_VERBS = frozenset(("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"))
COMPLETE_VERBS = frozenset(("COMPLETEAGENT", "COMPLETECALLER"))
TRANSFER_VERBS = frozenset(("BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFER"))
#: verb -> the data field holding the seconds waited / talked (negative: from the end).
_HOLD = {"CONNECT": 0}
_WAIT = {verb: -1 for verb in EXIT_VERBS}
_TALK = {"COMPLETEAGENT": 1, "COMPLETECALLER": 1, **{verb: -2 for verb in TRANSFER_VERBS}}
MAX_LINE = 4096
#: A whole second count above this is a clock error, not a call.
MAX_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class QueueLogLine:
    time: int
    callid: str
    queue: str
    agent: str
    verb: str
    data: tuple[str, ...]

    def seconds(self, index: int) -> int | None:
        try:
            value = int(self.data[index])
        except (IndexError, ValueError):
            return None
        return value if 0 <= value <= MAX_SECONDS else None


def parse_line(text: str) -> QueueLogLine | None:
    """One line, or None when it is not a queue_log line of a call (or is garbage)."""
    text = text.rstrip("\r\n")
    if not text or len(text) > MAX_LINE or "\x00" in text:
        return None
    parts = text.split("|")
    if len(parts) < 5:
        return None
    try:
        epoch = int(parts[0])
    except ValueError:
        return None
    callid, queue, agent, verb = parts[1], parts[2], parts[3], parts[4]
    if epoch <= 0 or not callid or callid == "NONE" or not queue or queue == "NONE":
        return None
    return QueueLogLine(epoch, callid, queue, agent, verb, tuple(parts[5:]))


@dataclass
class PbxCall:
    """What the queue_log says of one callid, over all its stays."""

    callid: str
    first_offset: int
    caller: str = ""
    queues: list[str] = field(default_factory=list)
    #: The agent column of each CONNECT, in order (member names or interfaces).
    agents: list[str] = field(default_factory=list)
    entered_at: int | None = None
    answered_at: int | None = None
    ended_at: int | None = None
    wait_s: int | None = None
    talk_s: int | None = None
    open_stays: int = 0
    last_connect_transferred: bool = False
    last_line_at: int = 0

    @property
    def final(self) -> bool:
        return self.open_stays == 0 and self.ended_at is not None

    @property
    def outcome(self) -> str:
        if not self.final:
            return "in_progress"
        if not self.agents:
            return "abandoned"
        return "transferred" if self.last_connect_transferred else "answered"

    @property
    def queue(self) -> str | None:
        return self.queues[-1] if self.queues else None

    def add(self, line: QueueLogLine) -> bool:
        """Apply one line; False when it fits no stay of this call (counted by the book)."""
        verb = line.verb
        self.last_line_at = max(self.last_line_at, line.time)
        if verb == "ENTERQUEUE":
            self.queues.append(line.queue)
            self.open_stays += 1
            self.entered_at = line.time if self.entered_at is None else self.entered_at
            caller = line.data[1] if len(line.data) > 1 else ""
            self.caller = self.caller or caller
            return True
        if verb in _HOLD:
            hold = line.seconds(_HOLD[verb])
            self.wait_s = (self.wait_s or 0) + (hold or 0)
            self.agents.append(line.agent)
            self.last_connect_transferred = False
            self.answered_at = self.answered_at or line.time
            return True
        if verb in _WAIT:
            self.wait_s = (self.wait_s or 0) + (line.seconds(_WAIT[verb]) or 0)
        elif verb in _TALK:
            self.talk_s = (self.talk_s or 0) + (line.seconds(_TALK[verb]) or 0)
            self.last_connect_transferred = verb in TRANSFER_VERBS
        else:
            return True  # RINGNOANSWER, PAUSE, ...: nothing a call log keeps
        if self.open_stays <= 0:
            return False
        self.open_stays -= 1
        self.ended_at = line.time
        return True


class QueueLogBook:
    """Lines in, calls out: assembles the stays of each callid as the file grows."""

    def __init__(self) -> None:
        self.calls: dict[str, PbxCall] = {}
        self.stats = {"lines": 0, "skipped": 0, "orphans": 0}

    def add(self, offset: int, text: str) -> None:
        line = parse_line(text)
        self.stats["lines"] += 1
        if line is None:
            self.stats["skipped"] += 1
            return
        call = self.calls.get(line.callid)
        if call is None:
            if line.verb != "ENTERQUEUE":
                # the file began mid-call (or the call was reconciled and forgotten)
                self.stats["orphans"] += 1
                return
            call = self.calls[line.callid] = PbxCall(line.callid, offset)
        if not call.add(line):
            self.stats["orphans"] += 1

    def final_calls(self, ended_by: float) -> list[PbxCall]:
        """Calls whose every stay has ended, the last by ``ended_by`` (epoch seconds)."""
        return [c for c in self.calls.values() if c.final and c.ended_at <= ended_by]

    def forget(self, callids: list[str]) -> None:
        for callid in callids:
            self.calls.pop(callid, None)

    def forget_stale(self, older_than: float) -> int:
        """Drop unfinished calls whose last line is older than ``older_than`` (a stay
        whose end the file never got: the PBX restarted mid-call)."""
        stale = [c.callid for c in self.calls.values()
                 if not c.final and c.last_line_at < older_than]
        self.forget(stale)
        return len(stale)

    def restart_offset(self, end: int) -> int:
        """Where a reader that lost its memory must start again to see every call that
        is still kept (the first line of the oldest), or ``end`` when none is."""
        return min((c.first_offset for c in self.calls.values()), default=end)


class QueueLogTail:
    """Reads the lines appended to a queue_log since the last read.

    A file replaced (a new inode: log rotation) or cut shorter (truncated) is read from
    its start. Only whole lines are returned: a line being written stays for next time.
    """

    def __init__(self, path: str, *, inode: int | None = None, offset: int = 0) -> None:
        self.path = path
        self.inode = inode
        self.offset = offset

    def read(self, max_bytes: int = 4 * 1024 * 1024) -> list[tuple[int, str]]:
        """``[(offset of the line, text)]`` of the complete lines appended; [] when the
        file does not exist (yet)."""
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return []
        with handle:
            stat = os.fstat(handle.fileno())
            if self.inode != stat.st_ino or stat.st_size < self.offset:
                self.inode, self.offset = stat.st_ino, 0
            handle.seek(self.offset)
            chunk = handle.read(max_bytes)
        end = chunk.rfind(b"\n")
        if end < 0:
            if len(chunk) >= max_bytes:  # one absurd line: skip it whole
                self.offset += len(chunk)
            return []
        lines = []
        position = self.offset
        for raw in chunk[:end + 1].split(b"\n")[:-1]:
            lines.append((position, raw.decode("utf-8", "replace")))
            position += len(raw) + 1
        self.offset = position
        return lines

    @staticmethod
    def start_near_end(path: str, window: int) -> tuple[int | None, int]:
        """(inode, offset) of the first whole line of the last ``window`` bytes: where a
        reader with no saved position starts, so a years-old log is not read at once."""
        try:
            with open(path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                if stat.st_size <= window:
                    return stat.st_ino, 0
                handle.seek(stat.st_size - window)
                skipped = handle.readline()
                return stat.st_ino, stat.st_size - window + len(skipped)
        except FileNotFoundError:
            return None, 0
