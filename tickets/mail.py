"""E-mailing ticket notices (SMTP), one job per notice.

``send_notice_mail(notice_id)`` is enqueued after the commit that wrote the notice, under
the id ``notice-mail-<id>`` (a second enqueue adds nothing), when ``Settings.smtp`` is set
(``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_FROM``, ``SMTP_USERNAME``, ``SMTP_PASSWORD``,
``SMTP_SECURITY``) and the recipient has an e-mail address. A failed delivery is retried
with backoff (``MAIL_RETRY``); a delivered one sets ``TicketNotice.mailed_at``, so a
repeated run sends nothing. (A worker killed between the SMTP server's "250 OK" and
that commit sends it again on retry: the fixed Message-ID lets mail clients fold the
two.)

The text is in the recipient's language (``User.locale``: zh_CN or English), from the
gettext catalogue. The subject carries the ticket's subject, which a customer may have
typed: control characters and line breaks are replaced before it goes into a header,
and the address must be a plain one, so nothing can add a header or a recipient.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import unicodedata
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
from babel import Locale
from babel.support import NullTranslations, Translations
from rq import Retry
from sqlalchemy import select, update

from callcenter.config import Settings, SmtpSettings
from callcenter.core.display import datetime_text
from callcenter.core.fields import is_email_address
from callcenter.core.messages import N_
from callcenter.db import utcnow
from callcenter.jobs import JobContext, enqueue_once, job_task
from callcenter.users.models import User
from tickets.models import Ticket, TicketNotice

log = logging.getLogger(__name__)

MAIL_RETRY = Retry(max=5, interval=[30, 120, 600, 1800, 3600])
SUBJECT_MAX = 120

SUBJECTS = {
    "warn": N_("Ticket #%(id)s is at risk of missing its SLA: %(subject)s"),
    "lead": N_("Ticket #%(id)s breached its SLA and was escalated: %(subject)s"),
    "up": N_("Ticket #%(id)s was escalated to level %(level)s: %(subject)s"),
}
BODY = (
    N_("Ticket #%(id)s: %(subject)s"),
    N_("Status: %(status)s"),
    N_("SLA state: %(state)s"),
    N_("Escalation level: %(level)s"),
    N_("Due: %(due)s"),
    N_("Open the ticket in the service desk to act on it."),
)


def valid_address(address: str | None) -> bool:
    return is_email_address(address)


def header_text(value: str, limit: int = SUBJECT_MAX) -> str:
    """One line of text, fit for a header: no control or line-break characters."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
                      for c in value)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 1] + "…"


@lru_cache(maxsize=8)
def _translations(locale: str) -> NullTranslations:
    if not locale or locale.startswith("en"):
        return NullTranslations()
    folder = Path(__file__).resolve().parent.parent / "callcenter" / "translations"
    return Translations.load(str(folder), [Locale.parse(locale)])


def compose(notice: TicketNotice, ticket: Ticket, user: User, *, sender: str,
            timezone: str, domain: str = "callcenter.local") -> EmailMessage:
    """The mail of one notice, in the recipient's language."""
    words = _translations(user.locale or "")
    due = ticket.resolution_due_at if notice.kind != "warn" or ticket.first_response_at \
        else ticket.first_response_due_at or ticket.resolution_due_at
    values = {"id": ticket.id, "subject": header_text(ticket.subject),
              "level": notice.level,
              "status": getattr(ticket.status, "value", ticket.status),
              "state": getattr(ticket.sla_state, "value", ticket.sla_state),
              "due": _local(due, user.locale, timezone)}
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = sender
    message["To"] = user.email
    message["Subject"] = header_text(words.gettext(SUBJECTS.get(notice.kind,
                                                                SUBJECTS["up"])) % values,
                                     limit=200)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<notice-{notice.id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join(words.gettext(line) % values for line in BODY) + "\n")
    return message


def _local(value: datetime | None, locale: str | None, timezone: str) -> str:
    """As the pages show it in the recipient's language, with the zone: a mail is read
    anywhere."""
    if value is None:
        return "-"
    zone = ZoneInfo(timezone)
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return f"{datetime_text(moment, locale, zone)} {moment.astimezone(zone):%Z}"


def deliver(smtp: SmtpSettings, message: EmailMessage) -> None:
    if smtp.security == "ssl":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s,
                                  context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        client.send_message(message)


def send_notice(session, settings: Settings, notice_id: int) -> dict:
    """Mail one notice unless it was mailed already or cannot be; idempotent."""
    row = session.execute(select(TicketNotice, Ticket, User)
                          .join(Ticket, Ticket.id == TicketNotice.ticket_id)
                          .join(User, User.id == TicketNotice.user_id)
                          .where(TicketNotice.id == notice_id)).first()
    if row is None:
        return {"skipped": "no such notice"}
    notice, ticket, user = row
    if notice.mailed_at is not None:
        return {"skipped": "mailed already"}
    if settings.smtp is None:
        return {"skipped": "no SMTP server configured"}
    if not valid_address(user.email):
        if user.email:
            log.warning("notice %s: user %s has an unusable e-mail address", notice_id,
                        user.id)
        return {"skipped": "no usable address"}
    message = compose(notice, ticket, user, sender=settings.smtp.sender,
                      timezone=settings.timezone)
    deliver(settings.smtp, message)  # an SMTP or network error: the job is retried
    session.execute(update(TicketNotice).where(TicketNotice.id == notice_id)
                    .values(mailed_at=utcnow()))
    return {"sent": notice_id}


@job_task
def send_notice_mail(ctx: JobContext, notice_id: int) -> dict:
    return send_notice(ctx.session, ctx.settings, notice_id)


def notice_mail_job_id(notice_id: int) -> str:
    return f"notice-mail-{notice_id}"


def enqueue_notice_mails(notice_ids: list[int], *, settings: Settings) -> None:
    """After commit: one mail job per notice (Redis away: logged; the notice stays)."""
    try:
        for notice_id in notice_ids:
            enqueue_once(send_notice_mail, notice_id, job_id=notice_mail_job_id(notice_id),
                         retry=MAIL_RETRY, timeout_s=120, settings=settings,
                         description=f"mail notice {notice_id}")
    except redis.RedisError as exc:
        log.warning("notice mails not enqueued (%s)", exc)
