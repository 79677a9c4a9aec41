"""Live monitoring: a supervisor listens to an agent's call, whispers to the agent, or
barges in (talks to both), from the wallboard.

Who: supervisors (role ``supervisor``) with a phone of their own (``User.interface``),
for agents of their own department or one below it (``客服中心`` covers
``客服中心/北京热线``). Administrators are not supervisors of anyone's calls: the issue
that asked for this allows supervisors of the agent's department only.

How: a ``monitor`` PBX command (``request_pbx_action``; telephony/README.md,
"Commands"): the bridge finds the call the agent's phone is connected on and originates
the supervisor's phone into ChanSpy on that call's agent leg. The web never names a
channel.

Audit: every use is written to the audit log *before* the PBX is asked, in a
transaction of its own, so a spy the PBX started is never missing from the log even if
the request fails later; the row's detail then says how it went.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from callcenter.audit.services import complete, record
from callcenter.db import commit_before_waiting
from callcenter.realtime.commands import NOT_ANSWERING, request_pbx_action
from callcenter.users.models import Role, User

#: listen: hear both parties; whisper: talk to the agent only; barge: talk to both.
MODES = ("listen", "whisper", "barge")


class MonitorError(Exception):
    """Nothing was started; ``http_status`` and a message for the supervisor."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message


@dataclass
class MonitorStarted:
    call_id: str
    agent: User
    mode: str


def _covers(supervisor: User, agent: User) -> bool:
    """Is ``agent``'s department the supervisor's own or one below it?"""
    mine, theirs = supervisor.department, agent.department
    if mine is None or theirs is None:
        return False
    # Paths are "/1/4/9/": a subtree is one prefix (callcenter.users.models.Department).
    return bool(mine.path) and theirs.path.startswith(mine.path)


def may_monitor(supervisor: User, agent: User) -> bool:
    """Whether ``supervisor`` may listen to ``agent``'s calls at all."""
    return (supervisor.role == Role.SUPERVISOR and supervisor.is_active
            and bool(supervisor.interface) and agent.id != supervisor.id
            and agent.is_active and bool(agent.interface) and _covers(supervisor, agent))


def monitorable_interfaces(session: Session, supervisor: User) -> list[str]:
    """The phones (interfaces) of the agents ``supervisor`` may monitor: what the
    wallboard offers the buttons for."""
    if supervisor.role != Role.SUPERVISOR or not supervisor.interface \
            or supervisor.department is None:
        return []
    users = session.scalars(select(User).where(User.interface.is_not(None))
                            .options(selectinload(User.department)))
    return sorted(u.interface for u in users if may_monitor(supervisor, u))


def _agent_on(session: Session, interface: object) -> User:
    if not isinstance(interface, str) or not interface or len(interface) > 120:
        raise MonitorError(400, _("agent: choose an agent on the wallboard."))
    agent = session.scalars(select(User).where(User.interface == interface)
                            .options(selectinload(User.department))).one_or_none()
    if agent is None:
        raise MonitorError(404, _("No user has this phone."))
    return agent


def _refusal(result: dict) -> MonitorError:
    error = str(result.get("error") or "?")
    if error == NOT_ANSWERING:
        return MonitorError(503, _("The telephony bridge is not answering, so nothing was "
                                   "done. Try again in a minute."))
    if result.get("code") == "no_call":
        return MonitorError(409, _("This agent is not on a call right now."))
    return MonitorError(502, _("The PBX did not start the monitoring: %(error)s",
                               error=error))


def monitor_agent(session: Session, redis_client, supervisor: User, agent_interface: object,
                  mode: object, *, audit_session: Callable[[], Session],
                  timeout: float = 5.0) -> MonitorStarted:
    """Ring ``supervisor``'s phone into ``agent_interface``'s live call in ``mode``.

    ``audit_session`` makes the session the audit row is committed in before the PBX is
    asked (it must outlive this request's transaction). MonitorError when nothing was
    started.
    """
    if supervisor.role != Role.SUPERVISOR:
        raise MonitorError(403, _("Live monitoring is for supervisors."))
    if not supervisor.interface:
        raise MonitorError(409, _("No phone (PBX interface) is set for your account; "
                                  "ask an administrator to set one."))
    if mode not in MODES:
        raise MonitorError(400, _("mode: choose listen, whisper or barge."))
    agent = _agent_on(session, agent_interface)
    if not may_monitor(supervisor, agent):
        raise MonitorError(403, _("You may monitor the agents of your own department "
                                  "only."))
    with audit_session() as own:
        entry = record(own, own.get(User, supervisor.id), "agent.monitored", entity="user",
                       entity_id=agent.id, detail=f"{mode}|asked")
        own.commit()
        entry_id = entry.id
    commit_before_waiting(session)
    result = request_pbx_action(redis_client, {
        "action": "monitor", "user_id": supervisor.id, "interface": supervisor.interface,
        "agent_interface": agent.interface, "mode": mode}, timeout=timeout)
    call_id = str(result.get("call_id") or "")[:64] if result.get("ok") else ""
    # "<mode>|<outcome>": the audit page words both (callcenter.audit.views).
    outcome = f"{mode}|started" if result.get("ok") else \
        f"{mode}|{result.get('code') or 'failed'}"
    with audit_session() as own:
        complete(own, entry_id, detail=outcome, call_id=call_id)
        own.commit()
    if not result.get("ok"):
        raise _refusal(result)
    return MonitorStarted(call_id, agent, str(mode))
