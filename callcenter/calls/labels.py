"""Words for the call log on screen (zh_CN / en): outcomes, dispositions, durations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from callcenter.calls.models import Outcome

OUTCOME_LABELS = {
    Outcome.IN_PROGRESS: _l("In progress"),
    Outcome.ANSWERED: _l("Answered"),
    Outcome.ABANDONED: _l("Abandoned"),
    Outcome.TRANSFERRED: _l("Transferred"),
    Outcome.UNANSWERED: _l("Unanswered"),
}
#: Badge tone per outcome (the badge text says it too: nothing by colour alone).
OUTCOME_TONES = {
    Outcome.IN_PROGRESS: "muted",
    Outcome.ANSWERED: "ok",
    Outcome.ABANDONED: "danger",
    Outcome.TRANSFERRED: "muted",
    Outcome.UNANSWERED: "warn",
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
