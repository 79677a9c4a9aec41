"""The call log: idempotent recording of the bridge's summaries, hostile caller IDs,
scopes in SQL, wrap-up rules, and the calls on the customer's 360° page.

The scope matrix computes every expectation from the rules (calls/services.py docstring):
a caller sees the calls they handled, the calls of customers in their customer scope,
as a supervisor the calls of their department's queues; admins and scope ``all`` see all.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from webtools import login, text

from callcenter.calls import recording, services
from callcenter.calls.models import CallRecord, Outcome, PbxQueue
from callcenter.calls.recording import ensure_queue, record_call
from callcenter.calls.services import (
    CallNotFound,
    calls_query,
    get_call,
    list_calls,
    save_wrapup,
)
from callcenter.calls.signals import call_wrapped_up
from callcenter.core.domains import init_domains
from callcenter.core.errors import PermissionDenied, ValidationError
from callcenter.customers.merge import merge_customers
from callcenter.customers.models import Customer
from callcenter.customers.models import Phone as PhoneRow
from callcenter.users.models import Role, Scope, User
from callcenter.users.services import ensure_department, token_digest

T0 = 1795455872.25  # epoch seconds of the first event of a call
AGENT_IF = "Local/agent1@agents/n"


def summary(call_id: str = "1795455872.8", **changes) -> dict[str, Any]:
    base = {"call_id": call_id, "queue_uniqueid": "1795455872.9",
            "caller_number": "13812345678", "caller_name": "Zhang San", "customer_id": None,
            "queue": "support", "agent_interface": None, "agents": [],
            "outcome": "in_progress", "started_at": T0, "queued_at": T0 + 1.5,
            "answered_at": None, "ended_at": None, "wait_s": None, "talk_s": None}
    base.update(changes)
    return base


def answered(call_id: str = "1795455872.8", **changes):
    values = {"agent_interface": AGENT_IF, "agents": [AGENT_IF], "answered_at": T0 + 4.7,
              "wait_s": 3.2, **changes}
    return summary(call_id, **values)


def finished(call_id: str = "1795455872.8", **changes):
    values = {"outcome": "answered", "ended_at": T0 + 64.7, "talk_s": 60.0, **changes}
    return answered(call_id, **values)


def count_calls(session) -> int:
    return session.scalar(select(func.count()).select_from(CallRecord))


class QueryCounter:
    def __init__(self, connection):
        self.connection, self.statements = connection, []

    def __enter__(self):
        event.listen(self.connection, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.connection, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    @property
    def selects(self) -> int:
        return sum(s.lstrip().upper().startswith("SELECT") for s in self.statements)


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="agent1", department="Service/Beijing",
                     interface=AGENT_IF)


@pytest.fixture
def customer(make_user, make_customer):
    owner = make_user("supervisor", department="Service/Beijing")
    return make_customer(owner, "北京华通汽车有限公司", phones=["+86 138 1234 5678"])


# --- recording -----------------------------------------------------------------------------

def test_first_summary_creates_the_row_with_agent_customer_and_queue(session, agent, customer):
    call = record_call(session, finished(), region="CN")
    assert count_calls(session) == 1
    assert call.call_id == "1795455872.8" and call.queue_uniqueid == "1795455872.9"
    assert (call.caller_number, call.caller_name, call.caller_e164) == \
        ("13812345678", "Zhang San", "+8613812345678")
    assert call.customer_id == customer.id          # found by the number
    assert call.agent_id == agent.id and call.agent_interface == AGENT_IF
    assert call.agents == [AGENT_IF]
    assert call.outcome == Outcome.ANSWERED
    assert call.started_at == datetime.fromtimestamp(T0, UTC)
    assert call.ended_at == datetime.fromtimestamp(T0 + 64.7, UTC)
    assert (call.wait_s, call.talk_s) == (3.2, 60.0)
    assert session.scalar(select(PbxQueue.name)) == "support"


def test_same_summary_twice_and_the_whole_call_replayed_keep_one_row(session, agent, customer,
                                                                     connection):
    for s in (summary(), summary(), answered(), answered(), finished(), finished()):
        record_call(session, s, region="CN")
    assert count_calls(session) == 1
    session.expire_all()
    call = session.scalar(select(CallRecord))
    stamp = call.updated_at
    with QueryCounter(connection) as q:
        again = record_call(session, finished(), region="CN")
    assert again.id == call.id and again.updated_at == stamp
    # A replay of a known call: one SELECT of the row, no write at all.
    assert len(q.statements) == 1, q.statements


def test_an_older_summary_never_takes_a_final_row_back(session, agent):
    record_call(session, finished(), region="CN")
    for older in (summary(), answered(), summary(outcome="in_progress", agents=[])):
        call = record_call(session, older, region="CN")
        assert call.outcome == Outcome.ANSWERED
        assert call.ended_at is not None and call.talk_s == 60.0
        assert call.agent_id == agent.id and call.agents == [AGENT_IF]
    assert count_calls(session) == 1


def test_an_older_live_summary_does_not_clear_what_a_newer_one_said(session, agent):
    record_call(session, answered(), region="CN")
    call = record_call(session, summary(), region="CN")  # queued only: knows no answer yet
    assert call.answered_at is not None and call.agent_id == agent.id
    assert call.wait_s == 3.2 and call.agents == [AGENT_IF]


def test_a_later_summary_updates_the_row(session, agent, make_user):
    other = make_user("agent", username="agent2", interface="Local/agent2@agents/n")
    record_call(session, summary(), region="CN")
    call = record_call(session, answered(), region="CN")
    assert call.agent_id == agent.id and call.outcome == Outcome.IN_PROGRESS
    # Transferred to agent2, then to an interface nobody has: the agent is who has it now.
    call = record_call(session, answered(agent_interface="Local/agent2@agents/n",
                                         agents=[AGENT_IF, "Local/agent2@agents/n"]), region="CN")
    assert call.agent_id == other.id
    call = record_call(session, finished(outcome="transferred", agent_interface="PJSIP/9999",
                                         agents=[AGENT_IF, "Local/agent2@agents/n",
                                                 "PJSIP/9999"]), region="CN")
    assert call.agent_id is None and call.outcome == Outcome.TRANSFERRED
    assert call.agents == [AGENT_IF, "Local/agent2@agents/n", "PJSIP/9999"]


def test_the_summarys_customer_wins_and_a_stale_one_falls_back(session, customer, make_user,
                                                               make_customer):
    other = make_customer(make_user("admin"), "Other Co")
    call = record_call(session, summary("c1", customer_id=other.id), region="CN")
    assert call.customer_id == other.id                   # the FastAGI lookup's answer
    call = record_call(session, summary("c2", customer_id=str(other.id)), region="CN")
    assert call.customer_id == other.id                   # channel variables are text
    call = record_call(session, summary("c3", customer_id=2**31 - 1), region="CN")
    assert call.customer_id == customer.id                # no such customer: by number
    call = record_call(session, summary("c4", customer_id="garbage"), region="CN")
    assert call.customer_id == customer.id
    other.merged_into_id = customer.id
    session.flush()
    call = record_call(session, summary("c5", customer_id=other.id, caller_number="anonymous"),
                       region="CN")
    assert call.customer_id == customer.id                # merged away: the survivor


def test_an_unknown_caller_is_linked_once_the_customer_exists(session, make_user,
                                                              make_customer):
    call = record_call(session, summary(caller_number="13912345678"), region="CN")
    assert call.customer_id is None
    created = make_customer(make_user("agent"), "New caller", phones=["139 1234 5678"])
    call = record_call(session, finished(caller_number="13912345678"), region="CN")
    assert call.customer_id == created.id


def test_a_row_inserted_concurrently_is_updated_not_duplicated(session, agent, monkeypatch):
    original = recording._insert_unless_exists

    def racing(sess, model, key, values):
        if model is CallRecord:  # another bridge process records an older summary first
            monkeypatch.setattr(recording, "_insert_unless_exists", original)
            record_call(sess, summary(), region="CN")
        return original(sess, model, key, values)

    monkeypatch.setattr(recording, "_insert_unless_exists", racing)
    call = record_call(session, finished(), region="CN")
    assert count_calls(session) == 1
    assert call.outcome == Outcome.ANSWERED and call.agent_id == agent.id
    assert recording._insert_unless_exists(session, PbxQueue, "name", {"name": "support"}) is None


def test_recording_a_new_call_takes_a_few_queries(session, agent, customer, connection):
    ensure_queue(session, "support")
    with QueryCounter(connection) as q:
        record_call(session, finished("fresh"), region="CN")
    # The row, the agent, the customer by phone, the queue; then the insert.
    assert q.selects <= 4, q.statements
    assert len(q.statements) <= 8, q.statements
    with QueryCounter(connection) as q:
        record_call(session, finished("fresh", talk_s=61.0), region="CN")
    assert q.selects == 1 and len(q.statements) == 2, q.statements


HOSTILE = [
    ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", None),
    ("1" * 23, "Twenty three digits", None),
    ("anonymous", "anonymous", None),
    ("<unknown>", "<unknown>", None),
    ("", "", None),
    (None, None, None),
    ("13812345678\x00", "张三\x1b[31m红\u202e", "+8613812345678"),
    ("+86 138 1234 5678\r\n", "Line\nbreak\ttab", "+8613812345678"),
    ("9" * 500, "中" * 500, None),
    (b"\xff\xfe138", b"\xe5\xbc\xa0\xff", None),
    ("\ud800138", "lone \udfff surrogate", None),
    ("'; DROP TABLE calls; --", "Robert'); --", None),
]


@pytest.mark.parametrize("number,name,e164", HOSTILE)
def test_hostile_caller_ids_are_cleaned_never_refused(session, number, name, e164):
    call = record_call(session, finished(caller_number=number, caller_name=name), region="CN")
    session.expire_all()
    call = session.get(CallRecord, call.id)
    assert call.caller_e164 == e164
    for value, limit in ((call.caller_number, 80), (call.caller_name, 120)):
        assert len(value) <= limit
        assert all(ch.isprintable() for ch in value), repr(value)
    if isinstance(name, str) and name.startswith("中"):
        assert call.caller_name == "中" * 120  # cut by characters, never mid-character
    if name == "张三\x1b[31m红\u202e":
        assert call.caller_name == "张三[31m红"
    if number == "<script>alert(1)</script>":
        assert call.caller_number == number  # kept as text; templates escape it
    assert count_calls(session) == 1


def test_odd_times_and_durations_become_none_and_a_call_id_is_required(session):
    call = record_call(session, summary(started_at=None, queued_at=float("nan"),
                                        answered_at="garbage", wait_s=-1, talk_s=math.inf,
                                        outcome="exploded", agents="PJSIP/1",
                                        queue="\x00"), region="CN")
    assert call.started_at is not None and call.queued_at is None
    assert call.answered_at is None and call.wait_s is None and call.talk_s is None
    assert call.outcome == Outcome.IN_PROGRESS and call.agents == ["PJSIP/1"]
    assert call.queue is None
    with pytest.raises(ValueError):
        record_call(session, summary(call_id=None), region="CN")
    with pytest.raises(ValueError):
        record_call(session, summary(call_id="\x00 "), region="CN")


def test_summary_may_be_an_object_with_attributes(session, agent):
    @dataclass(frozen=True)
    class CallSummary:
        call_id: str = "obj.1"
        caller_number: str = "010-62345678"
        caller_name: str = "Li"
        queue: str = "repairs"
        agent_interface: str = AGENT_IF
        agents: tuple = (AGENT_IF,)
        outcome: Outcome = Outcome.ANSWERED
        started_at: float = T0
        ended_at: float = T0 + 10
        talk_s: float = 5.0

    call = record_call(session, CallSummary(), region="CN")
    assert call.caller_e164 == "+861062345678" and call.outcome == Outcome.ANSWERED
    assert call.agent_id == agent.id and call.queue == "repairs"


def test_ensure_queue_creates_once(session):
    first = ensure_queue(session, "support")
    assert ensure_queue(session, " support ") is first
    assert first.display_name == "support" and first.department_id is None
    assert session.scalar(select(func.count()).select_from(PbxQueue)) == 1
    with pytest.raises(ValueError):
        ensure_queue(session, "\x07")


def test_merging_customers_moves_their_calls(session, make_user, make_customer):
    init_domains()  # what every process does: connects the calls domain's receiver
    sup = make_user("supervisor", department="Service/Beijing")
    survivor = make_customer(sup, "Huatong", phones=["13812345678"])
    merged = make_customer(sup, "Huatong dup", phones=["13912345678"])
    record_call(session, summary("m1", customer_id=merged.id), region="CN")
    record_call(session, summary("m2", customer_id=survivor.id), region="CN")
    merge = merge_customers(session, sup, survivor, merged)
    assert '"calls": 1' in merge.details
    ids = set(session.scalars(select(CallRecord.customer_id)))
    assert ids == {survivor.id}


# --- the scope matrix ----------------------------------------------------------------------

SCOPES = [Scope.OWN, Scope.RELATED, Scope.DEPARTMENT, Scope.ALL]
CALLER_IF = "PJSIP/caller"


@dataclass
class CallWorld:
    caller: User
    calls: dict[str, CallRecord] = field(default_factory=dict)


def _user(session, username, role, scope, department, interface=None) -> User:
    token = secrets.token_urlsafe(16)
    user = User(username=username, display_name=username.title(), password_hash="!",
                role=role, scope=scope, department_id=department.id, interface=interface,
                api_token_hash=token_digest(token))
    session.add(user)
    session.flush()
    user.plain_token = token
    return user


def build_call_world(session, role: Role, scope: Scope) -> CallWorld:
    """One caller, and one call in each relation to them (see ``visible``)."""
    home = ensure_department(session, "Calls/Home")
    sub = ensure_department(session, "Calls/Home/Sub")
    other = ensure_department(session, "Calls/Other")
    caller = _user(session, "caller", role, scope, home, CALLER_IF)
    colleague = _user(session, "colleague", Role.AGENT, Scope.OWN, sub, "PJSIP/colleague")
    stranger = _user(session, "stranger", Role.AGENT, Scope.OWN, other, "PJSIP/stranger")
    ensure_queue(session, "home-q").department_id = sub.id
    ensure_queue(session, "other-q").department_id = other.id
    customers = {}
    for n, (key, owner, dept) in enumerate([("own", caller, other),
                                            ("related", stranger, other),
                                            ("department", colleague, sub),
                                            ("elsewhere", stranger, other)]):
        c = Customer(name=f"Calls {key}", name_key=f"calls{key}", responsible_id=owner.id,
                     department_id=dept.id)
        if key == "related":
            c.related_users = [caller]
        session.add(c)
        session.flush()
        e164 = f"+86139000000{n:02d}"
        session.add(PhoneRow(customer_id=c.id, raw=e164, e164=e164))
        customers[key] = c
    session.flush()
    world = CallWorld(caller=caller)
    plan = {  # relation -> (customer, queue, agent interfaces)
        "handled": ("elsewhere", "other-q", ["PJSIP/stranger", CALLER_IF]),
        "handled_before_transfer": ("elsewhere", "other-q", [CALLER_IF, "PJSIP/stranger"]),
        "own_customer": ("own", "other-q", ["PJSIP/stranger"]),
        "related_customer": ("related", "other-q", ["PJSIP/stranger"]),
        "department_customer": ("department", "other-q", ["PJSIP/stranger"]),
        "department_queue": (None, "home-q", ["PJSIP/stranger"]),
        "elsewhere": ("elsewhere", "other-q", ["PJSIP/stranger"]),
    }
    for n, (relation, (cust, queue, agents)) in enumerate(plan.items()):
        world.calls[relation] = record_call(session, finished(
            f"world.{relation}", customer_id=customers[cust].id if cust else None,
            caller_number="anonymous", queue=queue, agent_interface=agents[-1],
            agents=agents, started_at=T0 + n * 100, ended_at=T0 + n * 100 + 50), region="CN")
    return world


#: Which relations of a call to the caller each scope's customer part covers.
CUSTOMER_SCOPE = {Scope.OWN: {"own_customer"},
                  Scope.RELATED: {"own_customer", "related_customer"},
                  Scope.DEPARTMENT: {"own_customer", "related_customer",
                                     "department_customer"}}
HANDLED = {"handled", "handled_before_transfer"}


def visible(role: Role, scope: Scope, relation: str) -> bool:
    if role == Role.ADMIN or scope == Scope.ALL:
        return True
    if relation in HANDLED or relation in CUSTOMER_SCOPE[scope]:
        return True
    return role == Role.SUPERVISOR and relation == "department_queue"


def may_wrap_up(role: Role, scope: Scope, relation: str) -> str:
    """"ok", "denied" (sees it, may not wrap it up) or "not_found"."""
    if not visible(role, scope, relation):
        return "not_found"
    if relation in HANDLED or role in (Role.SUPERVISOR, Role.ADMIN):
        return "ok"
    return "denied"


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_list_calls_scope_matrix(session, role):
    world = build_call_world(session, role, Scope.OWN)
    failures = []
    for scope in SCOPES:
        world.caller.scope = scope
        session.flush()
        seen = {c.call_id for c in session.scalars(calls_query(world.caller, tz="Asia/Shanghai"))}
        page = list_calls(session, world.caller, per_page=100, tz="Asia/Shanghai")
        assert {c.call_id for c in page.items} == seen and page.total == len(seen)
        for relation, call in world.calls.items():
            want = visible(role, scope, relation)
            if (call.call_id in seen) != want:
                failures.append(f"{role}/{scope} {relation}: seen={not want}")
            try:
                get_call(session, world.caller, call.call_id)
                got = True
            except CallNotFound:
                got = False
            if got != want:
                failures.append(f"{role}/{scope} {relation}: get_call={got}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_wrapup_permission_matrix(session, connection, role):
    world = build_call_world(session, role, Scope.OWN)
    failures = []
    for scope in SCOPES:
        world.caller.scope = scope
        session.flush()
        for relation, call in world.calls.items():
            want = may_wrap_up(role, scope, relation)
            savepoint = connection.begin_nested()
            try:
                # Within CALL_ACCESS_HOURS of the call: a handled call of a customer
                # outside the scope may be wrapped up (tests/security/test_call_access).
                save_wrapup(session, world.caller, call.call_id, "resolved", "ok",
                            now=call.started_at + timedelta(hours=1))
                got = "ok"
            except PermissionDenied:
                got = "denied"
            except CallNotFound:
                got = "not_found"
            finally:
                savepoint.rollback()
                session.expire_all()
            if got != want:
                failures.append(f"{role}/{scope} {relation}: {got}, expected {want}")
    assert not failures, "\n".join(failures)


def test_an_inactive_user_sees_no_calls(session):
    world = build_call_world(session, Role.ADMIN, Scope.ALL)
    world.caller.active = False
    session.flush()
    assert list(session.scalars(calls_query(world.caller, tz="Asia/Shanghai"))) == []


def test_scopes_are_sql_not_python(session):
    world = build_call_world(session, Role.AGENT, Scope.OWN)
    sql = str(calls_query(world.caller, tz="Asia/Shanghai").compile(session.get_bind()))
    assert "calls.agent_id" in sql and "customers" in sql


# --- filters -------------------------------------------------------------------------------

def test_filters(session):
    world = build_call_world(session, Role.ADMIN, Scope.ALL)
    admin = world.caller
    ids = lambda **kw: [c.call_id for c in session.scalars(  # noqa: E731
        calls_query(admin, **{"tz": "Asia/Shanghai", **kw}))]
    everything = ids()
    assert everything[0] == "world.elsewhere" and len(everything) == 7  # newest first
    assert ids(queue="home-q") == ["world.department_queue"]
    assert ids(queue="nope") == []
    assert set(ids(agent=admin.id)) == {"world.handled"}
    assert set(ids(agent="caller")) == {"world.handled"}
    assert set(ids(agent=str(admin.id))) == {"world.handled"}
    assert ids(agent="nobody") == []
    own = world.calls["own_customer"].customer_id
    assert ids(customer=own) == ["world.own_customer"]
    assert ids(customer=str(own)) == ["world.own_customer"]
    assert ids(outcome="abandoned") == [] and len(ids(outcome="answered")) == 7
    start = datetime.fromtimestamp(T0 + 550, UTC)
    assert ids(since=start) == ["world.elsewhere"]
    assert ids(since=start.isoformat()) == ["world.elsewhere"]
    local = start.astimezone(services.ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert ids(since=local.isoformat()) == ["world.elsewhere"]     # naive: call center time
    assert ids(since=local.isoformat(), tz="UTC") == []   # the same wall time in UTC: later
    assert len(ids(since=date(2000, 1, 1))) == 7 and ids(since="2999-01-01") == []


@pytest.mark.parametrize("name,value", [
    ("since", "yesterday"), ("since", "2026-13-01"), ("since", 17), ("since", "x" * 41),
    ("queue", "q" * 81), ("queue", "a\x00b"), ("agent", "a" * 81), ("agent", True),
    ("agent", 0), ("customer", "abc"), ("customer", -1), ("customer", 2**40),
    ("outcome", "lost"), ("outcome", 3),
])
def test_bad_filters_name_the_field(session, make_user, name, value):
    user = make_user("admin")
    with pytest.raises(ValidationError) as exc:
        calls_query(user, tz="Asia/Shanghai", **{name: value})
    assert name in exc.value.errors


def test_list_calls_pages(session):
    world = build_call_world(session, Role.ADMIN, Scope.ALL)
    page = list_calls(session, world.caller, page=2, per_page=3, tz="Asia/Shanghai")
    assert (page.total, page.pages, page.page, len(page.items)) == (7, 3, 2, 3)
    assert [c.call_id for c in page.items] == ["world.related_customer",
                                               "world.own_customer",
                                               "world.handled_before_transfer"]
    assert list_calls(session, world.caller, per_page=1000, tz="Asia/Shanghai").per_page == 100
    with pytest.raises(ValidationError) as exc:
        list_calls(session, world.caller, page=0, tz="Asia/Shanghai")
    assert "page" in exc.value.errors


# --- wrap-up -------------------------------------------------------------------------------

def test_wrapup_is_saved_with_who_and_when_and_can_be_replaced(session, agent, make_user):
    record_call(session, finished(), region="CN")
    before = datetime.now(UTC) - timedelta(seconds=1)
    call = save_wrapup(session, agent, "1795455872.8", "callback", "  回电：明天上午\r\n谢谢 ")
    assert call.disposition == "callback" and call.wrapup_notes == "回电：明天上午\n谢谢"
    assert call.wrapup_by_id == agent.id and call.wrapup_at >= before
    sup = make_user("supervisor", scope="all")
    call = save_wrapup(session, sup, "1795455872.8", "ticket_needed", None)
    assert (call.disposition, call.wrapup_notes, call.wrapup_by_id) == \
        ("ticket_needed", "", sup.id)
    # A later summary from the bridge leaves the wrap-up alone.
    call = record_call(session, finished(talk_s=61.0), region="CN")
    assert call.disposition == "ticket_needed" and call.wrapup_by_id == sup.id


@pytest.mark.parametrize("disposition,notes,fields", [
    ("fixed", "", {"disposition"}),
    (None, "", {"disposition"}),
    (["resolved"], "", {"disposition"}),
    ("resolved", "x" * 2001, {"notes"}),
    ("resolved", 42, {"notes"}),
    ("resolved", "bell\x07", {"notes"}),
    ("nope", "y" * 5000, {"disposition", "notes"}),
])
def test_wrapup_validation(session, agent, disposition, notes, fields):
    record_call(session, finished(), region="CN")
    with pytest.raises(ValidationError) as exc:
        save_wrapup(session, agent, "1795455872.8", disposition, notes)
    assert set(exc.value.errors) == fields
    assert session.scalar(select(CallRecord.disposition)) is None


def test_wrapup_notes_at_the_limit_and_unknown_calls(session, agent):
    record_call(session, finished(), region="CN")
    call = save_wrapup(session, agent, "1795455872.8", "other", "注" * 2000)
    assert len(call.wrapup_notes) == 2000
    for call_id in ("nope", "", "x" * 65, "a\x00b", None):
        with pytest.raises(CallNotFound):
            save_wrapup(session, agent, call_id, "other", "")


def test_call_wrapped_up_is_sent_after_commit(session, connection, agent):
    seen = []

    def receiver(call_id, **data):
        seen.append((call_id, data))

    def unit_of_work(disposition: str) -> None:
        """A unit of work of its own (savepoint inside the test's), as a request has."""
        work = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            try:
                save_wrapup(work, work.get(User, agent.id), "1795455872.8", disposition, "")
            except ValidationError:
                work.rollback()
            assert len(seen) == sent_before  # nothing before the commit
            work.commit()
        finally:
            work.close()

    record_call(session, finished(), region="CN")
    session.flush()
    with call_wrapped_up.connected_to(receiver):
        sent_before = 0
        unit_of_work("resolved")
        sent_before = 1
        unit_of_work("exploded")  # refused: nothing to tell
    assert seen == [("1795455872.8", {"user_id": agent.id, "disposition": "resolved"})]
    unit_of_work("other")  # disconnected after the block: no test receiver any more
    assert len(seen) == 1


# --- the 360° page -------------------------------------------------------------------------

def test_customer_page_lists_the_calls_escaped_in_local_time(client, session, make_user,
                                                             make_customer):
    user = make_user("agent", username="alice", department="Service/Beijing",
                     interface=AGENT_IF)
    user.display_name = "Alice <b>Wang</b>"
    c = make_customer(user, "Huatong", phones=["13812345678"])
    start = datetime(2026, 12, 1, 0, 30, tzinfo=UTC).timestamp()  # 08:30 in Shanghai
    record_call(session, finished("p1", customer_id=c.id, started_at=start,
                                  caller_name="<script>x</script>", wait_s=65.4, talk_s=3725),
                region="CN")
    record_call(session, summary("p2", customer_id=c.id, caller_number="anonymous",
                                 outcome="abandoned", started_at=start - 90000,
                                 ended_at=start - 89000, wait_s=12), region="CN")
    save_wrapup(session, user, "p1", "ticket_needed", "<i>note</i>")
    session.flush()
    login(client, "alice")
    page = text(client.get(f"/customers/{c.id}"))
    calls = page[page.index('id="calls-title"'):page.index('id="tickets-title"')]
    assert "<script>x</script>" not in calls and "&lt;script&gt;x&lt;/script&gt;" in calls
    assert "&lt;i&gt;note&lt;/i&gt;" in calls and "Alice &lt;b&gt;Wang&lt;/b&gt;" in calls
    assert "8:30" in calls                       # Asia/Shanghai, not UTC 0:30
    assert "1:05" in calls and "1:02:05" in calls and "0:12" in calls
    assert "Answered" in calls and "Abandoned" in calls and "Ticket needed" in calls
    assert "support" in calls and "anonymous" in calls
    assert calls.index("8:30") < calls.index("7:30")     # newest first

    client.post("/language", data={"locale": "zh_CN", "csrf_token": _token(client)})
    page = text(client.get(f"/customers/{c.id}"))
    calls = page[page.index('id="calls-title"'):page.index('id="tickets-title"')]
    for word in ("已接听", "已放弃", "需建工单", "队列", "通话小结"):
        assert word in calls, word


def _token(client):
    from webtools import get_token
    return get_token(client, "/customers/")


def test_customer_page_without_calls_says_so(client, make_user, make_customer):
    user = make_user("agent", username="alice")
    c = make_customer(user, "Quiet Co")
    login(client, "alice")
    page = text(client.get(f"/customers/{c.id}"))
    assert "No calls with this customer yet." in page
