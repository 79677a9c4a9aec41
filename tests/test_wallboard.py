"""The wallboard's figures, on both backends: what counts as today (the call center's
time zone, not UTC), offered/answered/abandoned, service level, ASA, AHT; which queues
and agents a supervisor sees; the live state in Redis with garbage in it; no Redis at
all; and agreement with the figures Asterisk's own queue_log gives for the same calls.
"""

from __future__ import annotations

import json
import logging
import socket
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import queue_log
import redis
from sqlalchemy import event
from webtools import get_token, login, text

from callcenter.calls.models import CallRecord, Outcome, PbxQueue
from callcenter.core.errors import PermissionDenied
from callcenter.realtime.live import AGENTS_KEY, QUEUES_KEY
from callcenter.users.services import ensure_department
from callcenter.wallboard.figures import agent_rows, local_day_start, queue_figures
from callcenter.wallboard.live import LiveState, read_live
from callcenter.wallboard.services import visible_queue_names, wallboard
from callcenter.wallboard.views import duration, percent

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: 10:00 in Shanghai is 02:00 UTC: "today" there began at 16:00 UTC the day before.
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
DAY_START = local_day_start(NOW, SHANGHAI)
from captures import CAPTURES  # noqa: E402


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_ids = iter(range(1, 1_000_000))


def call(session, queue: str, *, queued: datetime, wait_s: float | None = None,
         talk_s: float | None = None, outcome: Outcome = Outcome.ANSWERED,
         answered: bool = True, ended: bool = True, **extra) -> CallRecord:
    """A call log row: queued at ``queued``; answered after ``wait_s`` when ``answered``."""
    answered_at = queued + timedelta(seconds=wait_s) if answered and wait_s is not None \
        else None
    end = None
    if ended:
        end = (answered_at + timedelta(seconds=talk_s or 0)) if answered_at \
            else queued + timedelta(seconds=wait_s or 0)
    row = CallRecord(call_id=f"c{next(_ids)}", queue=queue, caller_number="13812345678",
                     started_at=queued - timedelta(seconds=2), queued_at=queued,
                     answered_at=answered_at, ended_at=end, wait_s=wait_s, talk_s=talk_s,
                     outcome=outcome, **extra)
    session.add(row)
    return row


def local(hour: int, minute: int = 0, second: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


# --- figures from the call log ------------------------------------------------------------

@pytest.fixture
def support_day(session):
    session.add(PbxQueue(name="support", display_name="客服热线", service_level_s=20))
    session.add(PbxQueue(name="repairs", display_name="Repairs", service_level_s=30))
    call(session, "support", queued=local(9), wait_s=10, talk_s=60)            # within
    call(session, "support", queued=local(9, 5), wait_s=20, talk_s=120)        # at the limit
    call(session, "support", queued=local(9, 10), wait_s=45, talk_s=30)        # outside
    call(session, "support", queued=local(9, 15), wait_s=30, answered=False,
         outcome=Outcome.ABANDONED)
    call(session, "support", queued=local(9, 20), wait_s=5, talk_s=90,
         outcome=Outcome.TRANSFERRED, agents=["Local/agent1@agents/n", "PJSIP/2000"])
    call(session, "support", queued=local(9, 58), wait_s=8, talk_s=None,       # still talking
         ended=False, outcome=Outcome.IN_PROGRESS)
    # Still waiting: 5 s (may yet make it) and 60 s (missed it already).
    call(session, "support", queued=NOW - timedelta(seconds=5), answered=False, ended=False,
         outcome=Outcome.IN_PROGRESS)
    call(session, "support", queued=NOW - timedelta(seconds=60), answered=False, ended=False,
         outcome=Outcome.IN_PROGRESS)
    # The day boundary is midnight in Shanghai: 00:01 today counts, 23:59 yesterday not,
    # although both are on the same UTC date (9 March).
    call(session, "support", queued=local(0, 1), wait_s=3, talk_s=40)
    call(session, "support", queued=local(23, 59, day=9), wait_s=1, talk_s=10)
    call(session, "support", queued=local(10, 30), wait_s=1, talk_s=10)         # after now
    call(session, "repairs", queued=local(8), wait_s=25, talk_s=200)
    call(session, "repairs", queued=local(8, 30), wait_s=31, talk_s=100)
    session.flush()


def test_figures_from_the_call_log(session, support_day):
    live = {"support": {"queue": "support", "members": ["Local/agent1@agents/n"], "waiting": [
        {"call_id": "w1", "caller_number": "13900001111",
         "queued_at": (NOW - timedelta(seconds=5)).timestamp()},
        {"call_id": "w2", "caller_number": "",
         "queued_at": (NOW - timedelta(seconds=60)).isoformat()}]}}
    support, repairs, empty = queue_figures(session, ["support", "repairs", "nothing"],
                                            day_start=DAY_START, now=NOW, live=live)
    assert support["queue"] == "support" and support["display_name"] == "客服热线"
    assert support["offered"] == 9          # 23:59 yesterday and 10:30 are not today (yet)
    assert support["answered"] == 6         # transferred and still talking count
    assert support["abandoned"] == 1
    assert support["answered_within_sl"] == 5   # 10, 20 (inclusive), 5, 8, 3
    # 5 / (9 offered - 1 still waiting within 20 s); the 60 s caller counts against it.
    assert support["service_level"] == pytest.approx(5 / 8, abs=1e-4)
    assert support["abandon_rate"] == pytest.approx(1 / 9, abs=1e-4)
    assert support["asa_s"] == pytest.approx((10 + 20 + 45 + 5 + 8 + 3) / 6, abs=0.05)
    assert support["aht_s"] == pytest.approx((60 + 120 + 30 + 90 + 40) / 5, abs=0.05)
    assert support["sl_threshold_s"] == 20
    assert support["waiting"] == 2 and support["longest_wait_s"] == pytest.approx(60)
    assert [c["call_id"] for c in support["callers"]] == ["w2", "w1"]
    assert support["members"] == 1 and support["live"] is True
    assert set(support["alerts"]) == {"service_level", "abandon_rate", "longest_wait"}
    assert support["updated_at"].startswith("2026-03-10T02:00:00")

    assert repairs["sl_threshold_s"] == 30
    assert (repairs["offered"], repairs["answered"], repairs["answered_within_sl"]) == (2, 2, 1)
    assert repairs["service_level"] == 0.5
    assert repairs["waiting"] is None and repairs["longest_wait_s"] is None  # no live entry
    assert repairs["live"] is False

    assert empty["display_name"] == "nothing" and empty["sl_threshold_s"] == 20
    assert (empty["offered"], empty["service_level"], empty["abandon_rate"],
            empty["asa_s"], empty["aht_s"]) == (0, None, None, None, None)
    assert empty["alerts"] == []


def test_utc_midnight_would_be_wrong(session, support_day):
    """The same calls, with "today" wrongly taken from UTC midnight, give other figures."""
    utc_midnight = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    [wrong] = queue_figures(session, ["support"], day_start=utc_midnight, now=NOW, live=None)
    [right] = queue_figures(session, ["support"], day_start=DAY_START, now=NOW, live=None)
    assert right["offered"] == 9 and wrong["offered"] != 9
    assert DAY_START == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)


def test_without_live_state_the_call_log_figures_still_show(session, support_day):
    [support] = queue_figures(session, ["support"], day_start=DAY_START, now=NOW, live=None)
    assert support["offered"] == 9 and support["service_level"] == pytest.approx(0.625)
    assert support["waiting"] is None and support["longest_wait_s"] is None
    assert support["live"] is False and "longest_wait" not in support["alerts"]


def test_all_queues_in_one_aggregate_query(session, support_day, connection):
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        queue_figures(session, ["support", "repairs", "nothing"], day_start=DAY_START,
                      now=NOW, live=None)
    finally:
        event.remove(connection, "before_cursor_execute", record)
    on_calls = [s for s in statements if "FROM calls" in s]
    assert len(on_calls) == 1, statements
    assert "GROUP BY calls.queue" in on_calls[0]
    assert len(statements) == 2  # the queues' settings, then the figures


def test_day_start_follows_the_time_zone():
    # 07:30 on 1 Jan in Shanghai is 23:30 on 31 Dec in UTC.
    now = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert local_day_start(now, "Asia/Shanghai") == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert local_day_start(now, "UTC") == datetime(2025, 12, 31, 0, 0, tzinfo=UTC)
    # Daylight saving: midnight in New York is 05:00 UTC in winter, 04:00 in summer.
    assert local_day_start(datetime(2026, 7, 1, 12, tzinfo=UTC), "America/New_York") == \
        datetime(2026, 7, 1, 4, 0, tzinfo=UTC)


def test_display_formats():
    assert [duration(s) for s in (None, 0, 9.9, 65, 3600 + 61)] == \
        ["–", "0:00", "0:09", "1:05", "1:01:01"]
    assert [percent(r) for r in (None, 0, 0.625, 0.125, 1)] == ["–", "0%", "63%", "13%", "100%"]


# --- agents ------------------------------------------------------------------------------

def test_agent_rows(make_user):
    wang = make_user("agent", username="wang", interface="Local/agent1@agents/n")
    wang.display_name = "王芳"
    since = NOW - timedelta(seconds=95)
    rows = agent_rows({
        "Local/agent1@agents/n": {"interface": "Local/agent1@agents/n", "name": "Agent 1",
                                  "state": "paused", "reason": "lunch",
                                  "since": since.timestamp(), "queues": ["support"]},
        "Local/agent9@agents/n": {"interface": "Local/agent9@agents/n", "name": "Agent 9",
                                  "state": "on_call", "reason": None,
                                  "since": since.isoformat(), "queues": ["repairs", "support"]},
        "PJSIP/3000": {"interface": "PJSIP/3000", "state": "available", "since": None},
    }, [wang], now=NOW)
    assert [r["name"] for r in rows] == ["Agent 9", "PJSIP/3000", "王芳"]
    nine, pjsip, mine = rows
    assert mine["user_id"] == wang.id and mine["state"] == "paused" and mine["reason"] == "lunch"
    assert mine["seconds_in_state"] == pytest.approx(95) and mine["queues"] == ["support"]
    assert mine["since"] == "2026-03-10T01:58:25Z"
    assert nine["user_id"] is None and nine["queues"] == ["repairs", "support"]
    assert nine["seconds_in_state"] == pytest.approx(95)
    assert pjsip["since"] is None and pjsip["seconds_in_state"] is None


# --- who sees which queues -----------------------------------------------------------------

@pytest.fixture
def departments(session):
    service = ensure_department(session, "Service")
    beijing = ensure_department(session, "Service/Beijing")
    shanghai = ensure_department(session, "Service/Shanghai")
    north = ensure_department(session, "Service/Beijing/North")
    session.add_all([
        PbxQueue(name="bj", display_name="北京热线", department_id=beijing.id),
        PbxQueue(name="bj-north", display_name="北京北区", department_id=north.id),
        PbxQueue(name="sh", display_name="上海热线", department_id=shanghai.id),
        PbxQueue(name="hq", display_name="Service desk", department_id=service.id),
        PbxQueue(name="orphan", display_name="No department"),
    ])
    session.flush()
    call(session, "bj", queued=local(9), wait_s=4, talk_s=50)
    call(session, "sh", queued=local(9), wait_s=40, talk_s=50)
    session.flush()


def live_state(**queues) -> LiveState:
    agents = {
        "PJSIP/1": {"interface": "PJSIP/1", "name": "one", "state": "available",
                    "reason": None, "since": NOW.timestamp() - 10, "queues": ["bj"]},
        "PJSIP/2": {"interface": "PJSIP/2", "name": "two", "state": "on_call",
                    "reason": None, "since": NOW.timestamp() - 20, "queues": ["sh"]},
        "PJSIP/3": {"interface": "PJSIP/3", "name": "three", "state": "paused",
                    "reason": "training", "since": NOW.timestamp() - 30,
                    "queues": ["bj", "sh"]},
        # Listed only by the queue's members (its own list not written yet).
        "PJSIP/4": {"interface": "PJSIP/4", "name": "four", "state": "wrap_up",
                    "reason": None, "since": NOW.timestamp() - 40, "queues": []},
    }
    entries = {"bj": {"queue": "bj", "waiting": [], "members": ["PJSIP/1", "PJSIP/3",
                                                                "PJSIP/4"]},
               "sh": {"queue": "sh", "waiting": [], "members": ["PJSIP/2", "PJSIP/3"]},
               **queues}
    return LiveState(queues=entries, agents=agents)


def test_a_beijing_supervisor_sees_beijing_and_below_not_shanghai(session, make_user,
                                                                   departments):
    boss = make_user("supervisor", department="Service/Beijing")
    assert visible_queue_names(session, boss) == ["bj", "bj-north"]
    board = wallboard(session, boss, NOW, live_state(), timezone="Asia/Shanghai")
    assert [q["queue"] for q in board["queues"]] == ["bj", "bj-north"]
    assert board["queues"][0]["offered"] == 1 and board["queues"][0]["service_level"] == 1.0
    agents = {a["interface"]: a for a in board["agents"]}
    assert set(agents) == {"PJSIP/1", "PJSIP/3", "PJSIP/4"}
    assert agents["PJSIP/3"]["queues"] == ["bj"]   # Shanghai's queue is not theirs to see
    assert agents["PJSIP/3"]["reason"] == "training"
    assert board["live"] == {"available": True, "skipped": 0}
    assert board["day_start"] == "2026-03-09T16:00:00Z"
    assert board["updated_at"] == "2026-03-10T02:00:00Z"


def test_department_heads_admins_and_scope_all(session, make_user, departments):
    head = make_user("supervisor", department="Service")
    assert visible_queue_names(session, head) == ["bj", "bj-north", "hq", "sh"]
    admin = make_user("admin", department="Service/Shanghai")
    everything = ["bj", "bj-north", "hq", "orphan", "sh"]
    assert visible_queue_names(session, admin) == everything
    wide = make_user("supervisor", department="Service/Shanghai", scope="all")
    assert visible_queue_names(session, wide) == everything
    # Admins also see a queue the PBX reports before the bridge registered it.
    board = wallboard(session, admin, NOW, live_state(new={"queue": "new", "waiting": [],
                                                           "members": []}),
                      timezone="Asia/Shanghai")
    assert [q["queue"] for q in board["queues"]] == everything + ["new"]
    assert {a["interface"] for a in board["agents"]} == {"PJSIP/1", "PJSIP/2", "PJSIP/3",
                                                          "PJSIP/4"}
    nobody = make_user("supervisor")                      # no department: no queue
    assert visible_queue_names(session, nobody) == []
    assert wallboard(session, nobody, NOW, live_state(), timezone="Asia/Shanghai")["queues"] == []


def test_agents_and_technicians_have_no_wallboard(session, make_user, departments):
    for role in ("agent", "technician"):
        user = make_user(role, department="Service", scope="all")
        assert visible_queue_names(session, user) == []
        with pytest.raises(PermissionDenied):
            wallboard(session, user, NOW, live_state(), timezone="Asia/Shanghai")


# --- the live state in Redis ------------------------------------------------------------------

def test_live_state_skips_counts_and_logs_garbage(redis_conn, caplog):
    good_queue = {"queue": "support", "members": ["Local/agent1@agents/n"],
                  "waiting": [{"call_id": "1795455872.8", "caller_number": "13812345678",
                               "queued_at": 1795455872.9}]}
    redis_conn.hset(QUEUES_KEY, mapping={
        "support": json.dumps(good_queue),
        "empty": json.dumps({"queue": "empty", "waiting": [], "members": []}),
        "broken": "{not json",
        "list": json.dumps(["support"]),
        "mismatch": json.dumps({**good_queue, "queue": "support"}),
        "badtime": json.dumps({"queue": "badtime", "waiting": [
            {"call_id": "x", "caller_number": "1", "queued_at": "yesterday"}]}),
        "badcaller": json.dumps({"queue": "badcaller", "waiting": ["x"]}),
    })
    redis_conn.hset(QUEUES_KEY, b"binary", b"\xff\xfe")
    redis_conn.hset(AGENTS_KEY, mapping={
        "Local/agent1@agents/n": json.dumps({
            "interface": "Local/agent1@agents/n", "name": "Agent 1", "state": "paused",
            "reason": "lunch", "since": 1795455800.5, "queues": ["support"]}),
        "Local/agent2@agents/n": json.dumps({
            "interface": "Local/agent2@agents/n", "state": "dancing", "queues": []}),
        "Local/agent3@agents/n": json.dumps({
            "interface": "Local/agent3@agents/n", "state": "available", "since": "noon"}),
        "Local/agent4@agents/n": json.dumps({
            "interface": "Local/agent4@agents/n", "state": "available", "queues": "support"}),
        "Local/agent5@agents/n": "null",
    })
    with caplog.at_level(logging.WARNING, logger="callcenter.wallboard.live"):
        state = read_live(redis_conn)
    assert state.available
    assert set(state.queues) == {"support", "empty"}
    assert state.queues["support"]["waiting"][0]["caller_number"] == "13812345678"
    assert set(state.agents) == {"Local/agent1@agents/n"}
    assert state.agents["Local/agent1@agents/n"]["reason"] == "lunch"
    assert state.skipped == 6 + 4
    assert state.summary() == {"available": True, "skipped": 10}
    logged = " ".join(r.getMessage() for r in caplog.records)
    for name in ("broken", "list", "mismatch", "badtime", "badcaller", "binary", "agent2",
                 "agent3", "agent4", "agent5"):
        assert name in logged, name


def test_live_state_empty_hashes(redis_conn):
    state = read_live(redis_conn)
    assert state.available and state.queues == {} and state.agents == {}


def test_no_redis_means_no_live_state_but_the_figures_show(session, make_user, departments,
                                                           caplog):
    closed = redis.Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=1)
    with caplog.at_level(logging.WARNING, logger="callcenter.wallboard.live"):
        state = read_live(closed)
    assert not state.available and state.queues is None and state.agents is None
    assert "unavailable" in caplog.text
    boss = make_user("supervisor", department="Service/Beijing")
    board = wallboard(session, boss, NOW, state, timezone="Asia/Shanghai")
    assert board["live"] == {"available": False, "skipped": 0}
    bj = board["queues"][0]
    assert bj["offered"] == 1 and bj["waiting"] is None and bj["live"] is False
    assert board["agents"] == []


# --- the same figures as Asterisk's queue_log -----------------------------------------------------
# tests/queue_log.py is the reference: it reads app_queue's own log. The call log rows
# below are what the bridge keeps for the same calls (waits and talk times as app_queue
# counted them); both must give the same figures.

def capture_logs() -> dict[str, list[queue_log.QueueLogRecord]]:
    logs = {}
    for path in sorted(CAPTURES.glob("*/queue_log")):
        parsed = queue_log.parse(path.read_text(encoding="utf-8").splitlines())
        assert parsed.bad_lines == 0, path
        if any(r.verb == "ENTERQUEUE" for r in parsed.records):
            logs[path.parent.name] = parsed.records
    assert logs, f"no queue_log captures under {CAPTURES}"
    return logs


def call_record(queue: str, stay: queue_log.Stay) -> CallRecord:
    """The call log row for one stay in the queue, as the bridge would keep it."""
    def at(ts):
        return datetime.fromtimestamp(ts, UTC) if ts is not None else None

    answered = stay.entered + stay.holdtime if stay.holdtime is not None else None
    ended = None
    if stay.holdtime is not None:
        if stay.end_verb in queue_log.TRANSFER_VERBS:
            outcome = Outcome.TRANSFERRED
        elif stay.end_verb in queue_log.COMPLETE_VERBS:
            outcome = Outcome.ANSWERED
        else:
            outcome = Outcome.IN_PROGRESS            # still talking
        if stay.talktime is not None:
            ended = answered + stay.talktime
    elif stay.exit_verb is not None:
        outcome, ended = Outcome.ABANDONED, stay.entered + stay.waittime
    else:
        outcome = Outcome.IN_PROGRESS                # still waiting
    return CallRecord(
        call_id=f"{queue}/{stay.callid}", queue_uniqueid=stay.callid, queue=queue,
        started_at=at(stay.entered - 1), queued_at=at(stay.entered), answered_at=at(answered),
        ended_at=at(ended), wait_s=stay.holdtime if stay.holdtime is not None
        else stay.waittime, talk_s=stay.talktime, outcome=outcome)


def load_capture(session, name: str, records, threshold_s: int) -> None:
    session.add(PbxQueue(name=name, service_level_s=threshold_s))
    for stay in queue_log.stays(records)[0]:
        session.add(call_record(name, stay))


def assert_agree(row: dict, ref: queue_log.QueueFigures, *, pending_within: int = 0) -> None:
    assert (row["offered"], row["answered"], row["abandoned"], row["answered_within_sl"]) == \
        (ref.offered, ref.answered, ref.abandoned, ref.answered_in_threshold), row["queue"]
    decided = ref.offered - pending_within
    want_sl = ref.answered_in_threshold / decided if decided else None
    assert row["service_level"] == pytest.approx(want_sl, abs=1e-4), row["queue"]
    assert row["abandon_rate"] == pytest.approx(
        ref.abandoned / ref.offered if ref.offered else None, abs=1e-4)
    for key, want in (("asa_s", ref.asa), ("aht_s", ref.aht)):
        assert row[key] == pytest.approx(want, abs=0.051), (row["queue"], key)


@pytest.mark.parametrize("threshold_s", [20, 10, 5])
def test_figures_agree_with_queue_log(session, threshold_s):
    logs = capture_logs()
    last = max(r.time for records in logs.values() for r in records)
    now = datetime.fromtimestamp(last + 60, UTC)
    # Recorded at about 01:45 in Shanghai: the same calls are "yesterday" in UTC terms.
    day_start = local_day_start(now, SHANGHAI)
    for name, records in logs.items():
        load_capture(session, name, records, threshold_s)
    session.flush()
    figures = queue_figures(session, list(logs), day_start=day_start, now=now, live=None)
    assert sum(f["offered"] for f in figures) == 26
    for row in figures:
        [ref] = queue_log.figures(logs[row["queue"]], start=day_start.timestamp(),
                                  end=now.timestamp() + 1, threshold=threshold_s).values()
        assert_agree(row, ref)
    abandon = next(r for r in figures if r["queue"] == "03_abandon")
    assert (abandon["offered"], abandon["abandoned"], abandon["answered"]) == (5, 4, 1)
    assert abandon["abandon_rate"] == 0.8


@pytest.mark.parametrize("cut", [1795455897, 1795455905, 1795455923, 1795455935])
def test_figures_agree_with_queue_log_mid_burst(session, cut):
    """The ten-call burst cut off while callers wait and agents talk: the same counts,
    and the service level leaves out exactly the callers still within the threshold."""
    logs = capture_logs()
    if "02_ringall_10_calls" not in logs:
        pytest.skip("capture 02_ringall_10_calls missing")
    records = [r for r in logs["02_ringall_10_calls"] if r.time <= cut]
    load_capture(session, "burst", records, 20)
    session.flush()
    now = datetime.fromtimestamp(cut, UTC)
    [row] = queue_figures(session, ["burst"], day_start=local_day_start(now, SHANGHAI),
                          now=now, live=None)
    [ref] = queue_log.figures(records, threshold=20).values()
    waits = [cut - s.entered for s in queue_log.stays(records)[0]
             if s.holdtime is None and s.exit_verb is None]
    pending = sum(w <= 20 for w in waits)
    # Callers within the threshold at every cut but the last, where one has waited 26 s
    # (already a miss: in the denominator, not the numerator).
    assert (pending, len(waits)) == ({1795455935: (0, 1)}.get(cut) or (len(waits), len(waits)))
    assert_agree(row, ref, pending_within=pending)


# --- the page -----------------------------------------------------------------------------------

def test_page_for_supervisors_only(client, session, make_user, departments, redis_conn):
    make_user("supervisor", username="boss", department="Service/Beijing")
    make_user("agent", username="agent7", department="Service/Beijing")
    assert client.get("/wallboard").status_code == 302    # to the login page
    login(client, "agent7")
    assert client.get("/wallboard").status_code == 403
    assert "/wallboard" not in text(client.get("/customers/"))
    client.post("/logout", data={"csrf_token": get_token(client, "/customers/")})

    login(client, "boss")
    page = client.get("/wallboard")
    assert page.status_code == 200
    html = text(page)
    assert "北京热线" in html and "上海热线" not in html
    assert 'aria-current="page"' in html and "Callers waiting" in html
    assert 'id="wb-initial"' in html and "<script>" not in html   # no inline script
    assert "data-live-unavailable hidden" in html      # Redis is there
    assert 'data-socketio-src="/vendor/socket.io.min.js"' in html
    with client.get("/vendor/socket.io.min.js") as script:
        assert script.status_code == 200
    # English and Chinese.
    client.post("/language", data={"locale": "zh_CN",
                                   "csrf_token": get_token(client, "/wallboard")})
    html = text(client.get("/wallboard"))
    assert "排队等待" in html and "服务水平" in html
