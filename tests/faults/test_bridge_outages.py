"""The bridge's writes during an outage: retried in order, never dropped; after a long
outage kept in the dead letter and replayed. Pops the PBX contradicts are closed."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from callcenter.bridge.dead_letters import (
    DeadLetterBox,
    count_dead_letters,
    replay_dead_letters,
)
from callcenter.bridge.pop_ledger import LiveLegs, PopChecker, PopLedger, stale_pops
from callcenter.bridge.worker import EffectWorker
from callcenter.calls.models import CallRecord
from callcenter.realtime.agent_calls import read_snapshot
from callcenter.realtime.publish import LivePublisher
from telephony.callstate.effects import CallFinished, CallSummary, CallView


class Flaky:
    """A handler that fails while ``down`` is set, like a database that went away."""

    def __init__(self) -> None:
        self.down = threading.Event()
        self.seen: list = []
        self.calls = 0

    def __call__(self, batch: list) -> None:
        self.calls += 1
        if self.down.is_set():
            raise redis.ConnectionError("Connection refused")
        self.seen.extend(batch)


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_failing_write_is_retried_in_order_and_nothing_is_dropped(tmp_path):
    handler = Flaky()
    box = DeadLetterBox(tmp_path)
    worker = EffectWorker("test", handler, dead_letter=box.put, dead_letter_after_s=60,
                          retry_first_s=0.01, retry_max_s=0.05).start()
    handler.down.set()
    for n in range(50):
        worker.submit(n)
    assert wait_for(lambda: handler.calls >= 5)
    handler.down.clear()
    for n in range(50, 60):
        worker.submit(n)
    assert wait_for(lambda: len(handler.seen) == 60)
    worker.stop()
    assert handler.seen == list(range(60))
    assert worker.retries >= 4 and worker.dead_lettered == 0
    assert count_dead_letters(tmp_path) == 0


def summary(call_id: str) -> CallFinished:
    view = CallView(call_id, "13800138000", "", "support", 1795455890.0, 1795455892.0,
                    "ended", "Local/agent1@agents/n", None, call_id + "q", 1795455889.0)
    return CallFinished(view, CallSummary(
        call_id, call_id + "q", "13800138000", "", None, "support", "Local/agent1@agents/n",
        ["Local/agent1@agents/n"], "answered", 1795455889.0, 1795455890.0, 1795455892.0,
        1795455900.0, 2.0, 8.0), 1795455900.0)


def test_a_long_outage_goes_to_the_dead_letter_and_is_replayed(tmp_path, session):
    handler = Flaky()
    box = DeadLetterBox(tmp_path)
    worker = EffectWorker("bridge-log", handler, dead_letter=box.put,
                          dead_letter_after_s=0.3, retry_first_s=0.01,
                          retry_max_s=0.05).start()
    handler.down.set()
    worker.submit(summary("1795455889.1"))
    assert wait_for(lambda: worker.dead_lettered == 1)
    worker.submit(summary("1795455889.2"))  # the outage goes on: kept at once
    assert wait_for(lambda: worker.dead_lettered == 2, timeout=2)
    worker.stop()
    assert count_dead_letters(tmp_path) == 2
    counts = replay_dead_letters(session, tmp_path, region="CN")
    assert counts["replayed"] == 2
    rows = session.scalars(select(CallRecord).order_by(CallRecord.call_id)).all()
    assert [(r.call_id, r.outcome.value, r.talk_s) for r in rows] == [
        ("1795455889.1", "answered", 8.0), ("1795455889.2", "answered", 8.0)]
    replay_dead_letters(session, tmp_path, region="CN")  # again: still two rows
    assert len(session.scalars(select(CallRecord)).all()) == 2


def test_stopping_during_an_outage_keeps_the_batch(tmp_path):
    handler = Flaky()
    handler.down.set()
    box = DeadLetterBox(tmp_path)
    worker = EffectWorker("bridge-pops", handler, dead_letter=box.put,
                          dead_letter_after_s=600, retry_first_s=0.01, stop_grace_s=0.2
                          ).start()
    worker.submit({"call_id": "x"})
    assert wait_for(lambda: handler.calls >= 2)
    started = time.monotonic()
    worker.stop()
    assert time.monotonic() - started < 3
    assert count_dead_letters(tmp_path) == 1


LIVE = LiveLegs({"talking": {"Local/agent1@agents/n": "connected"},
                 "ringing-elsewhere": {"Local/agent2@agents/n": "ringing"}}, 1795455999.0)


@pytest.mark.parametrize(("event", "call_id", "expected"), [
    ("call.ringing", "gone", ("call.dismissed", "caller_left")),
    ("call.ringing", "talking", ("call.answered", None)),
    ("call.ringing", "ringing-elsewhere", ("call.dismissed", "no_answer")),
    ("call.answered", "gone", ("call.ended", "hangup")),
    ("call.answered", "talking", None),
    ("call.ended", "gone", None),
])
def test_which_pops_the_pbx_contradicts(event, call_id, expected):
    pops = {call_id: {"event": event, "call_id": call_id, "seq": 3, "state": "x"}}
    out = stale_pops(pops, "Local/agent1@agents/n", LIVE, in_redis={call_id: event},
                     wrapped_up=set())
    assert [(e, p.get("reason")) for e, p in out] == ([] if expected is None else [expected])


def test_after_a_resync_open_pops_of_gone_calls_are_closed(redis_conn, redis_url, session,
                                                          make_user):
    agent = make_user("agent", interface="Local/agent1@agents/n")
    session.flush()
    publisher = LivePublisher(redis_conn, redis_url)
    ledger = PopLedger()
    for call_id, event in (("gone-ringing", "call.ringing"), ("gone-talking", "call.answered"),
                           ("talking", "call.answered")):
        body = {"call_id": call_id, "state": "x", "caller": {"number": "1"}}
        ledger.record(agent.id, event, body)
        publisher.publish(agent.id, event, body)
    # Redis restarted empty meanwhile: only the ledger remembers an ended call's wrap-up
    ledger.record(agent.id, "call.ended", {"call_id": "lost-wrapup", "state": "ended"})
    # and this call.ended never got out (Redis went down before its publish)
    publisher.publish(agent.id, "call.answered", {"call_id": "unsent-end", "state": "x"})
    ledger.record(agent.id, "call.ended", {"call_id": "unsent-end", "state": "ended"})

    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    checker = PopChecker(factory, redis_conn, publisher, ledger)
    sent = checker.check(LiveLegs({"talking": {"Local/agent1@agents/n": "connected"}},
                                  time.time()), [(agent.id, "Local/agent1@agents/n")])
    assert sent == 4
    calls = {c["call_id"]: c["event"] for c in read_snapshot(redis_conn, agent.id)["calls"]}
    assert calls == {"talking": "call.answered", "gone-talking": "call.ended",
                     "lost-wrapup": "call.ended", "unsent-end": "call.ended"}
    assert checker.check(LiveLegs({"talking": {"Local/agent1@agents/n": "connected"}},
                                  time.time()), [(agent.id, "Local/agent1@agents/n")]) == 0

