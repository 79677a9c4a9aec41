"""queue_log parsing and the per-queue reference figures, on the captured queue_log files
and on hand-written lines for what the captures do not have (transfers, exits)."""

from __future__ import annotations

import pytest
import queue_log
from simulator_support import CAPTURES

from telephony.ami.frames import FrameReader


def load(name: str) -> queue_log.ParsedLog:
    return queue_log.parse((CAPTURES / name / "queue_log").read_text().splitlines())


@pytest.mark.parametrize("path", sorted(CAPTURES.glob("*/queue_log")), ids=lambda p: p.parent.name)
def test_captured_logs_parse_cleanly(path):
    lines = path.read_text().splitlines()
    parsed = queue_log.parse(lines)
    assert parsed.bad_lines == 0 and len(parsed.records) == len(lines)


def test_ringall_ten_calls():
    figures = queue_log.figures(load("02_ringall_10_calls").records, threshold=30)
    support = figures["support"]
    assert (support.offered, support.answered, support.abandoned) == (10, 10, 0)
    holdtimes = [2, 3, 10, 9, 10, 13, 20, 19, 20, 31]
    assert support.asa == pytest.approx(sum(holdtimes) / 10)
    assert support.aht == pytest.approx((11 + 6 + 11 + 4 + 11 + 5 + 6 + 10 + 3 + 10) / 10)
    assert support.service_level == pytest.approx(0.9)  # 31 s is outside 30 s
    assert queue_log.figures(load("02_ringall_10_calls").records,
                             threshold=10)["support"].service_level == pytest.approx(0.5)


def test_service_level_agrees_with_app_queue_when_nothing_is_abandoned():
    """QueueParams at the end of 02 (ServiceLevel 30): Completed 10, ServicelevelPerf
    90.0. With no abandoned call both definitions give the same number."""
    frames = FrameReader().feed((CAPTURES / "02_ringall_10_calls" / "actions.raw").read_bytes())
    final = [f for f in frames if f.get("Event") == "QueueParams"][-1]
    support = queue_log.figures(load("02_ringall_10_calls").records,
                                threshold=int(final["ServiceLevel"]))["support"]
    assert support.answered == int(final["Completed"])
    assert support.service_level * 100 == pytest.approx(float(final["ServicelevelPerf"]))


def test_abandon_and_timeout():
    parsed = load("03_abandon")
    support = queue_log.figures(parsed.records)["support"]
    assert (support.offered, support.answered, support.abandoned) == (5, 1, 4)
    assert (support.abandon, support.timeout, support.ring_no_answer) == (3, 1, 1)
    assert support.service_level == pytest.approx(1 / 5)  # answered after 18 s of 20
    assert support.asa == 18 and support.aht == 4
    times = queue_log.call_times(parsed.records)
    assert {c: (t.outcome, t.wait_s, t.talk_s) for c, t in times.items()} == {
        "1795456234.125": ("abandoned", 7, None), "1795456235.131": ("abandoned", 4, None),
        "1795456235.129": ("abandoned", 10, None), "1795456235.127": ("abandoned", 4, None),
        "1795456235.133": ("answered", 18, 4)}
    assert times["1795456235.133"].agents == ["Agent 1"]


def test_period_and_per_queue_threshold():
    records = load("05_member_pause_add_remove").records
    everything = queue_log.figures(records, threshold={"support": 10})["support"]
    assert everything.threshold == 10 and everything.offered == 8
    assert everything.answered_in_threshold == 5  # holdtimes 2,6,5,8,10 (<=10) of 8
    first = queue_log.figures(records, end=1795456326)["support"]
    rest = queue_log.figures(records, start=1795456326)["support"]
    assert (first.offered, rest.offered) == (3, 5)
    assert first.answered + rest.answered == 8
    assert queue_log.figures(records, start=1795456400) == {}


MIXED = """\
1000|c1|support|NONE|ENTERQUEUE||13800000001|1
1003|c1|support|Agent 1|CONNECT|3|1000.5|2
1010|c1|support|Agent 1|BLINDTRANSFER|repairs|transfer|3|7|1
1010|c1|repairs|NONE|ENTERQUEUE||13800000001|1
1015|c1|repairs|Agent 4|CONNECT|5|1010.9|1
1030|c1|repairs|Agent 4|COMPLETECALLER|5|15|1
1100|c2|support|NONE|ENTERQUEUE||13800000002|1
1102|c2|support|Agent 2|CONNECT|2|1100.3|1
1110|c2|support|Agent 2|ATTENDEDTRANSFER|BRIDGE|abc-123|2|8|1
1110|c2|repairs|NONE|ENTERQUEUE||13800000002|1
1140|c2|repairs|NONE|EXITWITHKEY|5|1|1|30
1200|c3|support|NONE|ENTERQUEUE||13800000003|1
1201|c3|support|NONE|EXITEMPTY|1|1|1
1300|c4|support|NONE|ENTERQUEUE||13800000004|1
1301|c4|support|Agent 1|RINGNOANSWER|15000
1350|c5|support|Agent 3|COMPLETEAGENT|3|40|1
1400|c6|support|Agent 2|ATTENDEDTRANSFER|LINK|Local/a;1|Local/b;2|4|9|1
"""
BAD = ["", "garbage", "1|2|3", "x|c|q|a|ENTERQUEUE||1|1", "1|c|q|a|CONNECT|soon|x|1",
       "1|c|q|a|COMPLETEAGENT|1", "1|c|q|a||1", "1|c|q|a|ABANDON|1|1|-4",
       "1|c|q|a|BLINDTRANSFER|1|x|y|2"]


def test_transfers_exits_and_bad_lines():
    parsed = queue_log.parse(MIXED.splitlines() + BAD + ["1500|c7|support|NONE|PAUSE|lunch\r"])
    assert parsed.bad_lines == len(BAD) - 1  # the blank line is not counted
    assert parsed.records[-1].data == ("lunch",)
    times = queue_log.call_times(parsed.records)
    c1, c2, c3, c4 = (times[c] for c in ("c1", "c2", "c3", "c4"))
    assert (c1.outcome, c1.agents, c1.wait_s, c1.talk_s, c1.queues) == (
        "answered", ["Agent 1", "Agent 4"], 8, 22, ["support", "repairs"])
    assert (c2.outcome, c2.agents, c2.wait_s, c2.talk_s) == ("transferred", ["Agent 2"], 32, 8)
    assert (c3.outcome, c3.wait_s, c3.talk_s) == ("abandoned", 1, None)
    assert (c4.outcome, c4.wait_s) == ("in_progress", None)  # still waiting
    assert "c5" not in times and "c6" not in times  # no ENTERQUEUE: orphans
    assert queue_log.stays(parsed.records)[1] == 2
    figures = queue_log.figures(parsed.records)
    support, repairs = figures["support"], figures["repairs"]
    assert (support.offered, support.answered, support.abandoned, support.exit_empty) == (
        4, 2, 1, 1)
    assert (support.transferred, support.aht, support.ring_no_answer) == (2, 7.5, 1)
    assert (repairs.offered, repairs.answered, repairs.exit_key, repairs.abandoned) == (
        2, 1, 1, 1)
    assert repairs.service_level == pytest.approx(0.5) and repairs.aht == 15
    assert support.service_level == pytest.approx(2 / 4)


def test_empty_input():
    assert queue_log.figures([]) == {}
    empty = queue_log.QueueFigures("q")
    assert (empty.service_level, empty.asa, empty.aht) == (None, None, None)
