"""The customer's 360° page and change history, through the web client on both databases:
the timeline (a saved wrap-up's note is in it; calls and tickets interleaved newest
first; only tickets the reader may see), the page's layout hooks (master data folded,
keys written in the page), and the change history in names instead of ids, in a
number of queries that does not grow with the rows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event
from webtools import login, text

from callcenter.calls.models import CallRecord, Outcome
from callcenter.calls.services import save_wrapup
from callcenter.customers.history import record_changes
from callcenter.customers.services import add_contact, update_customer
from callcenter.customers.timeline import merged_timeline
from callcenter.products.services import register_product, update_product
from callcenter.users.models import Role, Scope, User
from callcenter.users.services import ensure_department
from tickets.services import create_ticket

NOTE = "客户说前门又卡住了，约好明早九点上门，请带门泵密封圈。"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="alice", scope="department",
                     department="Service/Beijing", interface="PJSIP/1001")


@pytest.fixture
def customer(agent, make_customer):
    return make_customer(agent, "北京华通汽车运输有限公司", phones=["13812345678"], tier="vip")


@pytest.fixture
def logged_in(client, agent):
    assert login(client, "alice").status_code == 302
    return client


def add_call(session, agent, customer, call_id: str, at: datetime, **fields) -> CallRecord:
    call = CallRecord(call_id=call_id, caller_number="13812345678",
                      caller_e164="+8613812345678", customer_id=customer.id, queue="support",
                      agent_id=agent.id, agent_interface=agent.interface,
                      outcome=Outcome.ANSWERED, started_at=at,
                      answered_at=at + timedelta(seconds=8), ended_at=at + timedelta(minutes=3),
                      wait_s=8.0, talk_s=172.0, **fields)
    session.add(call)
    session.flush()
    return call


def add_ticket(app, session, actor, customer, subject: str, at: datetime, **fields):
    ticket = create_ticket(session, actor, {"type": "complaint", "subject": subject,
                                            "customer_id": customer.id, **fields},
                           settings=app.config["SETTINGS"], now=at)
    session.flush()
    return ticket


def timeline_part(page: str) -> str:
    """The one timeline's list, without what is beside and below it."""
    start = page.index("data-timeline")
    return page[start:page.index("</ol>", start)]


_ENTRY = re.compile(r'tl-all__item--(\w+)">\s*<time class="timeline__time" datetime="([^"]+)"')


# --- the timeline ---------------------------------------------------------------------------

def test_a_saved_wrapups_note_is_in_the_timeline(logged_in, session, agent, customer):
    add_call(session, agent, customer, "1795000001.1", NOW - timedelta(hours=1))
    save_wrapup(session, agent, "1795000001.1", "ticket_needed", NOTE + "<b>!</b>")
    session.flush()
    timeline = timeline_part(text(logged_in.get(f"/customers/{customer.id}")))
    assert NOTE in timeline and "&lt;b&gt;!&lt;/b&gt;" in timeline
    assert "data-wrapup-note" in timeline and "Ticket needed" in timeline
    assert "138 1234 5678" in timeline and "support" in timeline   # a number as shown


def test_calls_and_tickets_are_interleaved_newest_first(app, logged_in, session, agent,
                                                        customer):
    add_call(session, agent, customer, "1795000002.1", NOW - timedelta(hours=5))
    first = add_ticket(app, session, agent, customer, "车门无法关闭", NOW - timedelta(hours=4))
    add_call(session, agent, customer, "1795000003.1", NOW - timedelta(hours=3))
    second = add_ticket(app, session, agent, customer, "空调不制冷", NOW - timedelta(hours=2))
    add_call(session, agent, customer, "1795000004.1", NOW - timedelta(hours=1))
    timeline = timeline_part(text(logged_in.get(f"/customers/{customer.id}")))
    entries = [(kind, datetime.fromisoformat(at)) for kind, at in _ENTRY.findall(timeline)]
    assert [kind for kind, _at in entries if kind != "change"] == \
        ["call", "ticket", "call", "ticket", "call"]
    times = [at.replace(tzinfo=at.tzinfo or UTC) for _kind, at in entries]
    assert times == sorted(times, reverse=True)
    assert timeline.index(f"#{second.id} 空调不制冷") < timeline.index(f"#{first.id} 车门无法关闭")
    # Both tickets are open: the box beside the timeline lists them, newest first.
    page = text(logged_in.get(f"/customers/{customer.id}"))
    open_part = page[page.index('id="open-title"'):page.index('id="timeline-title"')]
    assert open_part.index(f"#{second.id}") < open_part.index(f"#{first.id}")
    assert "2 open tickets" in page[:page.index('id="open-title"')]   # the header says so


def test_the_timeline_shows_only_tickets_the_reader_may_see(app, logged_in, session, agent,
                                                             customer, make_user):
    boss = make_user("supervisor", username="boss", scope="all", department="Sales")
    sales = ensure_department(session, "Sales")
    hidden = add_ticket(app, session, boss, customer, "机密：价格投诉", NOW - timedelta(hours=2),
                        department_id=sales.id)
    shown = add_ticket(app, session, agent, customer, "车门无法关闭", NOW - timedelta(hours=1))
    page = text(logged_in.get(f"/customers/{customer.id}"))
    assert f"#{shown.id} 车门无法关闭" in timeline_part(page)
    assert "机密" not in page and f"/tickets/{hidden.id}" not in page
    # The supervisor, who sees every ticket, gets both.
    logged_in.post("/logout", data={"csrf_token": _token(logged_in)})
    assert login(logged_in, "boss").status_code == 302
    timeline = timeline_part(text(logged_in.get(f"/customers/{customer.id}")))
    assert "机密：价格投诉" in timeline and "车门无法关闭" in timeline


def test_changes_are_one_timeline_entry_per_save(session, agent, customer):
    add_contact(session, agent, customer, {"name": "张伟"}, region="CN")
    update_customer(session, agent, customer, {"name": "华通运输", "tier": "major",
                                               "industry": "客运"}, region="CN")
    session.flush()
    from callcenter.customers.history import customer_history
    changes = customer_history(session, customer.id)
    assert len(changes) == 5   # created, contact added, three fields
    entries = merged_timeline([], [], changes)
    assert [len(e["changes"]) for e in entries] == [5]   # one user, one moment
    later = [c for c in changes if c.field == "name"][0]
    later.changed_at = later.changed_at + timedelta(minutes=5)
    session.flush()
    entries = merged_timeline([], [], customer_history(session, customer.id))
    assert [len(e["changes"]) for e in entries] == [1, 4]


def test_the_page_folds_the_master_data_and_names_its_keys(logged_in, session, agent,
                                                           customer, make_user):
    page = text(logged_in.get(f"/customers/{customer.id}"))
    master = re.search(r'<details class="card c360-fold c360-master" id="master-data"'
                       r'( open)?>', page)
    assert master and master.group(1) is None                    # folded
    assert page.index('id="timeline-title"') < page.index('id="master-data"')
    assert page.index('id="soldto-title"') > page.index('id="master-data"')
    assert page.index('id="partners-title"') > page.index('id="master-data"')
    for key in ("t", "e", "h", "m"):
        assert f'aria-keyshortcuts="{key}"' in page, key
        assert f"<kbd>{key}</kbd>" in page, key
    assert '<script src="/static/js/customer/keys.js" type="module">' in page
    assert 'href="/static/css/customer.css"' in page
    # Who may not edit or open tickets is offered neither the buttons nor their keys.
    make_user("technician", username="tech", scope="all")
    logged_in.post("/logout", data={"csrf_token": _token(logged_in)})
    assert login(logged_in, "tech").status_code == 302
    page = text(logged_in.get(f"/customers/{customer.id}"))
    assert 'aria-keyshortcuts="e"' not in page and "<kbd>e</kbd>" not in page
    assert 'aria-keyshortcuts="m"' in page


def _token(client) -> str:
    from webtools import get_token
    return get_token(client, "/customers/")


# --- the change history in names --------------------------------------------------------------

def test_the_change_history_names_people_departments_customers_and_contacts(
        logged_in, session, agent, customer, make_user, make_customer):
    colleague = make_user("agent", username="bob", department="Service/Beijing")
    colleague.display_name = "王<b>芳</b>"
    fleet = make_customer(agent, "华通车队管理有限公司")
    outsider = make_user("agent", username="sh", department="Service/Shanghai")
    hidden = make_customer(outsider, "上海某公司")
    shanghai = ensure_department(session, "Service/Shanghai")
    update_customer(session, agent, customer, {
        "related_user_ids": [colleague.id], "ship_to_id": fleet.id,
        "department_id": shanghai.id, "tier": "major"}, region="CN")
    contact = add_contact(session, agent, customer, {"name": "张伟", "position": "经理"},
                          region="CN")
    gone = add_contact(session, agent, customer, {"name": "李四"}, region="CN")
    gone_id = gone.id
    session.delete(gone)        # no page removes a contact; a database hand may
    record_changes(session, customer.id, agent, "customer", customer.id, {
        "bill_to_id": (None, hidden.id), "responsible_id": (agent.id, 987654)})
    update_customer(session, agent, customer, {"phones": ["13812345678", "010-62345678"]},
                    region="CN")
    product = register_product(session, agent, customer, {
        "model": "HT6120", "serial_number": "LZYT0001", "warranty_end": date(2027, 1, 2)})
    update_product(session, agent, product, {"warranty_end": date(2028, 3, 4),
                                             "warranty_type": "extended"})
    session.flush()

    page = text(logged_in.get(f"/customers/{customer.id}/history"))
    rows: dict[str, str] = {}   # the rows' html by what changed ("Customer · Tier")
    for row in re.finditer(r"<tr>\s*<td[^>]*>.*?</td>\s*<td[^>]*>.*?</td>\s*"
                           r"<td[^>]*>([^<]+).*?</tr>", page, re.S):
        key = row.group(1).strip()
        rows[key] = rows.get(key, "") + row.group(0)
    related = rows["Customer · Related employees"]
    assert "王&lt;b&gt;芳&lt;/b&gt;" in related and "[" not in related
    assert "华通车队管理有限公司" in rows["Customer · Ship-to"]
    department = rows["Customer · Department"]
    assert "Shanghai" in department and "Beijing" in department
    assert "VIP" in rows["Customer · Tier"] and "Major" in rows["Customer · Tier"]
    # A customer outside the reader's scope: its number, not its name.
    assert f"Customer no. {hidden.id} (outside your access)" in rows["Customer · Bill-to"]
    assert "上海某公司" not in page
    # An id that points nowhere (a deleted record) says so.
    assert "#987654 (deleted)" in rows["Customer · Responsible employee"]
    assert "alice" in rows["Customer · Responsible employee"]
    # The contact a change is about is named; a removed one is honest about it.
    assert "张伟" in rows["Contact · added"] and "经理" not in rows["Contact · added"]
    assert f"#{gone_id} (deleted)" in rows["Contact · added"]
    assert "6234 5678" in rows["Customer · Phone numbers"]   # as shown, not E.164
    # The product a change is about, and dates and codes as the pages show them.
    warranty = rows["Product · Warranty ends"]
    assert "HT6120 LZYT0001" in warranty and "2027-01-02" not in warranty
    assert "2027" in warranty and "2028" in warranty
    assert "Extended" in rows["Product · Warranty type"]
    assert contact.id and "[]" not in page and f"[{colleague.id}]" not in page


def test_the_change_history_takes_the_same_queries_for_5_or_50_rows(
        logged_in, engine, session, agent, customer, make_customer):
    editors: list[User] = []

    def fill(count: int) -> None:
        for n in range(count):
            # People who never log in here: no password to hash (argon2 is slow on purpose).
            user = User(username=f"editor{len(editors)}", display_name=f"编辑 {n}",
                        password_hash="-", role=Role.AGENT, scope=Scope.OWN)
            editors.append(user)
            session.add(user)
            session.flush()
            partner = make_customer(agent, f"伙伴 {n}")
            contact = add_contact(session, agent, customer, {"name": f"联系人 {n}"},
                                  region="CN")
            record_changes(session, customer.id, user, "customer", customer.id, {
                "responsible_id": (agent.id, user.id), "ship_to_id": (None, partner.id),
                "related_user_ids": ([], [user.id, agent.id])})
            record_changes(session, customer.id, user, "contact", contact.id,
                           {"position": ("", "经理")})
        session.flush()

    def statements() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])   # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = logged_in.get(f"/customers/{customer.id}/history")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        return len(seen)

    fill(5)
    few = statements()
    fill(45)
    many = statements()
    page = text(logged_in.get(f"/customers/{customer.id}/history"))
    assert "联系人 44" in page and "伙伴 44" in page
    assert many == few, (few, many)
