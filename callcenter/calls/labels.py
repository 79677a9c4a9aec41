"""Words for the call log on screen (zh_CN / en): outcomes, dispositions, durations,
queues by their display names."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import Direction, Outcome, PbxQueue

OUTCOME_LABELS = {
    Outcome.IN_PROGRESS: _l("In progress"),
    Outcome.ANSWERED: _l("Answered"),
    Outcome.ABANDONED: _l("Abandoned"),
    Outcome.TRANSFERRED: _l("Transferred"),
    Outcome.UNANSWERED: _l("Unanswered"),
    Outcome.BUSY: _l("Busy"),
}
#: Who started the call: a caller (inbound) or an agent's click-to-dial (outbound).
DIRECTION_LABELS = {
    Direction.INBOUND: _l("Inbound"),
    Direction.OUTBOUND: _l("Outbound"),
}
#: Badge tone per outcome (the badge text says it too: nothing by colour alone).
OUTCOME_TONES = {
    Outcome.IN_PROGRESS: "muted",
    Outcome.ANSWERED: "ok",
    Outcome.ABANDONED: "danger",
    Outcome.TRANSFERRED: "muted",
    Outcome.UNANSWERED: "warn",
    Outcome.BUSY: "warn",
}
#: The wrap-up dispositions (callcenter.calls.services.DISPOSITIONS), in form order.
DISPOSITION_LABELS = {
    "resolved": _l("Resolved"),
    "callback": _l("Call back"),
    "ticket_needed": _l("Ticket needed"),
    "wrong_number": _l("Wrong number"),
    "other": _l("Other"),
}


def format_duration(seconds: float | None) -> str:
    """``65.4`` -> ``1:05``; an hour or more -> ``1:02:03``; None -> ``—``."""
    if seconds is None:
        return "—"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def queue_labels(session: Session) -> dict[str, str]:
    """Queue name -> the name people read ("客服热线 Support" for ``support``); a queue
    without a display name is shown by its name."""
    return {name: display or name for name, display in session.execute(
        select(PbxQueue.name, PbxQueue.display_name))}
