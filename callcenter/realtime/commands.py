"""Asking the telephony bridge to act on the PBX (queue membership, calls).

The web process pushes a JSON ``PbxCommand`` on ``live.COMMANDS_KEY`` and waits on
``live.result_key(request_id)`` for the bridge's ``PbxResult`` (keys and payloads:
``callcenter.realtime.live``; contract: ``telephony/README.md``, "Commands"). A
command nobody picked up before the timeout is taken back, so a bridge starting later
does not run a stale request.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import redis

from callcenter.realtime.live import COMMANDS_KEY, PbxResult, result_key

ACTIONS = ("queue_add", "queue_remove", "queue_pause", "originate", "redirect", "transfer",
           "monitor")
NOT_ANSWERING = "the telephony bridge is not answering"

log = logging.getLogger(__name__)


def request_pbx_action(redis_client, action: dict[str, Any], timeout: float = 5.0
                       ) -> PbxResult:
    """Send ``action`` (``{"action": "queue_pause", "user_id": ..., ...}``) to the bridge.

    Returns the bridge's result, ``{"ok": True, ...}`` or ``{"ok": False, "error": ...}``;
    ``{"ok": False, "error": "the telephony bridge is not answering"}`` after ``timeout``
    seconds (keep it below the Redis client's socket timeout).
    """
    if action.get("action") not in ACTIONS:
        raise ValueError(f"unknown PBX action {action.get('action')!r}; "
                         f"one of {', '.join(ACTIONS)}")
    request_id = uuid.uuid4().hex
    command = json.dumps({**action, "request_id": request_id}, ensure_ascii=False)
    try:
        redis_client.lpush(COMMANDS_KEY, command)
        reply = redis_client.blpop([result_key(request_id)], timeout=max(timeout, 0.01))
    except redis.RedisError as exc:
        log.warning("PBX command %r: Redis failed: %s", str(action.get("action"))[:40], exc)
        return {"ok": False, "error": NOT_ANSWERING}
    if reply is None:
        try:
            redis_client.lrem(COMMANDS_KEY, 1, command)
        except redis.RedisError:  # pragma: no cover - Redis went away meanwhile
            pass
        return {"ok": False, "error": NOT_ANSWERING}
    try:
        result = json.loads(reply[1])
    except ValueError:
        return {"ok": False, "error": "the telephony bridge sent an unreadable answer"}
    if not isinstance(result, dict) or not isinstance(result.get("ok"), bool):
        return {"ok": False, "error": "the telephony bridge sent an unreadable answer"}
    if not result["ok"] and not result.get("error"):
        result["error"] = "the PBX refused the request"
    return result
