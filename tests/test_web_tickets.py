"""The service desk's pages: the work queues, a ticket, the new-ticket form (prefilled
from what the desk knows), transitions, comments, a stale version, scope, CSRF, the
customer's 360° timeline and the wallboard's ticket panel.

CSRF stays enabled: every POST carries a token fetched from a rendered page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from webtools import csrf_token, login, text

from callcenter.calls.models import CallRecord, Outcome
from callcenter.customers.services import add_contact
from callcenter.products.models import InstalledProduct
from tickets.figures import ticket_panel
from tickets.models import (
    SlaState,
    Ticket,
    TicketComment,
    TicketHistory,
    TicketStatus,
    ticket_calls,
)
from tickets.services import create_ticket


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="alice", scope="department",
                     department="Service/Beijing")


@pytest.fixture
def customer(agent, make_customer, session):
    c = make_customer(agent, "北京华通汽车运输有限公司", phones=["13812345678"])
    add_contact(session, agent, c, {"name": "张伟", "phones": ["13900001111"]}, region="CN")
    session.add(InstalledProduct(model="HT6120", serial_number="LZYT0001", customer_id=c.id))
    session.flush()
    return c


@pytest.fixture
def logged_in(client, agent):
    assert login(client, "alice").status_code == 302
    return client


def new_ticket(app, session, actor, customer, **fields) -> Ticket:
    data = {"type": "complaint", "subject": "车门无法关闭", "description": "前门卡住",
            "customer_id": customer.id, "priority": "high", **fields}
    ticket = create_ticket(session, actor, data, settings=app.config["SETTINGS"])
    session.flush()
    return ticket


def token(client, url: str) -> str:
    return csrf_token(text(client.get(url)))


# --- the list ------------------------------------------------------------------------------

def test_work_queues_list_my_tickets_with_words_not_colour(app, logged_in, session, agent,
                                                           customer):
    ticket = new_ticket(app, session, agent, customer, assignee_id=agent.id)
    page = text(logged_in.get("/tickets/?queue=mine"))
    assert f"#{ticket.id}" in page and "车门无法关闭" in page
    assert "Assigned" in page and "High" in page and "On track" in page
    assert 'aria-current="page">Mine' in page
    for tab in ("My team", "Unassigned", "At risk", "Breached", "All I can see"):
        assert tab in page
    empty = text(logged_in.get("/tickets/?queue=breached"))
    assert "No ticket has missed its deadline." in empty
    found = text(logged_in.get("/tickets/?queue=all&q=车门"))
    assert f"#{ticket.id}" in found
    none = text(logged_in.get("/tickets/?queue=all&q=nothing-like-this"))
    assert f"#{ticket.id}" not in none
    # A tampered filter is dropped, not a 500.
    assert logged_in.get("/tickets/?queue=all&status=bogus").status_code == 200


def test_pages_speak_chinese(app, logged_in, session, agent, customer):
    ticket = new_ticket(app, session, agent, customer)
    logged_in.post("/language", data={"locale": "zh_CN",
                                      "csrf_token": token(logged_in, "/tickets/")})
    page = text(logged_in.get(f"/tickets/{ticket.id}"))
    for word in ("客户需求", "处理人", "历史记录", "内部备注"):
        assert word in page, word


# --- a new ticket ---------------------------------------------------------------------------

def test_new_ticket_form_is_prefilled_from_the_desk(logged_in, session, customer):
    contact_id = session.scalar(select(func.min(customer.contacts[0].__class__.id)))
    product = session.scalar(select(InstalledProduct))
    page = text(logged_in.get(f"/tickets/new?customer_id={customer.id}&phone=13900001111"
                              f"&installed_product_id={product.id}&call_id=1795455872.8"))
    assert "北京华通汽车运输有限公司" in page
    assert re.search(rf'<option selected value="{contact_id}">', page)
    assert re.search(rf'<option selected value="{product.id}">', page)
    assert 'value="1795455872.8"' in page
    # A number no contact has goes into the reporter fields instead.
    page = text(logged_in.get(f"/tickets/new?customer_id={customer.id}&phone=13700009999"
                              "&name=王先生"))
    assert 'value="13700009999"' in page and 'value="王先生"' in page


def test_new_ticket_without_customer_asks_for_one_by_the_callers_number(logged_in, customer):
    page = text(logged_in.get("/tickets/new?phone=13812345678&call_id=9.1"))
    assert "whose is it?" in page
    assert f"customer_id={customer.id}" in page and "call_id=9.1" in page


def test_create_a_ticket_with_a_new_reporter(logged_in, session, customer):
    url = f"/tickets/new?customer_id={customer.id}"
    r = logged_in.post("/tickets/new", data={
        "csrf_token": token(logged_in, url), "customer_id": customer.id,
        "type": "inquiry", "priority": "normal", "subject": "How do I reset the display?",
        "description": "", "contact_id": "", "reporter_name": "王先生",
        "reporter_phone": "13700009999", "installed_product_id": "", "channel": "phone",
        "assignee_id": "", "call_id": ""})
    assert r.status_code == 302, text(r)
    ticket = session.scalar(select(Ticket).where(Ticket.subject.startswith("How do I")))
    assert r.headers["Location"].endswith(f"/tickets/{ticket.id}")
    assert ticket.contact_id is not None  # the reporter became a contact


def test_a_ticket_made_from_the_call_pop_is_linked_to_the_call(logged_in, session, agent,
                                                                customer):
    """What the desk's "New ticket" sends (tests/test_browser_tickets.py drives it in a
    browser on SQLite only): contact, product and the ringing call, on both databases."""
    contact_id = session.scalar(select(func.min(customer.contacts[0].__class__.id)))
    product = session.scalar(select(InstalledProduct))
    call = CallRecord(call_id="1795455872.8", queue="support", caller_number="13900001111",
                      caller_e164="+8613900001111", customer_id=customer.id,
                      agent_id=agent.id, agents=[], outcome=Outcome.IN_PROGRESS,
                      started_at=datetime.now(UTC))
    session.add(call)
    session.flush()
    url = (f"/tickets/new?customer_id={customer.id}&phone=13900001111"
           f"&installed_product_id={product.id}&call_id=1795455872.8")
    r = logged_in.post("/tickets/new", data={
        "csrf_token": token(logged_in, url), "customer_id": customer.id,
        "type": "complaint", "priority": "urgent", "subject": "车门无法关闭，车辆停运",
        "description": "前门气泵故障", "contact_id": contact_id, "reporter_name": "",
        "reporter_phone": "", "installed_product_id": product.id, "channel": "phone",
        "assignee_id": "", "call_id": "1795455872.8"})
    assert r.status_code == 302, text(r)
    ticket = session.scalar(select(Ticket).where(Ticket.subject == "车门无法关闭，车辆停运"))
    assert (ticket.contact_id, ticket.installed_product_id) == (contact_id, product.id)
    assert session.scalars(select(ticket_calls.c.call_id).where(
        ticket_calls.c.ticket_id == ticket.id)).all() == [call.id]
    assert session.scalar(select(TicketHistory.new_value).where(
        TicketHistory.ticket_id == ticket.id, TicketHistory.field == "call")) == "1795455872.8"
    assert "call of " in text(logged_in.get(f"/tickets/{ticket.id}"))


def test_create_names_the_bad_field_and_keeps_the_input(logged_in, customer):
    url = f"/tickets/new?customer_id={customer.id}"
    r = logged_in.post("/tickets/new", data={
        "csrf_token": token(logged_in, url), "customer_id": customer.id, "type": "inquiry",
        "priority": "normal", "subject": "", "description": "kept text", "channel": "phone"})
    assert r.status_code == 422
    page = text(r)
    assert 'aria-invalid="true"' in page and "kept text" in page


def test_every_form_needs_its_csrf_token(app, logged_in, session, agent, customer):
    ticket = new_ticket(app, session, agent, customer)
    for url, data in (("/tickets/new", {"customer_id": customer.id, "type": "inquiry",
                                        "subject": "x"}),
                      (f"/tickets/{ticket.id}/transition", {"to": "in_progress",
                                                            "version": ticket.version}),
                      (f"/tickets/{ticket.id}/comments", {"body": "hi", "internal": "1"})):
        assert logged_in.post(url, data=data).status_code == 400, url
    assert session.scalar(select(func.count()).select_from(TicketComment)) == 0


# --- one ticket -------------------------------------------------------------------------------

def test_ticket_view_shows_clock_owner_history_and_next_steps(app, logged_in, session, agent,
                                                              customer):
    ticket = new_ticket(app, session, agent, customer, assignee_id=agent.id)
    page = text(logged_in.get(f"/tickets/{ticket.id}"))
    assert "What the customer wants" in page and "前门卡住" in page
    assert "data-sla-clock" in page and "Time left" in page
    assert "Who has it" in page and "Opened" in page
    for button in ("Start work", "Resolve", "Put on hold (pending)"):
        assert f">{button}</button>" in page, button


def test_transition_then_pending_pauses_the_clock(app, logged_in, session, agent, customer):
    ticket = new_ticket(app, session, agent, customer, assignee_id=agent.id)
    url = f"/tickets/{ticket.id}"
    r = logged_in.post(url + "/transition", data={
        "csrf_token": token(logged_in, url), "to": "in_progress", "version": ticket.version,
        "note": "calling the depot"})
    assert r.status_code == 302, text(r)
    session.refresh(ticket)
    assert ticket.status == TicketStatus.IN_PROGRESS
    r = logged_in.post(url + "/transition", data={
        "csrf_token": token(logged_in, url), "to": "pending", "version": ticket.version})
    assert r.status_code == 302
    page = text(logged_in.get(url))
    assert "Clock paused" in page and "calling the depot" in page


def test_a_stale_version_is_a_message_not_a_500(app, logged_in, session, agent, customer):
    ticket = new_ticket(app, session, agent, customer, assignee_id=agent.id)
    url = f"/tickets/{ticket.id}"
    old = ticket.version
    form_token = token(logged_in, url)
    # Someone else moves it first.
    logged_in.post(url + "/transition", data={"csrf_token": form_token, "to": "in_progress",
                                              "version": old})
    r = logged_in.post(url + "/transition", data={"csrf_token": form_token, "to": "resolved",
                                                  "version": old})
    assert r.status_code == 409
    page = text(r)
    assert "Someone else changed this ticket" in page and "data-stale" in page
    session.refresh(ticket)
    assert ticket.status == TicketStatus.IN_PROGRESS
    r = logged_in.post(url + "/edit", data={"csrf_token": form_token, "version": str(old),
                                            "subject": "changed", "priority": "low",
                                            "description": "", "installed_product_id": ""})
    assert r.status_code == 409 and "Someone else changed this ticket" in text(r)


def test_a_refused_transition_says_why(app, logged_in, session, agent, customer):
    ticket = new_ticket(app, session, agent, customer)
    url = f"/tickets/{ticket.id}"
    r = logged_in.post(url + "/transition", data={
        "csrf_token": token(logged_in, url), "to": "pending", "version": ticket.version})
    assert r.status_code == 422
    assert "cannot go from" in text(r)


def test_comments_internal_and_public_are_kept_apart(app, logged_in, session, agent, customer):
    ticket = new_ticket(app, session, agent, customer)
    url = f"/tickets/{ticket.id}"
    for body, internal in (("只给同事看", "1"), ("我们明天上门", "0")):
        r = logged_in.post(url + "/comments", data={"csrf_token": token(logged_in, url),
                                                    "body": body, "internal": internal})
        assert r.status_code == 302
    page = text(logged_in.get(url))
    public = page[page.index('id="public-title"'):page.index('id="internal-title"')]
    internal = page[page.index('id="internal-title"'):page.index('id="history-title"')]
    assert "我们明天上门" in public and "只给同事看" not in public
    assert "只给同事看" in internal and "我们明天上门" not in internal
    session.refresh(ticket)
    assert ticket.first_response_at is not None   # the reply met the first response


def test_attach_a_file_on_the_page_and_download_it(app, logged_in, session, agent, customer):
    import io

    ticket = new_ticket(app, session, agent, customer)
    url = f"/tickets/{ticket.id}"
    r = logged_in.post(url + "/attachments", content_type="multipart/form-data", data={
        "csrf_token": token(logged_in, url),
        "file": (io.BytesIO("维修记录\n".encode()), "../../记录.txt")})
    assert r.status_code == 302, text(r)
    page = text(logged_in.get(url))
    link = re.search(rf'href="(/tickets/{ticket.id}/attachments/\d+)"', page)
    assert link, page
    download = logged_in.get(link.group(1))
    body = download.get_data()
    download.close()   # it holds the open file
    assert body == "维修记录\n".encode()
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment")
    # A program is refused with a message on the page, never stored.
    r = logged_in.post(url + "/attachments", content_type="multipart/form-data", data={
        "csrf_token": token(logged_in, url), "file": (io.BytesIO(b"MZ\x90\x00"), "a.exe")})
    assert r.status_code == 422 and "a.exe" not in text(r).split("attachments-title")[-1]


def test_a_ticket_outside_scope_is_not_found(app, client, session, agent, customer,
                                             make_user):
    ticket = new_ticket(app, session, agent, customer)
    make_user("agent", username="bob", scope="own", department="Sales/Shanghai")
    login(client, "bob")
    assert client.get(f"/tickets/{ticket.id}").status_code == 404
    assert client.get(f"/tickets/{ticket.id}/edit").status_code == 404
    page = text(client.get("/tickets/?queue=all"))
    assert f"#{ticket.id}" not in page
    assert client.get("/tickets/999999").status_code == 404


def test_pages_need_a_login(client):
    assert client.get("/tickets/").status_code == 302
    assert client.get("/tickets/new").status_code == 302


# --- the customer's 360° page ----------------------------------------------------------------

def test_customer_page_has_one_timeline_and_what_is_open(app, logged_in, session, agent,
                                                         customer):
    ticket = new_ticket(app, session, agent, customer)
    page = text(logged_in.get(f"/customers/{customer.id}"))
    open_part = page[page.index('id="open-title"'):page.index('id="timeline-title"')]
    assert f"#{ticket.id}" in open_part and "车门无法关闭" in open_part
    timeline = page[page.index("data-timeline"):page.index('id="calls-title"')]
    assert "Ticket opened" in timeline and "Change" in timeline
    assert f"/tickets/new?customer_id={customer.id}" in page


# --- the wallboard's ticket panel --------------------------------------------------------------

def test_ticket_panel_counts_per_team_and_finds_the_oldest_breach(app, session, agent,
                                                                  customer, make_user):
    lead = make_user("supervisor", username="lead", department="Service")
    now = datetime.now(UTC)
    a = new_ticket(app, session, agent, customer)
    b = new_ticket(app, session, agent, customer, subject="second")
    c = new_ticket(app, session, agent, customer, subject="third")
    a.sla_state, a.resolution_due_at = SlaState.BREACHED, now - timedelta(hours=2)
    b.resolution_due_at = now - timedelta(minutes=5)      # overdue, cache not refreshed yet
    c.sla_state = SlaState.AT_RISK
    c.resolution_due_at = now + timedelta(minutes=10)
    session.flush()
    panel = ticket_panel(session, lead, now=now)
    assert panel["totals"] == {"open": 3, "at_risk": 1, "breached": 2}
    [team] = panel["teams"]
    assert team["department_id"] == agent.department_id and team["name"] == "Beijing"
    assert team["oldest_breach"]["ticket_id"] == a.id
    assert panel["oldest_breach"]["breached_for_s"] == pytest.approx(7200, abs=1)
    # Agents have no wallboard; another department's supervisor sees nothing of it.
    assert ticket_panel(session, agent, now=now)["teams"] == []
    other = make_user("supervisor", username="sh", department="Sales")
    assert ticket_panel(session, other, now=now)["teams"] == []


def test_ticket_panel_json_and_wallboard_page(app, client, session, agent, customer,
                                              make_user):
    make_user("supervisor", username="lead", department="Service")
    new_ticket(app, session, agent, customer)
    login(client, "lead")
    r = client.get("/api/v1/wallboard/tickets")
    assert r.status_code == 200 and r.get_json()["totals"]["open"] == 1
    page = text(client.get("/wallboard"))
    assert "data-ticket-panel" in page and "Oldest breach" in page
    assert session.scalar(select(func.count()).select_from(TicketHistory)) >= 1


def test_hostile_text_is_shown_as_text_everywhere(app, logged_in, session, agent, customer):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    ticket = new_ticket(app, session, agent, customer, subject=evil, description=evil)
    for url in ("/tickets/?queue=all", f"/tickets/{ticket.id}", f"/customers/{customer.id}"):
        page = text(logged_in.get(url))
        assert "<script>alert" not in page and "<img src=x" not in page, url
        assert "&lt;script&gt;alert" in page, url


def test_escalation_notes_are_worded_for_the_reader(app, logged_in, session, agent, customer):
    ticket = new_ticket(app, session, agent, customer)
    session.add(TicketHistory(ticket_id=ticket.id, user_id=None, field="escalation_level",
                              old_value="0", new_value="1",
                              note="escalation: lead at 100% of the first_response target"))
    session.flush()
    page = text(logged_in.get(f"/tickets/{ticket.id}"))
    assert "100% of the first response target: escalated to the team lead, priority " \
        "raised." in page
    assert "escalation: lead" not in page
