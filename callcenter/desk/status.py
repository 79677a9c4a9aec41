"""An agent's status at the PBX: available, paused (with a reason) or logged out.

A status change becomes queue membership commands for the agent's interface
(``User.interface``), sent to the telephony bridge (``request_pbx_action``):

- the agent's queues are the PBX queues of their department and its parent
  departments (a queue assigned to "Service" is worked by "Service/Beijing" too);
- *available*: ``queue_add`` (not paused) to each such queue the agent is not in yet,
  then ``queue_pause paused=false`` for all queues if they are a member of any;
- *paused*: the same with ``paused=true`` and the reason;
- *logged out*: ``queue_remove`` from each queue they are in (the bridge's live view,
  ``cc:live:agents``; without it, from each of their queues).

An agent changes only their own status; a supervisor also that of the users of their
department subtree; an admin (or scope ``all``) anyone's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import PbxQueue
from callcenter.db import commit_before_waiting
from callcenter.realtime import live
from callcenter.realtime.commands import NOT_ANSWERING, request_pbx_action
from callcenter.users.models import Department, Role, Scope, User
from callcenter.users.scopes import department_subtree_ids

STATUSES = ("available", "paused", "logged_out")
#: Pause reasons (the code goes to the PBX as the pause reason; the label is shown).
PAUSE_REASONS = {
    "break": _l("Short break"),
    "lunch": _l("Lunch"),
    "meeting": _l("Meeting"),
    "training": _l("Training"),
    "backoffice": _l("Back-office work"),
    "other": _l("Other"),
}
#: Who may use the desk at all.
DESK_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)


class StatusError(Exception):
    """The change was not made; ``http_status`` and a message for the user."""

    def __init__(self, http_status: int, message: str):
        super().__init__(message)
        self.http_status = http_status
        self.message = message


@dataclass
class StatusResult:
    status: str
    reason: str | None
    commands: list[dict] = field(default_factory=list)


def may_change_status(session: Session, actor: User, target: User) -> bool:
    if actor.role not in DESK_ROLES:
        return False
    if actor.id == target.id:
        return True
    if actor.role == Role.ADMIN or (actor.role == Role.SUPERVISOR and actor.scope == Scope.ALL):
        return True
    if actor.role != Role.SUPERVISOR or actor.department_id is None \
            or target.department_id is None:
        return False
    return target.department_id in set(session.scalars(
        department_subtree_ids(actor.department_id)))


def forbidden_message(actor: User):
    if actor.role == Role.SUPERVISOR:
        return _l("You may change the status of the users of your departments only.")
    return _l("You may change only your own status.")


def agent_queue_names(session: Session, user: User) -> list[str]:
    """The PBX queues of the user's department and its parents."""
    if user.department_id is None:
        return []
    department = session.get(Department, user.department_id)
    chain = [int(part) for part in (department.path if department else "").split("/") if part]
    if not chain:
        return []
    return sorted(session.scalars(select(PbxQueue.name).where(
        PbxQueue.department_id.in_(chain))))


def plan_commands(user: User, status: str, reason: str | None, assigned: list[str],
                  members: list[str] | None) -> list[dict]:
    """The PBX commands for ``status``; ``members``: the queues the interface is in now
    (None: not known)."""
    base = {"user_id": user.id, "interface": user.interface}
    current = list(members or [])
    if status == "logged_out":
        queues = current if members is not None else assigned
        return [{**base, "action": "queue_remove", "queue": q} for q in queues]
    paused = status == "paused"
    reason = reason if paused else None
    commands = [{**base, "action": "queue_add", "queue": q,
                 "member_name": user.display_name or user.username,
                 "paused": paused, "reason": reason}
                for q in assigned if q not in current]
    if current:
        commands.append({**base, "action": "queue_pause", "queue": None, "paused": paused,
                         "reason": reason})
    return commands


def change_status(session: Session, redis_client, actor: User, target: User, status: str,
                  reason: str | None = None, *, timeout: float = 5.0) -> StatusResult:
    """Make ``target``'s queue membership match ``status``; StatusError when it could not."""
    if status not in STATUSES:
        raise StatusError(400, str(_l("Choose available, paused or logged out.")))
    if status == "paused":
        if reason not in PAUSE_REASONS:
            raise StatusError(400, str(_l("Choose why you pause.")))
    else:
        reason = None
    if not may_change_status(session, actor, target):
        raise StatusError(403, str(forbidden_message(actor)))
    if not target.interface:
        raise StatusError(409, str(_l("No phone (PBX interface) is set for this user; "
                                      "ask an administrator to set one.")))
    assigned = agent_queue_names(session, target)
    state = live.agent_state(redis_client, target.interface)
    members = None
    if state is not None and isinstance(state.get("queues"), list):
        members = [str(q) for q in state["queues"]]
    commands = plan_commands(target, status, reason, assigned, members)
    if not commands:
        if status == "logged_out":
            return StatusResult(status, reason)
        raise StatusError(409, str(_l("This user works in no queue: their department "
                                      "has no PBX queue assigned.")))
    commit_before_waiting(session)
    for command in commands:
        result = request_pbx_action(redis_client, command, timeout=timeout)
        if result.get("ok"):
            continue
        if result.get("error") == NOT_ANSWERING:
            raise StatusError(503, str(_l(
                "The telephony bridge is not answering, so the status was not changed. "
                "Try again in a minute; if it keeps failing, tell your supervisor.")))
        raise StatusError(502, str(_l("The PBX did not change the status: %(error)s",
                                      error=result.get("error") or "?")))
    return StatusResult(status, reason, commands)
