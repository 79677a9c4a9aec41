"""The technician's phone's API: today's jobs, and the sync of changes made on the phone
(``repairs.sync`` holds the protocol). Thin shells."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from flask_wtf.csrf import generate_csrf

from callcenter.api import api_route, locality
from callcenter.auth import api_user
from callcenter.db import db_session
from callcenter.openapi import register_schemas
from callcenter.users.permissions import Permission
from repairs.sync import KINDS, sync_change
from repairs.tech import todays_jobs

register_schemas({"TechChange": {
    "type": "object", "required": ["key", "order_id", "version", "kind", "data"],
    "properties": {
        "key": {"type": "string", "minLength": 8, "maxLength": 80,
                "description": "Made on the phone (crypto.randomUUID) per change."},
        "order_id": {"type": "integer"},
        "version": {"type": "integer", "description": "The order's version the change "
                                                      "was made on."},
        "kind": {"enum": list(KINDS)},
        "data": {"type": "object", "description": "findings: {findings}; move: {to, "
                 "note?}; part: {part_id, quantity}; photo: {name, data (data URL)}; "
                 "signature: {data (PNG data URL)}."}}}})


@api_route("GET", "/tech/jobs", summary="The technician's jobs today", tag="tech",
           permission=Permission.REPAIR_READ,
           description="The caller's repair orders scheduled today (the call center's "
                       "time zone) and those still open from earlier days, in order, "
                       "with customer, address, map link, equipment, repair history, "
                       "parts used and the stations' stock. `csrf_token` is for the "
                       "phone's cookie-authenticated sync.")
def tech_jobs():
    body = todays_jobs(db_session(), api_user(), locality())
    body["csrf_token"] = generate_csrf()
    response = jsonify(body)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@api_route("POST", "/tech/sync", summary="Apply one change made on the technician's phone",
           tag="tech", permission=Permission.REPAIR_WRITE, body="TechChange",
           errors=(404, 409),
           description="Body `{key, order_id, version, kind, data}`; kinds `findings`, "
                       "`move`, `part`, `photo`, `signature`. The `key` (made on the "
                       "phone) makes it idempotent: the same key again answers the "
                       "stored answer (`replayed: true`) and changes nothing. A stale "
                       "`version` on `findings` or `move` is a 409 with `conflict` "
                       "(`mine`, `theirs`) and `current_version`. Only the technician "
                       "the order is dispatched to, or a supervisor: for others 404.")
def tech_sync(body: dict[str, Any]):
    answer = sync_change(db_session(), api_user(), body,
                         settings=current_app.config["SETTINGS"])
    response = jsonify(answer.body)
    response.status_code = answer.status
    return response
