"""The wallboard's charts from real rows, on both backends: the per-15-minute series
(a call counts in the quarter it entered the queue in, so a call spanning a boundary
stays in its first quarter and the quarters add up to the day's figures; abandoned
calls; the day and its quarters in the call center's time zone, also one whose offset is
not whole hours and a day the clocks change), each agent's calls, handling and pause
time, the pauses the bridge records (transitions, replays, a restart, a database that
is away), and ``GET /api/v1/wallboard/today`` (who may, which queues and agents)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from api_helpers import assert_error, assert_schema, bearer
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from callcenter.calls.models import CallRecord, Outcome, PbxQueue
from callcenter.realtime.live import AGENTS_KEY, QUEUES_KEY
from callcenter.users.services import ensure_department
from callcenter.wallboard.day import agent_figures, interval_series
from callcenter.wallboard.figures import local_day_start, queue_figures
from callcenter.wallboard.models import AgentPause
from callcenter.wallboard.pauses import PauseRecorder

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 10, 7, 30, tzinfo=SHANGHAI).astimezone(UTC)
DAY_START = local_day_start(NOW, SHANGHAI)
A1, A2 = "PJSIP/1001", "PJSIP/1002"

_ids = iter(range(1, 1_000_000))


def local(hour: int, minute: int = 0, second: float = 0, day: int = 10,
          tz: ZoneInfo = SHANGHAI) -> datetime:
    whole = int(second)
    return datetime(2026, 3, day, hour, minute, whole, round((second - whole) * 1e6),
                    tzinfo=tz).astimezone(UTC)


def call(session, queue: str, *, queued: datetime, wait_s: float | None = None,
         talk_s: float | None = None, outcome: Outcome = Outcome.ANSWERED,
         answered: bool = True, ended: bool = True, agent: str | None = None) -> CallRecord:
    answered_at = queued + timedelta(seconds=wait_s) if answered and wait_s is not None \
        else None
    end = None
    if ended:
        end = (answered_at + timedelta(seconds=talk_s or 0)) if answered_at \
            else queued + timedelta(seconds=wait_s or 0)
    row = CallRecord(call_id=f"ch{next(_ids)}", queue=queue, caller_number="13812345678",
                     started_at=queued - timedelta(seconds=1), queued_at=queued,
                     answered_at=answered_at, ended_at=end, wait_s=wait_s, talk_s=talk_s,
                     outcome=outcome, agent_interface=agent if answered_at else None)
    session.add(row)
    return row


QUEUES = {"support": {"sl_threshold_s": 20, "sl_target": 0.8},
          "vip": {"sl_threshold_s": 10, "sl_target": 0.9}}


@pytest.fixture
def morning(session):
    session.add_all([PbxQueue(name="support", service_level_s=20),
                     PbxQueue(name="vip", service_level_s=10)])
    # 09:00-09:15: a call queued 09:14:59.9996 (answered in the next quarter) stays here.
    call(session, "support", queued=local(9, 1), wait_s=5, talk_s=100, agent=A1)
    call(session, "support", queued=local(9, 14, 59.9996), wait_s=30, talk_s=50, agent=A2)
    call(session, "support", queued=local(9, 7), wait_s=40, answered=False,
         outcome=Outcome.ABANDONED)
    # 09:15-09:30: exactly on the boundary counts in the new quarter.
    call(session, "support", queued=local(9, 15), wait_s=20, talk_s=60, agent=A1)
    call(session, "vip", queued=local(9, 20), wait_s=12, talk_s=200, agent=A1,
         outcome=Outcome.TRANSFERRED)
    # 10:00-10:15 (now: 10:07:30): talking, waiting within and past the threshold.
    call(session, "support", queued=local(10, 1), wait_s=3, ended=False,
         outcome=Outcome.IN_PROGRESS, agent=A2)
    call(session, "support", queued=NOW - timedelta(seconds=5), answered=False, ended=False,
         outcome=Outcome.IN_PROGRESS)
    call(session, "support", queued=NOW - timedelta(seconds=45), answered=False,
         ended=False, outcome=Outcome.IN_PROGRESS)
    # Not today: 23:59:59 yesterday (local), and after now.
    call(session, "support", queued=local(23, 59, 59, day=9), wait_s=1, talk_s=10, agent=A1)
    call(session, "support", queued=local(10, 20), wait_s=1, talk_s=10, agent=A1)
    session.flush()


def test_quarters_from_the_call_log(session, morning):
    data = interval_series(session, QUEUES, day_start=DAY_START, now=NOW, timezone=SHANGHAI)
    labels = [iv["label"] for iv in data["intervals"]]
    # The last two hours (the first call, at 09:00, is within them), to the current one.
    assert labels == ["08:15", "08:30", "08:45", "09:00", "09:15", "09:30", "09:45", "10:00"]
    assert data["intervals"][3]["start"] == "2026-03-10T01:00:00Z"   # 09:00 in Shanghai
    total = {k: v[3:] if isinstance(v, list) else v for k, v in data["total"].items()}
    support, vip = ({k: v[3:] if isinstance(v, list) else v for k, v in q.items()}
                    for q in data["queues"])
    assert data["total"]["offered"][:3] == [0, 0, 0]
    assert support["queue"] == "support" and vip["queue"] == "vip"
    assert support["offered"] == [3, 1, 0, 0, 3]
    assert support["answered"] == [2, 1, 0, 0, 1]
    assert support["abandoned"] == [1, 0, 0, 0, 0]
    # 09:00: 5 s within, 30 s not, the abandon counts against: 1/3.
    assert support["service_level"][0] == pytest.approx(1 / 3, abs=1e-4)
    assert support["service_level"][1] == 1.0          # 20 s of 20: within (inclusive)
    assert support["service_level"][2] is None          # nothing offered
    # 10:00: answered after 3 s; one waiting 5 s (open: left out), one 45 s (missed).
    assert support["service_level"][4] == pytest.approx(1 / 2, abs=1e-4)
    assert vip["offered"] == [0, 1, 0, 0, 0] and vip["service_level"][1] == 0.0  # 12 s > 10
    assert total["offered"] == [3, 2, 0, 0, 3]
    assert total["service_level"][1] == pytest.approx(1 / 2, abs=1e-4)
    assert total["sl_target"] is None          # the queues' targets differ
    assert support["sl_target"] == 0.8 and vip["sl_target"] == 0.9


def test_quarters_add_up_to_the_days_figures(session, morning):
    data = interval_series(session, QUEUES, day_start=DAY_START, now=NOW, timezone=SHANGHAI)
    day = {q["queue"]: q for q in queue_figures(session, list(QUEUES), day_start=DAY_START,
                                               now=NOW, live=None)}
    for series in data["queues"]:
        figures = day[series["queue"]]
        for name in ("offered", "answered", "abandoned", "answered_within_sl"):
            assert sum(series[name]) == figures[name], (series["queue"], name)


def test_a_quiet_morning_shows_the_last_two_hours(session):
    session.add(PbxQueue(name="support"))
    session.flush()
    data = interval_series(session, {"support": QUEUES["support"]}, day_start=DAY_START,
                           now=NOW, timezone=SHANGHAI)
    assert [iv["label"] for iv in data["intervals"]][0] == "08:15"
    assert len(data["intervals"]) == 8
    assert data["total"]["offered"] == [0] * 8 and data["total"]["service_level"] == [None] * 8
    assert data["total"]["sl_target"] == 0.8


def test_quarters_are_the_local_clocks_in_any_time_zone(session):
    session.add(PbxQueue(name="support"))
    # Kathmandu is UTC+05:45: its quarters are not UTC's whole hours plus quarters.
    kathmandu = ZoneInfo("Asia/Kathmandu")
    now = local(9, 40, tz=kathmandu)
    call(session, "support", queued=local(0, 0, 30, tz=kathmandu), wait_s=2, talk_s=5)
    call(session, "support", queued=local(23, 59, 30, day=9, tz=kathmandu), wait_s=2,
         talk_s=5)   # yesterday there, although 18:14 UTC of the same UTC date
    call(session, "support", queued=local(9, 30, tz=kathmandu), wait_s=2, talk_s=5)
    session.flush()
    start = local_day_start(now, kathmandu)
    assert start == datetime(2026, 3, 9, 18, 15, tzinfo=UTC)
    data = interval_series(session, {"support": QUEUES["support"]}, day_start=start,
                           now=now, timezone=kathmandu)
    labels = [iv["label"] for iv in data["intervals"]]
    # From the first call's quarter (more than two hours ago) to now's.
    assert labels[0] == "00:00" and labels[-1] == "09:30" and len(labels) == 39
    assert data["total"]["offered"][0] == 1 and data["total"]["offered"][-1] == 1
    assert sum(data["total"]["offered"]) == 2


def test_a_day_the_clocks_go_forward(session):
    """Berlin, 29 March 2026: 02:00 becomes 03:00. The quarters are elapsed time, each
    labelled with the wall clock; 01:45 is followed by 03:00."""
    berlin = ZoneInfo("Europe/Berlin")
    session.add(PbxQueue(name="support"))
    call(session, "support", queued=datetime(2026, 3, 29, 1, 50, tzinfo=berlin), wait_s=2,
         talk_s=5)
    call(session, "support", queued=datetime(2026, 3, 29, 3, 5, tzinfo=berlin), wait_s=2,
         talk_s=5)
    session.flush()
    now = datetime(2026, 3, 29, 3, 20, tzinfo=berlin)
    start = local_day_start(now, berlin)
    data = interval_series(session, {"support": QUEUES["support"]}, day_start=start, now=now,
                           timezone=berlin)
    labels = [iv["label"] for iv in data["intervals"]]
    assert labels == ["00:30", "00:45", "01:00", "01:15", "01:30", "01:45", "03:00", "03:15"]
    assert data["total"]["offered"] == [0, 0, 0, 0, 0, 1, 1, 0]


def test_each_agents_calls_handling_and_pause_time(session, morning):
    def pause(interface, state, start, end, reason="break"):
        session.add(AgentPause(interface=interface, state=state, reason=reason,
                               started_at=start, ended_at=end))
    # A1: paused across midnight (only today's 30 min count), 10 min at 09:30, lunch
    # still going since 10:00 (7.5 min at NOW); a wrap-up is no pause.
    pause(A1, "paused", local(23, 30, day=9), local(0, 30))
    pause(A1, "paused", local(9, 30), local(9, 40))
    pause(A1, "wrap_up", local(9, 41), local(9, 42), reason="wrap-up")
    pause(A1, "paused", local(10), None, reason="lunch")
    pause(A1, "paused", local(20), local(21, 1, day=9))        # yesterday
    pause(A2, "paused", local(11), None)                        # starts after now
    session.flush()
    figures = agent_figures(session, [A1, A2, "PJSIP/idle"], ["support", "vip"],
                            day_start=DAY_START, now=NOW)
    a1, a2, idle = figures[A1], figures[A2], figures["PJSIP/idle"]
    # A1: 09:01 (100 s), 09:15 (60 s), vip 09:20 transferred (200 s); not yesterday's,
    # not the one after now.
    assert a1["handled"] == 3 and a1["aht_s"] == pytest.approx((100 + 60 + 200) / 3, abs=0.1)
    # A2: 09:14:59 (50 s) and the call still going (no talk time yet).
    assert a2["handled"] == 2 and a2["aht_s"] == pytest.approx(50)
    assert a1["pause_s"] == pytest.approx(30 * 60 + 10 * 60 + 7.5 * 60)
    assert a1["wrap_up_s"] == pytest.approx(60)
    assert a1["paused_since"] == "2026-03-10T02:00:00Z"
    assert a2["pause_s"] == 0 and a2["paused_since"] is None
    assert idle == {"handled": 0, "aht_s": None, "pause_s": 0.0, "wrap_up_s": 0.0,
                    "paused_since": None}
    # Only the board's queues count.
    only_vip = agent_figures(session, [A1], ["vip"], day_start=DAY_START, now=NOW)
    assert only_vip[A1]["handled"] == 1


# --- the pauses the bridge records ------------------------------------------------------

def _snapshot(state: str, since: datetime, reason: str | None = None) -> dict:
    return {"interface": A1, "state": state, "reason": reason, "since": since.timestamp(),
            "queues": ["support"], "user_id": None}


def _pauses(session) -> list[tuple]:
    return [(p.state, p.reason, p.started_at, p.ended_at) for p in session.scalars(
        select(AgentPause).where(AgentPause.interface == A1).order_by(AgentPause.id))]


@pytest.fixture
def factory(connection, session):
    """Sessions like the bridge's, inside the test's transaction. A write comes first:
    SQLite's driver begins the transaction only at one, and a savepoint released
    without it would commit for good."""
    session.execute(delete(AgentPause).where(AgentPause.interface == "nobody"))
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                        expire_on_commit=False)


def test_the_bridge_records_each_pause_once(session, factory):
    t = [local(9, m) for m in range(0, 60, 5)]
    recorder = PauseRecorder(factory)
    batch = [_snapshot("available", t[0]), _snapshot("paused", t[1], "break"),
             _snapshot("paused", t[1], "break"),               # the queues changed: no new
             _snapshot("available", t[2]), _snapshot("on_call", t[3]),
             _snapshot("wrap_up", t[4], "wrap-up"), _snapshot("paused", t[5], "lunch")]
    for snap in batch:
        recorder.observe(A1, snap)
    # The worker retries the whole batch: nothing is repeated.
    for snap in batch:
        recorder.observe(A1, snap)
    assert recorder.flush() and recorder.pending() == 0
    assert _pauses(session) == [("paused", "break", t[1], t[2]),
                                ("wrap_up", "wrap-up", t[4], t[5]),
                                ("paused", "lunch", t[5], None)]
    # A new bridge (after a restart) sees the same lunch still going: nothing new; then
    # its end.
    again = PauseRecorder(factory)
    again.observe(A1, _snapshot("paused", t[5], "lunch"))
    again.flush()
    again.observe(A1, _snapshot("available", t[7]))
    again.flush()
    assert _pauses(session)[-1] == ("paused", "lunch", t[5], t[7])
    assert len(_pauses(session)) == 3


def test_a_new_bridge_closes_a_pause_that_ended_while_none_ran(session, factory):
    t = [local(9, m) for m in range(0, 60, 5)]
    first = PauseRecorder(factory)
    first.observe(A1, _snapshot("paused", t[1], "meeting"))
    first.flush()
    # The bridge stops; the agent goes back to work at t[3]; a new bridge's resync:
    second = PauseRecorder(factory)
    second.replace({A1: _snapshot("available", t[3])})
    second.flush()
    assert _pauses(session) == [("paused", "meeting", t[1], t[3])]
    # An agent the PBX no longer lists after a resync is not paused from then on.
    second.observe(A1, _snapshot("paused", t[4], "break"))
    second.replace({}, now=t[6])
    second.flush()
    assert _pauses(session)[-1] == ("paused", "break", t[4], t[6])


def test_the_bridges_log_thread_records_them(session, factory, redis_conn):
    """Through the bridge's own writer: the snapshots of a batch in order, written
    between batches (push_figures), and the agent's live state still goes to Redis."""
    from callcenter.bridge.calllog import AgentSnapshot, CallLogWriter, LiveReplacement

    class Publisher:
        def __init__(self):
            self.sent: list[tuple] = []

        def emit(self, event, to, payload):
            self.sent.append((event, to, payload))

    t = [local(9, m) for m in range(0, 60, 5)]
    publisher = Publisher()
    writer = CallLogWriter(factory, redis_conn, publisher, region="CN",
                           timezone="Asia/Shanghai")
    # Paused and back within one batch: the pause is not lost in the batch's merge.
    writer.handle([AgentSnapshot(A1, _snapshot("paused", t[1], "break")),
                   AgentSnapshot(A1, _snapshot("available", t[2]))])
    assert _pauses(session) == []                 # not on the live path
    writer.push_figures()
    assert _pauses(session) == [("paused", "break", t[1], t[2])]
    assert json.loads(redis_conn.hget(AGENTS_KEY, A1))["state"] == "available"
    assert [e for e, _to, _p in publisher.sent] == ["agent.update"]
    # After a reconnect the PBX's whole view: still in wrap-up since t[3].
    writer.handle([LiveReplacement({}, {A1: _snapshot("wrap_up", t[3], "wrap-up")})])
    writer.push_figures()
    assert _pauses(session)[-1] == ("wrap_up", "wrap-up", t[3], None)


def test_pauses_wait_for_a_database_that_is_away(session, factory):
    broken = sessionmaker()      # bound to nothing: every write fails
    recorder = PauseRecorder(broken)
    recorder.observe(A1, _snapshot("paused", local(9), "break"))
    recorder.observe(A1, _snapshot("available", local(9, 10)))
    assert recorder.flush() is False and recorder.pending() == 2
    recorder.flush_if_due()                      # backing off: not tried again at once
    assert recorder.stats["flush_failures"] == 1
    recorder.session_factory = factory           # the database is back
    assert recorder.flush() and recorder.pending() == 0
    assert _pauses(session) == [("paused", "break", local(9), local(9, 10))]


# --- GET /api/v1/wallboard/today --------------------------------------------------------

URL = "/api/v1/wallboard/today"


@pytest.fixture
def board(session, redis_conn):
    beijing = ensure_department(session, "Service/Beijing")
    shanghai = ensure_department(session, "Service/Shanghai")
    session.add_all([PbxQueue(name="support", display_name="北京热线", department_id=beijing.id),
                     PbxQueue(name="sh", display_name="上海热线", department_id=shanghai.id)])
    now = datetime.now(UTC)
    for i, (queue, agent) in enumerate([("support", A1), ("support", A1), ("sh", A2)]):
        call(session, queue, queued=now - timedelta(minutes=1, seconds=i), wait_s=4,
             talk_s=30, agent=agent)
    session.add(AgentPause(interface=A1, state="paused", reason="break",
                           started_at=now - timedelta(minutes=3), ended_at=None))
    session.flush()
    stamp = now.timestamp()
    redis_conn.hset(QUEUES_KEY, mapping={
        "support": json.dumps({"queue": "support", "members": [A1], "waiting": []}),
        "sh": json.dumps({"queue": "sh", "members": [A2], "waiting": []})})
    redis_conn.hset(AGENTS_KEY, mapping={
        A1: json.dumps({"interface": A1, "name": "Agent 1", "state": "paused",
                        "reason": "break", "since": stamp - 180, "queues": ["support"]}),
        A2: json.dumps({"interface": A2, "name": "Agent 2", "state": "available",
                        "reason": None, "since": stamp, "queues": ["sh"]})})


def test_today_is_for_the_wallboards_roles_only(client, make_user, board):
    for role in ("agent", "technician", "finance"):
        user = make_user(role, department="Service/Beijing", scope="all", token=True)
        assert_error(client.get(URL, headers=bearer(user)), 403)
    assert_error(client.get(URL), 401)


def test_today_has_the_supervisors_queues_and_agents(client, make_user, board):
    boss = make_user("supervisor", department="Service/Beijing", token=True)
    r = client.get(URL, headers=bearer(boss))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    data = r.get_json()
    assert_schema(data, "WallboardToday")
    assert [q["queue"] for q in data["queues"]] == ["support"]     # not Shanghai's
    assert data["queues"][0]["display_name"] == "北京热线"
    assert sum(data["total"]["offered"]) == 2 and data["total"]["sl_target"] == 0.8
    assert [a["interface"] for a in data["agents"]] == [A1]
    agent = data["agents"][0]
    assert agent["handled"] == 2 and agent["aht_s"] == pytest.approx(30)
    assert 170 <= agent["pause_s"] <= 200 and agent["paused_since"]
    admin = make_user("admin", token=True)
    everything = client.get(URL, headers=bearer(admin)).get_json()
    assert_schema(everything, "WallboardToday")
    assert [q["queue"] for q in everything["queues"]] == ["sh", "support"]
    assert sum(everything["total"]["offered"]) == 3
    assert {a["interface"] for a in everything["agents"]} == {A1, A2}
