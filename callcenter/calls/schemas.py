"""The call log's schemas: the wrap-up body a client sends and the call it gets back.

One pydantic schema per resource (``callcenter.core.schema``): it validates the body,
generates the OpenAPI components and serializes the answer. The dispositions and the
note's limit are defined here once; the service, the desk's form and its labels read
them from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from callcenter.calls.models import Direction, Outcome
from callcenter.core.pagination import page_schema
from callcenter.core.schema import Schema, json_schemas
from callcenter.openapi import register_schemas

#: Wrap-up dispositions, in the order the form offers them (labels: calls.labels).
Disposition = Literal["resolved", "callback", "ticket_needed", "wrong_number", "other"]
DISPOSITIONS: tuple[str, ...] = Disposition.__args__
#: Longest wrap-up note.
MAX_NOTES = 2000

Seconds = Annotated[float | None, Field(ge=0)]


class CallWrapup(Schema):
    disposition: Disposition
    notes: Annotated[str | None, Field(max_length=MAX_NOTES)] = ""


class Caller(Schema):
    number: Annotated[str, Field(description="As the PBX reported it (cleaned).")]
    name: str
    e164: Annotated[str | None, Field(description="Null when it is no phone number "
                                                  "('anonymous', '<unknown>', ...).")]


class Call(Schema):
    call_id: Annotated[str, Field(description="Asterisk's Linkedid.")]
    queue_uniqueid: str | None
    caller: Caller
    customer_id: int | None
    queue: str | None
    agent: Annotated[str | None, Field(description="Username of the agent who talked last.")]
    agent_id: int | None
    agent_interface: str | None
    agents: Annotated[list[str], Field(
        description="Every interface that talked to the caller, in order.")]
    outcome: Outcome
    direction: Annotated[Direction, Field(
        description="inbound: a caller came in; outbound: an agent's click-to-dial (then "
                    "caller is the number dialled and agent who dialled).")]
    wait_s: Seconds
    talk_s: Seconds
    started_at: datetime
    queued_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    disposition: Disposition | None
    notes: str
    wrapup_by: str | None
    wrapup_by_id: int | None
    wrapup_at: datetime | None


register_schemas({
    **json_schemas([CallWrapup]),
    **json_schemas([Call], mode="serialization"),
    "CallPage": page_schema("Call"),
})
