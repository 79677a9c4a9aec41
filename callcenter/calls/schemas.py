"""JSON Schemas (OpenAPI 3.1 components) of the call log API. Output schemas are closed,
so a serializer field not described here fails the API tests."""

from __future__ import annotations

from callcenter.calls.models import Outcome
from callcenter.calls.services import DISPOSITIONS, MAX_NOTES
from callcenter.core.pagination import page_schema
from callcenter.openapi import ref, register_schemas

NULLABLE_ID = {"type": ["integer", "null"], "minimum": 1}
NULLABLE_TEXT = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
SECONDS = {"type": ["number", "null"], "minimum": 0}


def _closed(props: dict) -> dict:
    return {"type": "object", "properties": props, "required": sorted(props),
            "additionalProperties": False}


register_schemas({
    "Caller": _closed({
        "number": {"type": "string", "description": "As the PBX reported it (cleaned)."},
        "name": {"type": "string"},
        "e164": {**NULLABLE_TEXT, "description": "Null when it is no phone number "
                                                 "('anonymous', '<unknown>', ...)."},
    }),
    "Call": _closed({
        "call_id": {"type": "string", "description": "Asterisk's Linkedid."},
        "queue_uniqueid": NULLABLE_TEXT,
        "caller": ref("Caller"),
        "customer_id": NULLABLE_ID,
        "queue": NULLABLE_TEXT,
        "agent": {**NULLABLE_TEXT, "description": "Username of the agent who talked last."},
        "agent_id": NULLABLE_ID,
        "agent_interface": NULLABLE_TEXT,
        "agents": {"type": "array", "items": {"type": "string"},
                   "description": "Every interface that talked to the caller, in order."},
        "outcome": {"enum": [m.value for m in Outcome]},
        "wait_s": SECONDS,
        "talk_s": SECONDS,
        "started_at": TIMESTAMP,
        "queued_at": NULLABLE_TIMESTAMP,
        "answered_at": NULLABLE_TIMESTAMP,
        "ended_at": NULLABLE_TIMESTAMP,
        "disposition": {"enum": [*DISPOSITIONS, None]},
        "notes": {"type": "string"},
        "wrapup_by": NULLABLE_TEXT,
        "wrapup_by_id": NULLABLE_ID,
        "wrapup_at": NULLABLE_TIMESTAMP,
    }),
    "CallPage": page_schema("Call"),
    "CallWrapup": {
        "type": "object",
        "required": ["disposition"],
        "additionalProperties": False,
        "properties": {
            "disposition": {"enum": list(DISPOSITIONS)},
            "notes": {"type": "string", "maxLength": MAX_NOTES},
        },
    },
})
