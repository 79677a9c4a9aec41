"""The call log checked against the PBX's own record, and repaired from it.

The bridge writes the call log from AMI events as they happen. What it cannot see (it
was killed, cut from AMI, or could not write while Redis or the database was down) the
PBX still wrote into its queue_log (``telephony.queuelog``). After every (re)connect
and every few seconds the bridge hands the calls the queue_log finished to
:func:`reconcile_calls`, which makes each row agree with the PBX per call on outcome,
agent, wait and talk time; a call the log never heard of is added. After a reconnect,
rows of calls the PBX no longer has and the queue_log says nothing of are closed by
:func:`close_vanished_calls`.

Rows are found by ``queue_uniqueid`` (queue_log's callid), so a call is never doubled:
a call only the queue_log knows gets its callid as ``call_id``, and the bridge adopts
that row if it later reports the call under its Linkedid (``recording.record_call``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord, Direction, Outcome, PbxRecordCursor
from callcenter.calls.recording import record_call
from callcenter.users.models import User
from telephony.queuelog import PbxCall

#: queue_log counts whole seconds, the bridge fractions: a difference up to this is the
#: same call time, above it the PBX's figure replaces the log's.
TOLERANCE_S = 1.5
CHUNK = 500


@dataclass
class ReconcileResult:
    checked: int = 0
    added: int = 0
    corrected: int = 0
    #: Queues whose calls changed (their wallboard figures must be pushed again).
    queues: set[str] = field(default_factory=set)
    #: The rows changed or added.
    changed: list[CallRecord] = field(default_factory=list)
    #: callids left alone because their row is still "in progress" (``skip_open``): the
    #: bridge is following them, or they wait for the next reconnect's repair.
    left_open: list[str] = field(default_factory=list)


def _at(epoch: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def _agent_interface(name: str, interfaces: Mapping[str, str]) -> str | None:
    """queue_log's agent column (a member name, or the interface itself) as an interface."""
    if not name or name == "NONE":
        return None
    return interfaces.get(name) or (name if "/" in name else None)


def _differs(stored: float | None, pbx: int | None) -> bool:
    if pbx is None:
        return False
    return stored is None or abs(stored - pbx) > TOLERANCE_S


def reconcile_calls(session: Session, calls: Iterable[PbxCall], *,
                    member_interfaces: Mapping[str, str], region: str,
                    skip_open: bool = True) -> ReconcileResult:
    """Make the call log agree with finished PBX calls; add the ones it lacks.

    ``member_interfaces`` maps queue member names (queue_log's agent column) to PBX
    interfaces. ``skip_open``: leave rows still "in progress" to the bridge that is
    following them (False after a reconnect, for calls the PBX no longer has).
    Idempotent: a second run with the same calls changes nothing. Flushes, never commits.
    """
    calls = [c for c in calls if c.final]
    result = ReconcileResult(checked=len(calls))
    for start in range(0, len(calls), CHUNK):
        chunk = calls[start:start + CHUNK]
        rows = {row.queue_uniqueid: row for row in session.scalars(
            select(CallRecord).where(CallRecord.queue_uniqueid.in_([c.callid for c in chunk])))}
        for pbx in chunk:
            row = rows.get(pbx.callid)
            if row is None:
                row = _partly_seen(session, pbx)
                if row is not None:
                    _correct(session, row, pbx, member_interfaces)
                    result.corrected += 1
                else:
                    row = _add(session, pbx, member_interfaces, region)
                    result.added += 1
            elif skip_open and row.outcome == Outcome.IN_PROGRESS:
                result.left_open.append(pbx.callid)
                continue
            elif not _correct(session, row, pbx, member_interfaces):
                continue
            else:
                result.corrected += 1
            result.changed.append(row)
            result.queues.update(q for q in (pbx.queue, row.queue) if q)
    session.flush()
    return result


#: Caller IDs that name nobody: never used to tie rows together.
_NO_NUMBER = frozenset(("", "unknown", "anonymous", "<unknown>"))
#: How long before its ENTERQUEUE a call may have started (IVR, announcements).
_BEFORE_QUEUE_S = 120


def _partly_seen(session: Session, pbx: PbxCall) -> CallRecord | None:
    """The row of this call if the bridge saw its start but not its queue join (the link
    went down in between): no queue callid, never queued by what the bridge saw, the
    same caller number, started shortly before the ENTERQUEUE. Only an unambiguous
    match counts; otherwise the queue_log's call gets a row of its own."""
    if pbx.caller in _NO_NUMBER or not pbx.entered_at:
        return None
    entered = _at(pbx.entered_at)
    rows = session.scalars(select(CallRecord).where(
        CallRecord.queue_uniqueid.is_(None), CallRecord.queued_at.is_(None),
        # a click-to-dial to the same number (the customer calling back) is another call
        CallRecord.direction == Direction.INBOUND,
        CallRecord.caller_number == pbx.caller,
        CallRecord.outcome.in_((Outcome.IN_PROGRESS, Outcome.UNANSWERED)),
        CallRecord.started_at >= entered - timedelta(seconds=_BEFORE_QUEUE_S),
        CallRecord.started_at <= entered + timedelta(seconds=2)).limit(2)).all()
    if len(rows) != 1:
        return None
    row = rows[0]
    row.queue_uniqueid = pbx.callid
    row.queued_at = entered
    return row


def _add(session: Session, pbx: PbxCall, interfaces: Mapping[str, str],
         region: str) -> CallRecord:
    agents = [a for a in (_agent_interface(n, interfaces) for n in pbx.agents) if a]
    return record_call(session, {
        "call_id": pbx.callid, "queue_uniqueid": pbx.callid,
        "caller_number": "" if pbx.caller in ("", "unknown") else pbx.caller,
        "queue": pbx.queue, "agent_interface": agents[-1] if agents else None,
        "agents": agents, "outcome": pbx.outcome, "started_at": pbx.entered_at,
        "queued_at": pbx.entered_at, "answered_at": pbx.answered_at,
        "ended_at": pbx.ended_at, "wait_s": pbx.wait_s, "talk_s": pbx.talk_s,
    }, region=region)


def _correct(session: Session, row: CallRecord, pbx: PbxCall,
             interfaces: Mapping[str, str]) -> bool:
    """The PBX's values where the row disagrees; True when anything changed."""
    changed = False
    outcome = Outcome(pbx.outcome)
    if row.outcome != outcome:
        row.outcome, changed = outcome, True
    if row.ended_at is None:
        row.ended_at, changed = _at(pbx.ended_at), True
    if _differs(row.wait_s, pbx.wait_s):
        row.wait_s, changed = float(pbx.wait_s), True
    if _differs(row.talk_s, pbx.talk_s):
        row.talk_s, changed = float(pbx.talk_s), True
    if pbx.answered_at and row.answered_at is None:
        row.answered_at, changed = _at(pbx.answered_at), True
    if row.queue is None and pbx.queue:
        row.queue, changed = pbx.queue, True
    agent = _agent_interface(pbx.agents[-1], interfaces) if pbx.agents else None
    if agent is not None and row.agent_interface != agent:
        row.agent_interface = agent
        row.agent_id = session.scalar(select(User.id).where(User.interface == agent))
        if agent not in (row.agents or []):
            row.agents = [*(row.agents or []), agent]
        changed = True
    return changed


def close_vanished_calls(session: Session, *, live_call_ids: set[str], seen_before: datetime,
                         now: datetime) -> list[CallRecord]:
    """Rows still "in progress" that were started before ``seen_before`` (the moment the
    PBX listed its live channels) and are not among ``live_call_ids``: the PBX ended
    them while nobody listened, and its queue_log says nothing of them (the caller hung
    up before any queue). They end now, as the call log's best knowledge."""
    rows = session.scalars(select(CallRecord).where(
        CallRecord.outcome == Outcome.IN_PROGRESS,
        CallRecord.started_at < seen_before)).all()
    closed = []
    for row in rows:
        if row.call_id in live_call_ids:
            continue
        row.ended_at = now
        if row.answered_at is not None:
            row.outcome = Outcome.ANSWERED
            row.talk_s = row.talk_s or round((now - row.answered_at).total_seconds(), 3)
        else:
            row.outcome = Outcome.ABANDONED if row.queued_at is not None \
                else Outcome.UNANSWERED
            if row.queued_at is not None and row.wait_s is None:
                row.wait_s = round((now - row.queued_at).total_seconds(), 3)
        closed.append(row)
    session.flush()
    return closed


def load_cursor(session: Session, source: str) -> tuple[int | None, int] | None:
    row = session.get(PbxRecordCursor, source)
    return None if row is None else (row.inode, row.offset)


def save_cursor(session: Session, source: str, inode: int | None, offset: int) -> None:
    row = session.get(PbxRecordCursor, source)
    if row is None:
        session.add(PbxRecordCursor(source=source, inode=inode, offset=offset))
    elif (row.inode, row.offset) != (inode, offset):
        row.inode, row.offset = inode, offset
    session.flush()


def summary_of(row: CallRecord) -> dict[str, Any]:
    """A row as a pop payload needs it (call.ended after a reconcile)."""
    return {"call_id": row.call_id, "queue": row.queue, "outcome": row.outcome.value,
            "talk_s": row.talk_s, "wait_s": row.wait_s}
