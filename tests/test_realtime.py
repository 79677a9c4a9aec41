"""The real-time layer over real sockets: a live server (werkzeug, threaded) with
Flask-SocketIO on Redis as the message queue, python-socketio clients, events published
through Redis by ``LivePublisher`` (in this process and in another one).
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest
import redis
import requests
import socketio
from live_server import live_app, live_settings
from sqlalchemy.orm import Session

from callcenter.calls.models import PbxQueue
from callcenter.db import make_engine
from callcenter.realtime import agent_calls, live
from callcenter.realtime.publish import Audience, LivePublisher, agent_event_name, register_event
from callcenter.users.models import User
from callcenter.users.services import create_user, ensure_department, issue_api_token

PASSWORD = "realtime-pass-123"
USER_AGENT = "callcenter-tests/1.0"
WAIT_S = 5.0


@dataclass
class Live:
    base: str
    redis_url: str
    ids: dict[str, int]
    tokens: dict[str, str]
    app: object = None


def _seed(url: str) -> tuple[dict[str, int], dict[str, str]]:
    engine = make_engine(url)
    ids, tokens = {}, {}
    try:
        with Session(engine) as session:
            people = [("agent_a", "agent", "Service/Beijing", "PJSIP/2001"),
                      ("agent_b", "agent", "Service/Beijing", "PJSIP/2002"),
                      ("sup_service", "supervisor", "Service", None),
                      ("sup_sales", "supervisor", "Sales", None),
                      ("boss", "admin", None, None)]
            for username, role, department, interface in people:
                user = create_user(session, username=username, password=PASSWORD, role=role,
                                   department=department, interface=interface, locale="en")
                tokens[username] = issue_api_token(session, user)
                ids[username] = user.id
            session.add_all([
                PbxQueue(name="support",
                         department_id=ensure_department(session, "Service/Beijing").id),
                PbxQueue(name="sales", department_id=ensure_department(session, "Sales").id),
                PbxQueue(name="repairs", department_id=None)])
            session.commit()
    finally:
        engine.dispose()
    return ids, tokens


@pytest.fixture(scope="module")
def live_server(backend, fresh_database, tmp_path_factory, redis_url):
    url = fresh_database.create(backend)
    ids, tokens = _seed(url)
    with live_app(live_settings(tmp_path_factory.mktemp("rt"), url, redis_url,
                                secret="realtime-test-secret-key")) as live:
        yield Live(live.base, redis_url, ids, tokens, live.app)


@dataclass
class Client:
    """A python-socketio client that records every event it receives."""

    sio: socketio.Client
    events: queue.Queue = field(default_factory=queue.Queue)

    def next(self, name: str | None = None, timeout: float = WAIT_S):
        """The next event (of ``name``, skipping others); fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name or 'event'} within {timeout} s")
            try:
                event, data = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if name is None or event == name:
                return event, data

    def drain(self) -> list:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out


@pytest.fixture
def clients(redis_conn):
    """Factory: clients(live, auth=..., headers=...) -> connected Client."""
    made: list[socketio.Client] = []

    def connect(server: Live, *, auth=None, headers=None) -> Client:
        sio = socketio.Client(reconnection=False)
        client = Client(sio)
        sio.on("*", lambda event, data=None: client.events.put((event, data)))
        made.append(sio)
        sio.connect(server.base, auth=auth, headers=headers or {}, transports=["websocket"],
                    wait_timeout=WAIT_S)
        return client

    yield connect
    for sio in made:
        if sio.connected:
            sio.disconnect()


def _event(call_id: str, *, name: str = "Zhang San", number: str = "13812345678",
           **extra) -> dict:
    return {"call_id": call_id, "ami_read_at": time.time(),
            "caller": {"number": number, "name": name, "e164": "+86" + number},
            "customer": None, "queue": "support", "wait_s": 3.2,
            "interface": "PJSIP/2001", "reason": None, "outcome": None, "talk_s": None,
            **extra}


@pytest.fixture
def publisher(redis_conn, redis_url):
    return LivePublisher(redis_conn, redis_url)


def _login_cookie(server: Live, username: str) -> str:
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    page = http.get(server.base + "/login", timeout=WAIT_S).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = http.post(server.base + "/login", timeout=WAIT_S, allow_redirects=False,
                         data={"username": username, "password": PASSWORD,
                               "csrf_token": token})
    assert response.status_code == 302, response.text
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


# --- connect: who may ---------------------------------------------------------------

def test_connect_refused_without_auth_and_with_a_bad_token(live_server, clients):
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients(live_server)
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients(live_server, auth={"token": "not-a-token"})
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients(live_server, auth={"token": 12345})
    # A bad token is refused even with a valid session cookie next to it.
    cookie = _login_cookie(live_server, "agent_a")
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients(live_server, auth={"token": "wrong"},
                headers={"Cookie": cookie, "User-Agent": USER_AGENT})


def test_token_auth_gets_an_empty_snapshot(live_server, clients):
    client = clients(live_server, auth={"token": live_server.tokens["agent_a"]})
    _, snapshot = client.next("calls.snapshot")
    assert snapshot == {"seq": 0, "seq_run": snapshot["seq_run"], "calls": []}
    assert len(snapshot["seq_run"]) == 16


def test_cookie_auth_joins_the_users_room(live_server, clients, publisher):
    cookie = _login_cookie(live_server, "agent_b")
    client = clients(live_server, headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    assert client.next("calls.snapshot")[1]["seq"] == 0
    publisher.publish(live_server.ids["agent_b"], "call.ringing", _event("c-cookie"))
    _, data = client.next("call.ringing")
    assert data["call_id"] == "c-cookie" and data["seq"] == 1


def test_cookie_of_a_logged_out_session_is_refused(live_server, clients):
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    http.get(live_server.base + "/login", timeout=WAIT_S)  # an anonymous session cookie
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients(live_server, headers={"Cookie": cookie, "User-Agent": USER_AGENT})


# --- rooms ----------------------------------------------------------------------------

def test_agents_get_only_their_own_events_and_cannot_join_other_rooms(live_server, clients,
                                                                      publisher):
    a_id, b_id = live_server.ids["agent_a"], live_server.ids["agent_b"]
    a = clients(live_server, auth={"token": live_server.tokens["agent_a"]})
    b = clients(live_server, auth={"token": live_server.tokens["agent_b"]})
    a.next("calls.snapshot")
    b.next("calls.snapshot")
    # A tries to get into B's room and to send B a pop: there is no way to.
    for event in ("join", "join_room", "enter_room", "subscribe"):
        a.sio.emit(event, {"room": f"agent:{b_id}"})
    a.sio.emit("call.ringing", _event("forged", name="Forged"))
    a.sio.emit("calls.sync", {"user_id": b_id})
    a.next("calls.snapshot")  # calls.sync answers with A's own snapshot, nobody else's

    publisher.publish(b_id, "call.ringing", _event("for-b"))
    publisher.publish(a_id, "call.ringing", _event("for-a"))
    _, data = a.next("call.ringing")
    assert data["call_id"] == "for-a"  # B's event, published first, never came to A
    _, data = b.next("call.ringing")
    assert data["call_id"] == "for-b"
    publisher.publish(b_id, "call.dismissed", _event("marker"))
    b.next("call.dismissed")
    assert b.drain() == []  # nothing forged by A reached B
    assert a.drain() == []


def test_supervisors_get_queue_updates_of_their_departments_only(live_server, clients,
                                                                 publisher):
    service = clients(live_server, auth={"token": live_server.tokens["sup_service"]})
    sales = clients(live_server, auth={"token": live_server.tokens["sup_sales"]})
    admin = clients(live_server, auth={"token": live_server.tokens["boss"]})
    agent = clients(live_server, auth={"token": live_server.tokens["agent_a"]})
    for client in (service, sales, admin, agent):
        client.next("calls.snapshot")

    for name in ("repairs", "sales", "support"):
        publisher.emit("queue.update", name, {"queue": name, "waiting": 1})
    publisher.emit("agent.update", ["support", "sales"],
                   {"interface": "PJSIP/2001", "state": "paused"})

    def received(client, count):
        return [(event, data.get("queue")) for event, data in
                (client.next() for _ in range(count))]

    # agent.update is published last: once it is in, everything else would be too.
    assert received(service, 2) == [("queue.update", "support"), ("agent.update", None)]
    assert received(sales, 2) == [("queue.update", "sales"), ("agent.update", None)]
    assert received(admin, 4) == [("queue.update", "repairs"), ("queue.update", "sales"),
                                  ("queue.update", "support"), ("agent.update", None)]
    for client in (service, sales, admin, agent):
        assert client.drain() == []  # agent.update once, though in two of the rooms


def _department_of(server: Live, username: str) -> int:
    with server.app.extensions["db_sessionmaker"]() as session:
        return session.get(User, server.ids[username]).department_id


def test_a_registered_department_event_reaches_that_department_only(live_server, clients,
                                                                    publisher):
    """A domain's own event (as ticket.escalated will be): registered for department
    rooms, it reaches the department's people and whoever oversees it, no one else."""
    register_event("test.department-notice", Audience.DEPARTMENT)
    register_event("test.department-notice", Audience.DEPARTMENT)  # again: a no-op
    with pytest.raises(ValueError):
        register_event("test.department-notice", Audience.QUEUE)  # another meaning
    people = {name: clients(live_server, auth={"token": live_server.tokens[name]})
              for name in ("agent_a", "sup_service", "sup_sales", "boss")}
    for client in people.values():
        client.next("calls.snapshot")
    beijing = _department_of(live_server, "agent_a")     # Service/Beijing
    service = _department_of(live_server, "sup_service")  # Service, its parent
    sent = publisher.emit("test.department-notice", beijing, {"ticket": 7})
    assert sent["ticket"] == 7 and "seq" not in sent
    publisher.emit("test.department-notice", service, {"ticket": 8})
    for name in ("sup_service", "boss"):  # they oversee Service and Service/Beijing
        assert [people[name].next("test.department-notice")[1]["ticket"]
                for _ in range(2)] == [7, 8], name
    # The agent is in Service/Beijing: its notice, not the parent department's.
    assert people["agent_a"].next("test.department-notice")[1]["ticket"] == 7
    publisher.emit("test.department-notice", [beijing, service], {"ticket": 9})
    assert people["sup_service"].next("test.department-notice")[1]["ticket"] == 9
    assert people["agent_a"].next("test.department-notice")[1]["ticket"] == 9
    assert people["sup_sales"].drain() == []  # Sales sees none of it
    assert people["sup_service"].drain() == []  # in both rooms, told once
    with pytest.raises(ValueError):
        publisher.emit("test.never-registered", beijing, {})


# --- events, snapshot, ack --------------------------------------------------------------

def test_event_from_another_process_arrives_with_seq_and_ami_read_at(live_server, clients,
                                                                     redis_url):
    uid = live_server.ids["agent_a"]
    client = clients(live_server, auth={"token": live_server.tokens["agent_a"]})
    client.next("calls.snapshot")
    script = (
        "import json, sys, time, redis\n"
        "from callcenter.realtime.publish import LivePublisher\n"
        "url, uid = sys.argv[1], int(sys.argv[2])\n"
        "p = LivePublisher(redis.Redis.from_url(url), url)\n"
        "event = {'call_id': '1795455872.8', 'ami_read_at': 1795455872.913,\n"
        "         'caller': {'number': '13812345678', 'name': '张三', 'e164': '+8613812345678'},\n"
        "         'customer': {'id': 1, 'name': '北京华通', 'tier': 'vip', 'url': '/customers/1',\n"
        "                      'contacts': [], 'products': [], 'open_tickets': [],\n"
        "                      'last_calls': []},\n"
        "         'queue': 'support', 'wait_s': 3.2, 'interface': 'PJSIP/2001',\n"
        "         'reason': None, 'outcome': None, 'talk_s': None}\n"
        "print(json.dumps(p.publish(uid, 'ringing', event)))\n")
    done = subprocess.run([sys.executable, "-c", script, redis_url, str(uid)],
                          capture_output=True, text=True, timeout=60, check=True)
    sent = json.loads(done.stdout.strip().splitlines()[-1])
    _, data = client.next("call.ringing")
    received_at = time.time()
    assert data == sent
    assert data["seq"] == 1 and data["ami_read_at"] == 1795455872.913
    assert data["caller"]["name"] == "张三" and data["customer"]["tier"] == "vip"
    assert 0 <= received_at - data["sent_at"] < 2.0
    # ... and it is the call's entry in the live hash, as JSON.
    stored = json.loads(redis.Redis.from_url(redis_url).hget(
        live.AGENT_CALLS_KEY.format(uid), "1795455872.8"))
    assert stored == sent


def test_reconnect_gets_the_live_calls_without_dismissed_ones(live_server, clients,
                                                              publisher, redis_conn):
    uid = live_server.ids["agent_a"]
    publisher.publish(uid, "call.ringing", _event("c1", name="One"))
    publisher.publish(uid, "call.ringing", _event("c2", name="Two"))
    publisher.publish(uid, "call.ringing", _event("c3", name="Three"))
    publisher.publish(uid, "call.dismissed", _event("c2", reason="answered_elsewhere"))
    publisher.publish(uid, "call.answered", _event("c1", name="One"))
    publisher.publish(uid, "call.ended", _event("c3", reason="hangup", talk_s=0.0))

    first = clients(live_server, auth={"token": live_server.tokens["agent_a"]})
    _, snapshot = first.next("calls.snapshot")
    assert snapshot["seq"] == 6
    assert [(c["call_id"], c["seq"]) for c in snapshot["calls"]] == [("c1", 5), ("c3", 6)]
    publisher.publish(uid, "call.ringing", _event("c4"))
    assert first.next("call.ringing")[1]["seq"] == 7
    first.sio.disconnect()

    # While nobody listens: another pop, and c4 is dismissed.
    publisher.publish(uid, "call.dismissed", _event("c4", reason="caller_left"))
    publisher.publish(uid, "call.ringing", _event("c5", name="Five"))
    again = clients(live_server, auth={"token": live_server.tokens["agent_a"]})
    _, snapshot = again.next("calls.snapshot")
    assert snapshot["seq"] == 9
    assert [c["call_id"] for c in snapshot["calls"]] == ["c1", "c3", "c5"]
    assert snapshot["calls"][-1]["caller"]["name"] == "Five"

    # Wrap-up saved: the entry goes.
    agent_calls.remove_agent_call(redis_conn, uid, "c3")
    again.sio.emit("calls.sync")
    assert [c["call_id"] for c in again.next("calls.snapshot")[1]["calls"]] == ["c1", "c5"]


def test_stale_entries_expire(redis_conn):
    now = time.time()
    body = {"call_id": "old", "caller": {"number": "1"}}
    agent_calls.record_agent_event(redis_conn, 42, "call.ended", body, now=now - 2 * 3600)
    assert agent_calls.read_snapshot(redis_conn, 42)["calls"] == []  # past its wrap-up
    assert agent_calls.read_snapshot(redis_conn, 42,
                                     now=now - 2 * 3600)["calls"][0]["seq"] == 1
    agent_calls.record_agent_event(redis_conn, 42, "call.ringing", {"call_id": "new"},
                                   now=now)
    assert redis_conn.hkeys(live.AGENT_CALLS_KEY.format(42)) == [b"new"]  # pruned on write
    assert redis_conn.ttl(live.AGENT_CALLS_KEY.format(42)) > 0
    assert redis_conn.ttl(live.SEQ_KEY.format(42)) == -1  # the counter never expires


def test_ack_keeps_the_highest_seq(live_server, clients, publisher, redis_conn):
    uid = live_server.ids["agent_a"]
    client = clients(live_server, auth={"token": live_server.tokens["agent_a"]})
    client.next("calls.snapshot")
    for n in range(3):
        publisher.publish(uid, "ringing", _event(f"a{n}"))
    assert client.sio.call("call.ack", {"seq": 2}, timeout=WAIT_S) == {"seq": 2}
    assert agent_calls.acked_seq(redis_conn, uid) == 2
    assert client.sio.call("call.ack", {"seq": 1}, timeout=WAIT_S) == {"seq": 2}  # never back
    assert client.sio.call("call.ack", {"seq": 99}, timeout=WAIT_S) == {"seq": 3}  # <= seq
    for junk in ({"seq": "3"}, {"seq": -1}, {"seq": True}, [], "x"):
        assert client.sio.call("call.ack", junk, timeout=WAIT_S) is None
    assert agent_calls.acked_seq(redis_conn, uid) == 3
    assert agent_calls.acked_seq(redis_conn, live_server.ids["agent_b"]) == 0


def test_publisher_validates_events(publisher):
    with pytest.raises(ValueError):
        publisher.publish(1, "call.exploded", {"call_id": "x"})
    with pytest.raises(ValueError):
        publisher.publish(1, "ringing", {"caller": {}})
    with pytest.raises(ValueError):
        publisher.emit("call.ringing", "support", {"call_id": "x"})  # a user's, not a queue's
    with pytest.raises(ValueError):
        publisher.emit("queue.update", 7, {})  # a queue event goes to a queue name
    with pytest.raises(ValueError):
        publisher.emit("call.ringing", [1, 2], {"call_id": "x"})  # seq counts per user
    with pytest.raises(ValueError):
        publisher.emit("queue.updated", "support", {})  # nobody registered it
    assert agent_event_name("ended") == "call.ended"


def test_socket_io_client_library_is_served(live_server):
    response = requests.get(live_server.base + "/vendor/socket.io.min.js", timeout=WAIT_S)
    assert response.status_code == 200 and "Socket.IO" in response.text[:300]
    assert requests.get(live_server.base + "/vendor/../package.json",
                        timeout=WAIT_S).status_code == 404
    assert requests.get(live_server.base + "/vendor/ws/index.js",
                        timeout=WAIT_S).status_code == 404


def test_a_pop_with_a_customer_card_arrives_whole_and_in_order(live_server, clients,
                                                                 publisher):
    """Kilobyte-sized pops (a full customer card) arrive one after another, whole. How
    fast is bench/screen_pop.py's question; that nothing holds them back (TCP_NODELAY)
    is the next test's."""
    uid = live_server.ids["agent_a"]
    client = clients(live_server, auth={"token": live_server.tokens["agent_a"]})
    client.next("calls.snapshot")
    customer = {"id": 1, "name": "北京华通汽车运输有限公司", "tier": "vip", "url": "/customers/1",
                "contacts": [{"name": "张伟", "position": "车队经理"}] * 5,
                "products": [{"model": "HT6120 城市客车", "serial_number": "LZYTBGCL5K1000001",
                              "warranty_state": "in_warranty"}] * 10,
                "open_tickets": [], "last_calls": [{"started_at": "2026-11-20T09:15:00"}] * 5}
    for n in range(40):
        publisher.publish(uid, "call.ringing", _event(f"big{n % 5}", customer=customer))
        _, data = client.next("call.ringing")
        assert data["call_id"] == f"big{n % 5}" and data["customer"] == customer


def test_socket_io_connections_are_sent_without_nagle_delay():
    """The middleware turns TCP_NODELAY on for Socket.IO connections on Werkzeug's server:
    without it a kilobyte-sized pop waited for Nagle's algorithm and the peer's delayed
    ACK (13 ms median, 40 ms worst, measured on loopback). Other paths are left alone."""
    import socket

    from callcenter.realtime.werkzeug_socket import WerkzeugWebSocketEnd

    def nodelay(path: str) -> int:
        with socket.create_server(("127.0.0.1", 0)) as server, \
                socket.create_connection(server.getsockname()) as _client:
            conn, _ = server.accept()
            with conn:
                app = WerkzeugWebSocketEnd(lambda environ, start: [b"ok"])
                assert app({"werkzeug.socket": conn, "PATH_INFO": path}, None) == [b"ok"]
                return conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)

    assert nodelay("/socket.io/") != 0
    assert nodelay("/customers/") == 0


def test_closing_a_websocket_is_quick_and_clean(live_server, clients, caplog):
    client = clients(live_server, auth={"token": live_server.tokens["agent_b"]})
    client.next("calls.snapshot")
    started = time.monotonic()
    client.sio.disconnect()
    assert time.monotonic() - started < 1.0  # the server ends the connection
    time.sleep(0.2)
    assert not [r for r in caplog.records if "Bad request" in r.getMessage()
                or "Bad HTTP" in r.getMessage()]


def test_the_message_queue_channel_carries_the_redis_database_number():
    """Redis pub/sub ignores database numbers: without this, two installations on one
    Redis server would pop each other's calls."""
    from callcenter.realtime.live import channel_for
    assert channel_for("redis://127.0.0.1:6379/0") == "flask-socketio"
    assert channel_for("redis://redis:6379") == "flask-socketio"
    assert channel_for("redis://127.0.0.1:6379/9") == "flask-socketio:db9"
    assert channel_for("unix:///var/run/redis.sock") == "flask-socketio"
    assert channel_for("unix:///var/run/redis.sock?db=4") == "flask-socketio:db4"
