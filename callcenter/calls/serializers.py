"""Call log rows as JSON-ready dicts (REST API), serialized by ``callcenter.calls.schemas``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from callcenter.calls.models import CallRecord
from callcenter.calls.schemas import Call, Caller
from callcenter.users.models import User


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _caller(call: CallRecord) -> Caller:
    return Caller(number=call.caller_number or "", name=call.caller_name or "",
                  e164=call.caller_e164)


def caller_to_dict(call: CallRecord) -> dict[str, Any]:
    return _caller(call).model_dump(mode="json")


def call_to_dict(call: CallRecord, users: dict[int, User] | None = None) -> dict[str, Any]:
    """The call; ``users`` (id -> User, see ``services.user_names``) names the agent and
    whoever saved the wrap-up."""
    users = users or {}
    agent = users.get(call.agent_id) if call.agent_id is not None else None
    wrapper = users.get(call.wrapup_by_id) if call.wrapup_by_id is not None else None
    return Call(
        call_id=call.call_id, queue_uniqueid=call.queue_uniqueid, caller=_caller(call),
        customer_id=call.customer_id, queue=call.queue,
        agent=agent.username if agent is not None else None, agent_id=call.agent_id,
        agent_interface=call.agent_interface, agents=list(call.agents or []),
        outcome=call.outcome, direction=call.direction, wait_s=call.wait_s, talk_s=call.talk_s,
        started_at=call.started_at, queued_at=call.queued_at,
        answered_at=call.answered_at, ended_at=call.ended_at,
        disposition=call.disposition, notes=call.wrapup_notes or "",
        wrapup_by=wrapper.username if wrapper is not None else None,
        wrapup_by_id=call.wrapup_by_id, wrapup_at=call.wrapup_at,
    ).model_dump(mode="json")
