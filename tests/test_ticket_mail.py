# ruff: noqa: F811 - the fixtures imported from escalation_support are test arguments
"""Notices by e-mail through a real SMTP server (aiosmtpd, started here) and a real RQ
worker: in the recipient's language, one mail per notice however often the job runs,
and a customer's subject cannot add a header or a recipient."""

from __future__ import annotations

import email
import re
import socket
from dataclasses import replace
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from escalation_support import (  # noqa: F401 - fixtures
    T0,
    db,
    esc_database,
    esc_factory,
    esc_settings,
    make_customer_for,
    make_org,
    make_ticket,
    minutes,
)
from sqlalchemy import select

from callcenter.config import SmtpSettings
from callcenter.jobs import run_worker
from tickets.escalation import fire_due_escalations
from tickets.mail import enqueue_notice_mails, header_text, send_notice, valid_address
from tickets.models import TicketNotice


class Inbox:
    """aiosmtpd handler: keeps every message with its envelope."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def mail_env(esc_settings, smtp_server, redis_conn, monkeypatch):
    """Settings with SMTP, also in the environment the worker's jobs read."""
    controller, inbox = smtp_server
    env = {"DATABASE_URL": esc_settings.database_url, "REDIS_URL": esc_settings.redis_url,
           "CALLCENTER_INSTANCE": str(esc_settings.instance_path),
           "SECRET_KEY": esc_settings.secret_key, "SMTP_HOST": "127.0.0.1",
           "SMTP_PORT": str(controller.port), "SMTP_FROM": "desk@example.com"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    smtp = SmtpSettings(host="127.0.0.1", port=controller.port, sender="desk@example.com")
    return replace(esc_settings, smtp=smtp), inbox


def _subject(message) -> str:
    """Decoded and unfolded (a long header is folded onto several lines)."""
    return re.sub(r"\r?\n(?=[ \t])", "", str(make_header(decode_header(message["Subject"]))))


def test_notices_are_mailed_once_in_the_recipients_language(db, mail_env):
    settings, inbox = mail_env
    org = make_org(db)
    org.agent.email, org.agent.locale = "agent@example.com", "zh_CN"
    org.lead.email, org.lead.locale = "lead@example.com", "en"
    # The customer typed the subject: a line break and a header of their own.
    ticket = make_ticket(db, settings, make_customer_for(db, org.agent).id, org,
                         subject="Printer jams\r\nBcc: thief@example.net")
    db.commit()

    fire_due_escalations(db, settings, now=T0 + minutes(101))
    run_worker(burst=True, queues=("default",))
    by_rcpt = {}
    for sender, rcpts, message in inbox.messages:
        assert sender == "desk@example.com"
        assert len(rcpts) == 1 and "thief@example.net" not in rcpts
        assert message["Bcc"] is None
        by_rcpt.setdefault(rcpts[0], []).append(message)
    # The agent: the warning and the escalation, in Chinese; the lead: in English.
    assert sorted(by_rcpt) == ["agent@example.com", "lead@example.com"]
    assert len(by_rcpt["agent@example.com"]) == 2
    subjects = sorted(_subject(m) for m in by_rcpt["agent@example.com"])
    assert all(f"工单 #{ticket.id}" in s for s in subjects), subjects
    assert all("Printer jams Bcc: thief@example.net" in s for s in subjects)
    [lead_mail] = by_rcpt["lead@example.com"]
    assert _subject(lead_mail) == (f"Ticket #{ticket.id} breached its SLA and was "
                                   "escalated: Printer jams Bcc: thief@example.net")
    body = lead_mail.get_payload(decode=True).decode()
    assert "Escalation level: 1" in body and "Status: assigned" in body
    zh_body = by_rcpt["agent@example.com"][0].get_payload(decode=True).decode()
    assert "请在服务台中打开该工单进行处理。" in zh_body
    assert lead_mail["Message-ID"].startswith("<notice-")

    # Enqueued again, run again: nothing more is sent.
    ids = list(db.scalars(select(TicketNotice.id).where(TicketNotice.ticket_id == ticket.id)))
    assert all(db.get(TicketNotice, i).mailed_at is not None for i in ids if
               db.get(TicketNotice, i).user_id != org.supervisor.id)
    enqueue_notice_mails(ids, settings=settings)
    run_worker(burst=True, queues=("default",))
    assert len(inbox.messages) == 3
    assert send_notice(db, settings, ids[0]) == {"skipped": "mailed already"}


def test_no_address_no_mail_and_a_bad_one_is_refused(db, mail_env):
    settings, inbox = mail_env
    org = make_org(db)
    org.agent.email = "agent@example.com>\r\nBcc: thief@example.net"
    ticket = make_ticket(db, settings, make_customer_for(db, org.agent).id, org)
    db.commit()
    fire_due_escalations(db, settings, now=T0 + minutes(81))
    [notice_id] = db.scalars(select(TicketNotice.id).where(
        TicketNotice.ticket_id == ticket.id))
    assert send_notice(db, settings, notice_id) == {"skipped": "no usable address"}
    assert send_notice(db, replace(settings, smtp=None), notice_id) == \
        {"skipped": "no SMTP server configured"}
    assert inbox.messages == []


def test_header_text_and_addresses():
    assert header_text("a\r\nb\x00c\u2028d\te") == "a b c d e"
    assert len(header_text("x" * 500)) == 120
    assert valid_address("li.lei@example.com.cn")
    for bad in ("", None, "a b@example.com", "a@example.com\nBcc: x@y.z", "<a@b.c>",
                "a@b@c.d"):
        assert not valid_address(bad)
