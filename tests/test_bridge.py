"""The bridge end to end: recorded Asterisk traffic in, pops, call log and wallboard out.

Each captured scenario is replayed over a real AMI socket (``ReplayPBX``: the bytes
Asterisk 22 sent, with their recorded pacing sped up) into ``run_bridge``, the code
behind ``callcenter bridge``; agents listen on real Socket.IO connections to a live
web server; the call log and the wallboard are read back through the REST API. What
comes out must agree with Asterisk's own queue_log for the same calls.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter

import pytest
from ami_fake_server import CAPTURES
from ami_replay import ReplayPBX
from queue_log import call_times, figures, parse
from stack import BridgeThread, Inbox, interface_of, wait_until

SCENARIOS = ["01_single_answered", "02_ringall_10_calls", "02b_ringall_no_answer",
             "03_abandon", "05_member_pause_add_remove"]


class LoopThread:
    """An asyncio loop in a thread, for the asyncio test servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 60.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def loop_thread():
    lt = LoopThread()
    yield lt
    lt.close()


def agent_called(scenario: str) -> Counter:
    """(Linkedid, Interface) -> how often Asterisk rang that member for that call."""
    text = (CAPTURES / scenario / "ami.raw").read_bytes().decode("utf-8", "replace")
    rung: Counter = Counter()
    for block in text.split("\r\n\r\n"):
        if block.startswith("Event: AgentCalled\r\n"):
            fields = dict(line.split(": ", 1) for line in block.split("\r\n") if ": " in line)
            rung[(fields["Linkedid"], fields["Interface"])] += 1
    return rung


def all_calls(stack) -> list[dict]:
    items, page = [], 1
    while True:
        body = stack.api("/api/v1/calls", per_page=100, page=page).json()
        items += body["items"]
        if len(body["items"]) < 100:
            return items
        page += 1


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_replayed_capture_gives_the_pops_call_log_and_wallboard_asterisk_logged(
        stack, loop_thread, scenario):
    log = parse((CAPTURES / scenario / "queue_log").read_text().splitlines())
    expected = call_times(log.records)
    pbx = ReplayPBX(scenario, speed=8.0)
    loop_thread.run(pbx.__aenter__())
    inboxes = {n: Inbox.connect(stack, f"agent{n}") for n in range(1, 6)}
    bridge = BridgeThread(stack.settings, pbx.port).start()
    try:
        loop_thread.run(asyncio.wait_for(pbx.finished.wait(), 90), timeout=100)

        def logged():
            calls = {c["queue_uniqueid"]: c for c in all_calls(stack)
                     if c.get("queue_uniqueid") in expected}
            done = all(c["outcome"] != "in_progress" for c in calls.values())
            return calls if len(calls) == len(expected) and done else None
        calls = wait_until(logged, 20, what="every queued call in the call log, final")
    finally:
        bridge.stop()
        loop_thread.run(pbx.__aexit__(None, None, None))

    # The call log agrees with queue_log, call by call.
    for callid, want in expected.items():
        got = calls[callid]
        assert got["outcome"] == want.outcome, (callid, got, want)
        if want.has_wait:
            assert got["wait_s"] == pytest.approx(want.wait, abs=0.01), callid
        if want.has_talk:
            assert got["talk_s"] == pytest.approx(want.talk, abs=0.01), callid
        if want.agents:
            last = int(re.search(r"\d+", want.agents[-1]).group())
            assert got["agent_interface"] == interface_of(last), callid
            # agent6 and agent7 (05) are members nobody in the call center has.
            assert got["agent"] == (f"agent{last}" if last <= 5 else None), callid
    assert len({c["call_id"] for c in calls.values()}) == len(calls), "a call logged twice"

    # Every member rung got exactly one ringing pop per ring, closed by an answer or a
    # dismissal; nobody is left ringing.
    rung = agent_called(scenario)
    for n, inbox in inboxes.items():
        iface = interface_of(n)
        want = Counter({cid: k for (cid, i), k in rung.items() if i == iface})
        got = Counter(d["call_id"] for d in inbox.of("call.ringing"))
        assert got == want, (n, got, want)
        closed = Counter(d["call_id"] for d in inbox.of("call.answered", "call.dismissed"))
        for cid in want:
            assert closed[cid] >= 1, (n, cid)
        for data in inbox.of("call.ringing", "call.answered", "call.dismissed", "call.ended"):
            assert data["seq"] >= 1 and data["ami_read_at"] > 0
            assert data["caller"]["number"] is not None
        seqs = [d["seq"] for event, d in inbox.events if event.startswith("call.")]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), (n, seqs)
    snapshot_states = []
    for n, inbox in inboxes.items():
        inbox.close()
        again = Inbox.connect(stack, f"agent{n}")
        snap = again.wait_for("calls.snapshot")
        snapshot_states += [c["event"] for c in snap["calls"]]
        again.close()
    assert "call.ringing" not in snapshot_states, "a pop left ringing after the calls ended"

    # The wallboard's figures for today are queue_log's for the same calls.
    board = stack.api("/api/v1/wallboard").json()
    reference = figures(log.records, threshold=20.0)
    for row in board["queues"]:
        ref = reference.get(row["queue"])
        if ref is None:
            assert row["offered"] == 0
            continue
        assert (row["offered"], row["answered"], row["abandoned"]) == (
            ref.offered, ref.answered, ref.abandoned), row
        if ref.answered:
            assert row["asa_s"] == pytest.approx(ref.asa, abs=0.051)  # shown to 0.1 s
        if ref.aht is not None:
            assert row["aht_s"] == pytest.approx(ref.aht, abs=0.051)
        if ref.service_level is not None:
            assert row["service_level"] == pytest.approx(ref.service_level, abs=1e-6)
