"""The tickets domain answering the FastAGI scripts over a real socket: ``lookup`` sets
OPEN_TICKET_ID to the caller's newest open ticket, ``ticket_status`` answers the status
of a keyed-in ticket number as one lower-case word (the dialplan plays it)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from agi_fake import FakeAsterisk, asterisk_env
from sqlalchemy.orm import sessionmaker

from callcenter.bridge.agi_scripts import CallCenterScripts, create_fastagi_server
from callcenter.core.domains import init_domains
from telephony.agi import FastAGIThread
from tickets.services import create_ticket
from tickets.transitions import transition_ticket

EXTENSIONS = Path(__file__).resolve().parent.parent / "deploy" / "asterisk" / "extensions.conf"


@pytest.fixture
def server(connection):
    init_domains()  # as the bridge does: the tickets domain's answers are connected
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    scripts = CallCenterScripts(today=lambda: date(2026, 12, 1))
    srv = create_fastagi_server(factory, port=0, scripts=scripts, db_workers=1,
                                region="CN", timezone="Asia/Shanghai")
    thread = FastAGIThread(srv).start()
    yield srv
    thread.stop()


@pytest.fixture
def agent(make_user):
    return make_user("agent", scope="department", department="Service/Hotline")


def new_ticket(session, agent, customer, settings, subject="Jam"):
    ticket = create_ticket(session, agent, {"type": "inquiry", "subject": subject,
                                            "customer_id": customer.id}, settings=settings)
    session.flush()
    return ticket


def lookup(srv, callerid="13812345678"):
    return FakeAsterisk(srv.port, env=asterisk_env(callerid=callerid)).run().variables


def status_of(srv, digits):
    env = asterisk_env(script="ticket_status", args=[])
    return FakeAsterisk(srv.port, env=env, digits=[""] + list(digits)).run().variables


def test_lookup_sets_the_newest_open_ticket(server, session, agent, make_customer, settings):
    customer = make_customer(agent, "Ticket Co", phones=["13812345678"])
    assert lookup(server)["OPEN_TICKET_ID"] == ""
    older = new_ticket(session, agent, customer, settings)
    newer = new_ticket(session, agent, customer, settings, "Noise")
    assert lookup(server)["OPEN_TICKET_ID"] == str(newer.id)
    transition_ticket(session, agent, newer, {"to": "resolved", "version": newer.version},
                      settings=settings)
    session.flush()
    assert lookup(server)["OPEN_TICKET_ID"] == str(older.id)  # resolved is not open


def test_ticket_status_answers_the_status_word(server, session, agent, make_customer,
                                               settings):
    customer = make_customer(agent, "Ticket Co", phones=["13812345678"])
    ticket = new_ticket(session, agent, customer, settings)
    got = status_of(server, list(str(ticket.id)) + ["#"])
    assert got == {"TICKET_NUMBER": str(ticket.id), "TICKET_STATUS": "new"}
    transition_ticket(session, agent, ticket, {"to": "in_progress", "version": 1},
                      settings=settings)
    session.flush()
    assert status_of(server, list(str(ticket.id)) + ["#"])["TICKET_STATUS"] == "in_progress"
    # Leading zeros are still the same number; unknown numbers are "unknown".
    assert status_of(server, ["0"] + list(str(ticket.id)) + ["#"])["TICKET_STATUS"] == \
        "in_progress"
    assert status_of(server, ["9"] * 9 + ["#"])["TICKET_STATUS"] == "unknown"
    # Twelve digits at most (the script stops there); larger than any id: unknown.
    got = status_of(server, ["9"] * 15)
    assert got == {"TICKET_NUMBER": "9" * 12, "TICKET_STATUS": "unknown"}


def test_the_dialplan_example_plays_the_status_word():
    text = EXTENSIONS.read_text()
    block = text[text.index("[ticket-status]"):]
    block = block[:block.find("\n[", 1) if "\n[" in block[1:] else len(block)]
    assert "AGI(agi://" in block and "/ticket_status" in block
    assert re.search(r"Playback\([^)]*\$\{TICKET_STATUS\}", block)
    assert "${TICKET_NUMBER}" in block
