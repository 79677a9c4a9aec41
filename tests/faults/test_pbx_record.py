"""The PBX's own record (queue_log): read as it grows, and the call log repaired from it.

The reader is checked against the test oracle (tests/queue_log.py) on every captured
queue_log; the repair against rows left as a killed bridge leaves them: missing, still
"in progress", finished with the wrong figures, and a row the bridge reports later.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import queue_log as oracle
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from callcenter.bridge.pbx_record import AfterResync, PbxRecordReconciler
from callcenter.calls.models import CallRecord, Outcome
from callcenter.calls.pbx_record import close_vanished_calls, reconcile_calls
from callcenter.calls.recording import record_call
from telephony.queuelog import QueueLogBook, QueueLogTail, parse_line

CAPTURES = Path(__file__).resolve().parent.parent / "data" / "asterisk" / "captures"
MEMBERS = {"Agent 1": "Local/agent1@agents/n", "Agent 2": "Local/agent2@agents/n",
           "Agent 3": "Local/agent3@agents/n"}


def book_of(text: str) -> QueueLogBook:
    book = QueueLogBook()
    offset = 0
    for line in text.splitlines(keepends=True):
        book.add(offset, line)
        offset += len(line.encode())
    return book


@pytest.mark.parametrize("path", sorted(CAPTURES.glob("*/queue_log")),
                         ids=lambda p: p.parent.name)
def test_the_reader_agrees_with_the_oracle_on_every_capture(path):
    text = path.read_text()
    book = book_of(text)
    expected = oracle.call_times(oracle.parse(text.splitlines()).records)
    assert set(book.calls) == set(expected)
    for callid, times in expected.items():
        call = book.calls[callid]
        assert call.outcome == times.outcome, callid
        assert call.wait_s == times.wait_s and call.talk_s == times.talk_s, callid
        assert call.agents == times.agents, callid


def test_hostile_lines_are_counted_and_skipped():
    book = book_of("garbage\n|||||\nabc|1.1|support|NONE|ENTERQUEUE||1|1\n"
                   "1795455891|1.2|support|NONE|ENTERQUEUE||\x00evil|1\n"
                   + "1795455891|1.3|support|NONE|ENTERQUEUE||" + "9" * 5000 + "|1\n"
                   "1795455893|9.9|support|Agent 1|CONNECT|2|x|1\n"
                   "1795455893|1.4|support|Agent 1|CONNECT|-5|x|1\n")
    assert book.calls == {}
    assert book.stats["skipped"] == 5 and book.stats["orphans"] == 2
    assert parse_line("1795455891|1.5|NONE|NONE|ENTERQUEUE||1|1") is None


def test_the_tail_reads_whole_lines_and_follows_rotation(tmp_path):
    path = tmp_path / "queue_log"
    path.write_text("1|a|q|NONE|ENTERQUEUE||1|1\n2|a|q|NONE|ABAN")
    tail = QueueLogTail(str(path))
    assert [t for _, t in tail.read()] == ["1|a|q|NONE|ENTERQUEUE||1|1"]
    assert tail.read() == []  # the half line waits
    with open(path, "a") as handle:
        handle.write("DON|1|1|3\n")
    assert [t for _, t in tail.read()] == ["2|a|q|NONE|ABANDON|1|1|3"]
    os.rename(path, tmp_path / "queue_log.0")  # rotated: a new file, read from its start
    path.write_text("3|b|q|NONE|ENTERQUEUE||2|1\n")
    assert [(o, t) for o, t in tail.read()] == [(0, "3|b|q|NONE|ENTERQUEUE||2|1")]


ANSWERED = ("1795455891|1795455890.17|support|NONE|ENTERQUEUE||13812345678|1\n"
            "1795455893|1795455890.17|support|Agent 2|CONNECT|2|1795455891.20|2\n"
            "1795455904|1795455890.17|support|Agent 2|COMPLETEAGENT|2|11|1\n")
ABANDONED = ("1795455895|1795455894.31|support|NONE|ENTERQUEUE||013812345678|2\n"
             "1795455905|1795455894.31|support|NONE|ABANDON|1|2|10\n")
OPEN = "1795455897|1795455896.33|support|NONE|ENTERQUEUE||01062345678|2\n"


def test_missing_calls_are_added_and_wrong_ones_corrected_once(session, make_user):
    agent2 = make_user("agent", interface="Local/agent2@agents/n")
    book = book_of(ANSWERED + ABANDONED + OPEN)
    # the bridge saw the abandoned call, but was killed before its end: wrong figures
    record_call(session, {"call_id": "1795455894.30", "queue_uniqueid": "1795455894.31",
                          "caller_number": "013812345678", "queue": "support",
                          "outcome": "answered", "started_at": 1795455894,
                          "ended_at": 1795455899, "wait_s": 3.0}, region="CN")
    calls = book.final_calls(1795455999)
    assert {c.callid for c in calls} == {"1795455890.17", "1795455894.31"}

    result = reconcile_calls(session, calls, member_interfaces=MEMBERS, region="CN")
    assert (result.added, result.corrected, result.queues) == (1, 1, {"support"})
    added = session.scalar(select(CallRecord).where(CallRecord.call_id == "1795455890.17"))
    assert (added.outcome, added.agent_interface, added.agent_id, added.wait_s,
            added.talk_s) == (Outcome.ANSWERED, "Local/agent2@agents/n", agent2.id, 2, 11)
    fixed = session.scalar(select(CallRecord).where(CallRecord.call_id == "1795455894.30"))
    assert (fixed.outcome, fixed.wait_s) == (Outcome.ABANDONED, 10)

    again = reconcile_calls(session, calls, member_interfaces=MEMBERS, region="CN")
    assert (again.added, again.corrected) == (0, 0)
    assert session.scalar(select(func.count()).select_from(CallRecord)) == 2


def test_the_bridge_adopts_a_row_the_reconciler_added(session):
    book = book_of(ANSWERED)
    reconcile_calls(session, book.final_calls(1795455999), member_interfaces=MEMBERS,
                    region="CN")
    # the bridge reports the same call later, under its Linkedid: one row, not two
    record_call(session, {"call_id": "1795455890.16", "queue_uniqueid": "1795455890.17",
                          "queue": "support", "outcome": "answered",
                          "started_at": 1795455890, "ended_at": 1795455904,
                          "wait_s": 2.2, "talk_s": 10.9}, region="CN")
    rows = session.scalars(select(CallRecord)).all()
    assert [(r.call_id, r.queue_uniqueid) for r in rows] == [("1795455890.16",
                                                             "1795455890.17")]


def test_open_rows_are_left_to_the_live_bridge_unless_it_is_a_resync(session):
    record_call(session, {"call_id": "L1", "queue_uniqueid": "1795455890.17",
                          "queue": "support", "started_at": 1795455890}, region="CN")
    calls = book_of(ANSWERED).final_calls(1795455999)
    assert reconcile_calls(session, calls, member_interfaces=MEMBERS,
                           region="CN").corrected == 0
    result = reconcile_calls(session, calls, member_interfaces=MEMBERS, region="CN",
                             skip_open=False)
    row = session.scalar(select(CallRecord))
    assert result.corrected == 1 and row.outcome == Outcome.ANSWERED and row.talk_s == 11


def test_vanished_calls_without_a_pbx_record_are_closed(session):
    now = datetime.now(UTC)
    for call_id, queued in (("gone", True), ("live", True), ("ivr", False)):
        record_call(session, {"call_id": call_id, "started_at": (now - timedelta(minutes=1))
                              .timestamp(), "queued_at": (now - timedelta(seconds=50))
                              .timestamp() if queued else None,
                              "queue": "support" if queued else None}, region="CN")
    closed = close_vanished_calls(session, live_call_ids={"live"}, seen_before=now, now=now)
    assert {r.call_id: r.outcome for r in closed} == {"gone": Outcome.ABANDONED,
                                                      "ivr": Outcome.UNANSWERED}


def test_the_reconciler_keeps_its_place_across_restarts(session_factory, tmp_path):
    path = tmp_path / "queue_log"
    path.write_text(ANSWERED + OPEN)

    def reconciler():
        return PbxRecordReconciler(session_factory, str(path), region="CN",
                                   member_interfaces=lambda: MEMBERS, grace_s=0)

    first = reconciler()
    assert first.run(1795455999).added == 1
    # the open call's ENTERQUEUE is where a restarted bridge must begin again
    second = reconciler()
    with open(path, "a") as handle:
        handle.write("1795455910|1795455896.33|support|NONE|EXITWITHTIMEOUT|1|2|13\n")
    result = second.run(1795455999)
    assert (result.added, result.corrected) == (1, 0)
    with session_factory() as session:
        rows = {r.call_id: r for r in session.scalars(select(CallRecord))}
    assert set(rows) == {"1795455890.17", "1795455896.33"}
    assert rows["1795455896.33"].outcome == Outcome.ABANDONED
    third = reconciler()
    assert (third.run(1795455999).added, third.stats["passes"]) == (0, 1)


def test_after_a_resync_gone_rows_are_repaired_or_closed(session_factory, tmp_path):
    path = tmp_path / "queue_log"
    path.write_text(ANSWERED)
    with session_factory.begin() as session:
        for call_id, quid in (("1795455890.16", "1795455890.17"), ("ivr-call", None)):
            record_call(session, {"call_id": call_id, "queue_uniqueid": quid,
                                  "started_at": 1795455890}, region="CN")
    reconciler = PbxRecordReconciler(session_factory, str(path), region="CN",
                                     member_interfaces=lambda: MEMBERS)
    result, gone = reconciler.after_resync(AfterResync(frozenset(), frozenset(),
                                                       datetime.now(UTC).timestamp()))
    assert result.corrected == 1 and [g[0] for g in gone] == ["ivr-call"]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(CallRecord).where(
            CallRecord.outcome == Outcome.IN_PROGRESS)) == 0


@pytest.fixture
def session_factory(connection):
    """Sessions whose commits are savepoints of the test's rolled-back transaction."""
    # pysqlite opens its transaction lazily, at the first write: a SAVEPOINT before it
    # would be the outermost transaction and its RELEASE a real commit.
    connection.execute(CallRecord.__table__.delete().where(CallRecord.id < 0))
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                        expire_on_commit=False)


def test_a_call_seen_only_in_part_is_one_row_with_the_pbx_figures(session):
    """The AMI link went down between the caller's Newchannel and its QueueCallerJoin:
    the bridge has a row under the Linkedid with no queue callid, the reconciler added
    the queue_log's record under its callid; the resync's guess ties them up."""
    record_call(session, {"call_id": "1795455894.30", "caller_number": "anonymous",
                          "started_at": 1795455894}, region="CN")
    reconcile_calls(session, book_of(ABANDONED).final_calls(1795455999),
                    member_interfaces=MEMBERS, region="CN")
    assert session.scalar(select(func.count()).select_from(CallRecord)) == 2
    record_call(session, {"call_id": "1795455894.30", "outcome": "unanswered",
                          "started_at": 1795455894, "ended_at": 1795455920,
                          "channel_ids": ("1795455894.30", "1795455894.31")}, region="CN")
    rows = session.scalars(select(CallRecord)).all()
    assert [(r.call_id, r.queue_uniqueid, r.outcome, r.wait_s) for r in rows] == [
        ("1795455894.30", "1795455894.31", Outcome.ABANDONED, 10)]


def test_a_row_without_its_queue_join_gets_the_queue_logs_record(session):
    """The link went down before even the queue channel's Newchannel reached the bridge:
    only the caller's number and start time tie the two records, and only when they do
    so unambiguously."""
    record_call(session, {"call_id": "1795455894.30", "caller_number": "013812345678",
                          "started_at": 1795455894}, region="CN")
    record_call(session, {"call_id": "other", "caller_number": "13900000000",
                          "started_at": 1795455894}, region="CN")
    result = reconcile_calls(session, book_of(ABANDONED).final_calls(1795455999),
                             member_interfaces=MEMBERS, region="CN")
    assert (result.added, result.corrected) == (0, 1)
    row = session.scalar(select(CallRecord).where(CallRecord.call_id == "1795455894.30"))
    assert (row.queue_uniqueid, row.outcome, row.wait_s) == ("1795455894.31",
                                                             Outcome.ABANDONED, 10)
    # the resync's guess that comes afterwards changes none of it
    record_call(session, {"call_id": "1795455894.30", "outcome": "unanswered",
                          "started_at": 1795455894, "ended_at": 1795455920}, region="CN")
    assert (row.outcome, row.wait_s) == (Outcome.ABANDONED, 10)
