"""Click-to-dial and transfer from the desk: ``POST /desk/dial`` and ``POST /desk/transfer``.

Both become PBX commands for the telephony bridge (``request_pbx_action``; contract:
``telephony/README.md``, "Commands"):

- *dial* ``{number, customer_id?}``: ``originate`` of the user's own interface
  (``User.interface``) into context ``outbound`` with the number: the PBX rings the
  agent's phone first, then the customer. The number is normalised for dialling
  (spaces, dashes, dots and brackets dropped; digits with an optional leading ``+``).
- *transfer* ``{call_id, queue}``: ``transfer`` of a live call to another PBX queue.
  The web names neither channel nor agent: it sends the user's interface, and the
  bridge checks in its call state that the call is connected to that phone right now,
  finds the caller's channel and redirects it to ``[transfer]`` exten ``<queue>``.

Who: agents, supervisors and administrators with an interface (403 for other roles,
409 without a phone). 400 names the field in error; 503: the bridge did not answer;
502: the PBX refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import PbxQueue
from callcenter.customers.services import CustomerNotFound, get_customer
from callcenter.db import commit_before_waiting, db_session
from callcenter.desk.status import DESK_ROLES
from callcenter.jobs import redis_connection
from callcenter.realtime.commands import NOT_ANSWERING, request_pbx_action
from callcenter.users.models import User
from callcenter.web import safe_next

#: Written between the digits of a phone number; dropped before dialling.
_SEPARATORS = re.compile(r"[\s\-().]+")
_DIALLABLE = re.compile(r"\+?[0-9]{3,32}\Z")
_CALL_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
#: The context the PBX runs the dialled number in (deploy/asterisk/extensions.conf).
OUTBOUND_CONTEXT = "outbound"


class DeskActionError(Exception):
    """Nothing was done; ``http_status``, a message for the user, and the field at fault."""

    def __init__(self, http_status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.http_status = http_status
        self.message = message
        self.field = field


@dataclass
class DialResult:
    number: str
    interface: str


def normalise_number(raw: object) -> str:
    """The number as the PBX dials it: digits, an optional leading ``+``."""
    if not isinstance(raw, str) or not raw.strip():
        raise DeskActionError(400, _("number: enter the phone number to call."), "number")
    number = _SEPARATORS.sub("", raw.strip())
    if not _DIALLABLE.match(number):
        raise DeskActionError(400, _("number: use digits only (3 to 32), with an optional "
                                     "leading +."), "number")
    return number


def transfer_queues(session: Session) -> list[str]:
    """The PBX queues a call can be transferred to (``[transfer]`` has an exten each)."""
    return sorted(session.scalars(select(PbxQueue.name)))


def _require_phone(user: User) -> str:
    if user.role not in DESK_ROLES:
        raise DeskActionError(403, _("Calls from the desk are for agents, supervisors and "
                                     "administrators."))
    if not user.interface:
        raise DeskActionError(409, _("No phone (PBX interface) is set for your account; "
                                     "ask an administrator to set one."))
    return user.interface


def _run(session: Session, redis_client, command: dict, timeout: float,
         refused_message: str) -> None:
    commit_before_waiting(session)
    result = request_pbx_action(redis_client, command, timeout=timeout)
    if result.get("ok"):
        return
    error = str(result.get("error") or "?")
    if error == NOT_ANSWERING:
        raise DeskActionError(503, _("The telephony bridge is not answering, so nothing was "
                                     "done. Try again in a minute; if it keeps failing, "
                                     "tell your supervisor."))
    code = result.get("code")
    if code == "not_connected":
        raise DeskActionError(403, _("You can transfer only a call you are talking on."))
    if code == "no_call":
        raise DeskActionError(409, _("This call is over or no longer known to the PBX."))
    if code == "outbound":
        raise DeskActionError(409, _("A call you dialled is in no queue, so it cannot be "
                                     "transferred to one."))
    if code == "same_queue":
        raise DeskActionError(409, _("The call is in this queue already."), "queue")
    raise DeskActionError(502, refused_message % {"error": error})


def _customer_name(session: Session, user: User, customer_id: object) -> str:
    """The name the agent's phone shows for the call: the customer's, if ``user`` may see
    them (only a label: an unknown or hidden customer is no reason to refuse)."""
    raw = str(customer_id) if isinstance(customer_id, (int, str)) else ""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return ""
    try:
        return get_customer(session, user, int(raw)).name or ""
    except CustomerNotFound:
        return ""


def dial(session: Session, redis_client, user: User, number: object,
         customer_id: object = None, *, timeout: float = 5.0) -> DialResult:
    """Ring ``user``'s phone, then ``number``; DeskActionError when it could not."""
    interface = _require_phone(user)
    dialled = normalise_number(number)
    caller_name = _customer_name(session, user, customer_id)
    _run(session, redis_client, {"action": "originate", "user_id": user.id, "interface": interface,
                        "number": dialled, "context": OUTBOUND_CONTEXT,
                        "caller_name": caller_name[:40]},
         timeout, _("The PBX did not place the call: %(error)s"))
    return DialResult(dialled, interface)


def transfer(session: Session, redis_client, user: User, call_id: object, queue: object, *,
             timeout: float = 5.0) -> str:
    """Send the caller of ``call_id`` (connected to ``user``) to ``queue``."""
    interface = _require_phone(user)
    if not isinstance(call_id, str) or not _CALL_ID.match(call_id):
        raise DeskActionError(400, _("call_id: not a call of this desk."), "call_id")
    queues = transfer_queues(session)
    if not isinstance(queue, str) or queue not in queues:
        raise DeskActionError(400, _("queue: choose one of %(queues)s.",
                                     queues=", ".join(queues) or "—"), "queue")
    _run(session, redis_client, {"action": "transfer", "user_id": user.id, "interface": interface,
                        "call_id": call_id, "queue": queue},
         timeout, _("The PBX did not transfer the call: %(error)s"))
    return queue


# --- the views (registered on the desk blueprint by callcenter.desk.views) -------------

def _timeout() -> float:
    return float(current_app.config.get("PBX_COMMAND_TIMEOUT_S", 5.0))


def _data() -> tuple[bool, dict]:
    wants_json = request.is_json
    data = request.get_json(silent=True) if wants_json else request.form
    if wants_json and not isinstance(data, dict):
        data = {}
    return wants_json, data


def _failed(exc: DeskActionError, wants_json: bool, back: str):
    if wants_json:
        body = {"ok": False, "error": exc.message}
        if exc.field:
            body["field"] = exc.field
        response = jsonify(body)
        response.status_code = exc.http_status
        return response
    flash(exc.message, "error")
    return redirect(back)


def _back(data) -> str:
    target = data.get("next")
    return (safe_next(target) if isinstance(target, str) else None) or url_for("desk.index")


@login_required
def dial_view():
    """``POST /desk/dial``: JSON ``{"number", "customer_id"?}`` or a form (with ``next``)."""
    wants_json, data = _data()
    back = _back(data)
    try:
        result = dial(db_session(), redis_connection(current_app.config["SETTINGS"]),
                      current_user._get_current_object(), data.get("number"),
                      data.get("customer_id"), timeout=_timeout())
    except DeskActionError as exc:
        return _failed(exc, wants_json, back)
    message = _("Calling %(number)s: your phone rings first; pick it up to reach the "
                "customer.", number=result.number)
    if wants_json:
        return jsonify({"ok": True, "number": result.number, "interface": result.interface,
                        "message": message})
    flash(message, "success")
    return redirect(back)


@login_required
def transfer_view():
    """``POST /desk/transfer``: JSON ``{"call_id", "queue"}`` or a form."""
    wants_json, data = _data()
    back = _back(data)
    try:
        queue = transfer(db_session(), redis_connection(current_app.config["SETTINGS"]),
                         current_user._get_current_object(), data.get("call_id"),
                         data.get("queue"), timeout=_timeout())
    except DeskActionError as exc:
        return _failed(exc, wants_json, back)
    message = _("The call goes to queue %(queue)s.", queue=queue)
    if wants_json:
        return jsonify({"ok": True, "call_id": data.get("call_id"), "queue": queue,
                        "message": message})
    flash(message, "success")
    return redirect(back)


def desk_dial_config(session: Session) -> dict[str, object]:
    """What desk.js needs for the dial box and the transfer control."""
    return {
        "dialUrl": url_for("desk.dial"),
        "transferUrl": url_for("desk.transfer"),
        "transferQueues": transfer_queues(session),
    }


def desk_dial_strings() -> dict[str, str]:
    return {
        "transferTo": _("Transfer to"),
        "transfer": _("Transfer"),
        "transferring": _("Transferring…"),
        "transferAsked": _("Transfer asked: the call leaves your phone."),
        "transferFailed": _("The call was not transferred: {error}"),
        "dialing": _("Calling…"),
        "dialFailed": _("The call was not placed: {error}"),
    }
