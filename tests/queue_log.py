"""Asterisk's queue_log: parse it, and compute the per-queue figures a wallboard shows.

A test oracle, not part of the product (which never imports it): the *reference* the
call log and the wallboard's figures are checked against. app_queue writes one line per
queue event, ``epoch|callid|queue|agent|verb|data...`` (``callid`` is the Uniqueid of the
channel running Queue(), ``agent`` the MemberName, or NONE). The data fields per verb
(app_queue.c, and the captures in ``tests/data/asterisk/captures/*/queue_log``)::

    ENTERQUEUE       url|callerid|position
    CONNECT          holdtime|member channel uniqueid|ringtime
    COMPLETEAGENT    holdtime|talktime|origposition      (COMPLETECALLER: the same)
    BLINDTRANSFER    exten|context|holdtime|talktime|origposition
    ATTENDEDTRANSFER method|data(1 or 2 fields)|holdtime|talktime|origposition
    TRANSFER         exten|context|holdtime|talktime[|origposition]   (old Asterisk)
    ABANDON          position|origposition|waittime
    EXITWITHTIMEOUT  position|origposition|waittime
    EXITEMPTY        position|origposition|waittime
    EXITWITHKEY      key|position|origposition|waittime
    RINGNOANSWER     ringtime in ms

The times are app_queue's whole seconds, so the hold/talk/wait figures are counted from
the *last* fields (which is where every verb puts them) rather than from line epochs.

Figures are per *stay* in a queue: an ENTERQUEUE line opens a stay for (callid, queue),
the next CONNECT / exit line of that pair ends its waiting, a completion or transfer
ends its talk. A stay belongs to the period its ENTERQUEUE falls in, so a call offered
before the end of a period and answered after it is still one answered call of that
period (answered never exceeds offered). Lines for a pair without an open ENTERQUEUE
(the log starts mid-call) are counted in ``orphans`` and left out of the figures.

* ``offered``   stays (ENTERQUEUE)
* ``answered``  stays that got a CONNECT
* ``abandoned`` stays that ended without one: ABANDON, EXITWITHTIMEOUT, EXITEMPTY,
  EXITWITHKEY (each also counted on its own: ``abandon``, ``timeout``, ``exit_empty``,
  ``exit_key``)
* ``service_level`` = stays answered with holdtime <= ``threshold`` seconds / offered,
  a fraction 0..1, None when nothing was offered. Abandoned calls count against it
  however short they waited (app_queue's own ServicelevelPerf divides by *completed*
  calls instead; this is the stricter, customary call-center definition). ``<=`` as
  app_queue compares holdtime with ``servicelevel``.
* ``asa``       mean CONNECT holdtime of answered stays (average speed of answer)
* ``aht``       mean talk time of stays that completed (COMPLETEAGENT, COMPLETECALLER,
  BLINDTRANSFER, ATTENDEDTRANSFER, TRANSFER): average handle time (no wrap-up in it)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

EXIT_VERBS = {"ABANDON": "abandon", "EXITWITHTIMEOUT": "timeout", "EXITEMPTY": "exit_empty",
              "EXITWITHKEY": "exit_key"}
COMPLETE_VERBS = frozenset(("COMPLETEAGENT", "COMPLETECALLER"))
TRANSFER_VERBS = frozenset(("BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFER"))
# verb -> (minimum data fields, indexes of the fields that must be whole seconds)
_NUMERIC: dict[str, tuple[int, tuple[int, ...]]] = {
    "CONNECT": (1, (0,)),
    "COMPLETEAGENT": (2, (0, 1)),
    "COMPLETECALLER": (2, (0, 1)),
    "BLINDTRANSFER": (4, (-3, -2)),
    "ATTENDEDTRANSFER": (4, (-3, -2)),
    "TRANSFER": (4, (-3, -2)),
    "ABANDON": (1, (-1,)),
    "EXITWITHTIMEOUT": (1, (-1,)),
    "EXITEMPTY": (1, (-1,)),
    "EXITWITHKEY": (1, (-1,)),
    "RINGNOANSWER": (1, (0,)),
}


@dataclass(frozen=True, slots=True)
class QueueLogRecord:
    time: int
    callid: str
    queue: str
    agent: str
    verb: str
    data: tuple[str, ...]

    def seconds(self, index: int) -> int:
        return int(self.data[index])


@dataclass
class ParsedLog:
    records: list[QueueLogRecord] = field(default_factory=list)
    bad_lines: int = 0


def parse_line(line: str) -> QueueLogRecord | None:
    """One line -> record, or None when it is not a well-formed queue_log line."""
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5 or not parts[4]:
        return None
    try:
        epoch = int(parts[0])
    except ValueError:
        return None
    verb = parts[4]
    data = tuple(parts[5:])
    rule = _NUMERIC.get(verb)
    if rule is not None:
        minimum, numeric = rule
        if len(data) < minimum:
            return None
        for index in numeric:
            value = data[index]
            if not value.isdigit():
                return None
    return QueueLogRecord(epoch, parts[1], parts[2], parts[3], verb, data)


def parse(lines: Iterable[str]) -> ParsedLog:
    """Every line; bad ones are counted in ``bad_lines`` and skipped. Blank lines are
    not counted."""
    result = ParsedLog()
    for line in lines:
        if not line.strip():
            continue
        record = parse_line(line)
        if record is None:
            result.bad_lines += 1
        else:
            result.records.append(record)
    return result


@dataclass
class Stay:
    """One (callid, queue) stay opened by ENTERQUEUE."""

    callid: str
    queue: str
    entered: int
    agent: str | None = None
    holdtime: int | None = None  # CONNECT holdtime
    waittime: int | None = None  # waited before an exit without CONNECT
    exit_verb: str | None = None
    talktime: int | None = None
    end_verb: str | None = None  # COMPLETE*/…TRANSFER


@dataclass
class CallTimes:
    """Everything queue_log says about one callid, over all its stays."""

    callid: str
    queues: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)  # MemberNames that connected, in order
    wait: int = 0  # CONNECT holdtimes + exit wait times
    talk: int = 0
    has_wait: bool = False
    has_talk: bool = False
    outcome: str = "in_progress"  # answered | abandoned | transferred | in_progress

    @property
    def wait_s(self) -> int | None:
        return self.wait if self.has_wait else None

    @property
    def talk_s(self) -> int | None:
        return self.talk if self.has_talk else None


@dataclass
class QueueFigures:
    queue: str
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    abandon: int = 0
    timeout: int = 0
    exit_empty: int = 0
    exit_key: int = 0
    answered_in_threshold: int = 0
    transferred: int = 0
    ring_no_answer: int = 0
    threshold: float = 20.0
    holdtime_total: int = 0
    talk_count: int = 0
    talktime_total: int = 0

    @property
    def service_level(self) -> float | None:
        return self.answered_in_threshold / self.offered if self.offered else None

    @property
    def asa(self) -> float | None:
        return self.holdtime_total / self.answered if self.answered else None

    @property
    def aht(self) -> float | None:
        return self.talktime_total / self.talk_count if self.talk_count else None


def stays(records: Iterable[QueueLogRecord]) -> tuple[list[Stay], int]:
    """(stays in ENTERQUEUE order, lines that matched no open stay)."""
    done: list[Stay] = []
    open_: dict[tuple[str, str], Stay] = {}
    orphans = 0
    for rec in records:
        key = (rec.callid, rec.queue)
        verb = rec.verb
        if verb == "ENTERQUEUE":
            stay = open_[key] = Stay(rec.callid, rec.queue, rec.time)
            done.append(stay)
            continue
        if verb not in _NUMERIC or verb == "RINGNOANSWER":
            continue
        stay = open_.get(key)
        if stay is None:
            orphans += 1
            continue
        if verb == "CONNECT":
            stay.holdtime, stay.agent = rec.seconds(0), rec.agent
        elif verb in EXIT_VERBS:
            stay.waittime, stay.exit_verb = rec.seconds(-1), verb
            del open_[key]
        elif verb in COMPLETE_VERBS:
            stay.talktime, stay.end_verb = rec.seconds(1), verb
            del open_[key]
        else:  # transfers
            stay.talktime, stay.end_verb = rec.seconds(-2), verb
            del open_[key]
    return done, orphans


def call_times(records: Iterable[QueueLogRecord]) -> dict[str, CallTimes]:
    """callid -> hold/talk/wait over all its stays, and the outcome the call log states:
    ``answered`` (the last agent did not transfer it away), ``transferred`` (it left
    through a transfer and no later stay connected), ``abandoned`` (no stay connected),
    ``in_progress`` (a stay is still open at the end of the records)."""
    result: dict[str, CallTimes] = {}
    transferred: dict[str, bool] = {}
    still_open: set[str] = set()
    for stay in stays(records)[0]:
        times = result.get(stay.callid)
        if times is None:
            times = result[stay.callid] = CallTimes(stay.callid)
        times.queues.append(stay.queue)
        if stay.holdtime is not None:
            times.wait += stay.holdtime
            times.has_wait = True
            times.agents.append(stay.agent or "")
            transferred[stay.callid] = stay.end_verb in TRANSFER_VERBS
            if stay.end_verb is None:
                still_open.add(stay.callid)
        elif stay.waittime is not None:
            times.wait += stay.waittime
            times.has_wait = True
        else:
            still_open.add(stay.callid)
        if stay.talktime is not None:
            times.talk += stay.talktime
            times.has_talk = True
    for callid, times in result.items():
        if callid in still_open:
            times.outcome = "in_progress"
        elif times.agents:
            times.outcome = "transferred" if transferred[callid] else "answered"
        else:
            times.outcome = "abandoned"
    return result


def figures(records: Iterable[QueueLogRecord], start: float | None = None,
            end: float | None = None,
            threshold: float | Mapping[str, float] = 20.0) -> dict[str, QueueFigures]:
    """Per-queue figures for stays that entered in ``[start, end)`` (None: unbounded).

    ``threshold`` is the service-level time in seconds, one for all queues or per queue
    name (``PbxQueue.service_level_s``; 20 when a queue is not in the mapping).
    """
    records = list(records)
    result: dict[str, QueueFigures] = {}

    def for_queue(name: str) -> QueueFigures:
        fig = result.get(name)
        if fig is None:
            limit = threshold.get(name, 20.0) if isinstance(threshold, Mapping) else threshold
            fig = result[name] = QueueFigures(name, threshold=float(limit))
        return fig

    def inside(epoch: int) -> bool:
        return (start is None or epoch >= start) and (end is None or epoch < end)

    for stay in stays(records)[0]:
        if not inside(stay.entered):
            continue
        fig = for_queue(stay.queue)
        fig.offered += 1
        if stay.holdtime is not None:
            fig.answered += 1
            fig.holdtime_total += stay.holdtime
            if stay.holdtime <= fig.threshold:
                fig.answered_in_threshold += 1
        elif stay.exit_verb is not None:
            fig.abandoned += 1
            attr = EXIT_VERBS[stay.exit_verb]
            setattr(fig, attr, getattr(fig, attr) + 1)
        if stay.talktime is not None:
            fig.talk_count += 1
            fig.talktime_total += stay.talktime
            if stay.end_verb in TRANSFER_VERBS:
                fig.transferred += 1
    for rec in records:
        if rec.verb == "RINGNOANSWER" and inside(rec.time):
            for_queue(rec.queue).ring_no_answer += 1
    return result
