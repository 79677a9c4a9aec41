"""An agent's live calls, event counter and acknowledgements: the atomic operations.

The keys are ``callcenter.realtime.live``'s (``SEQ_KEY``, ``AGENT_CALLS_KEY``,
``AGENT_CALLS_EXPIRY_KEY``, ``ACK_KEY``). Writing an agent event is one Lua script (one
round trip, atomic): the counter and the hash always agree, so a snapshot taken at
``seq`` S holds every event up to S and a client can drop events with ``seq <= S``
without missing one.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from callcenter.realtime.live import (
    ACK_KEY,
    AGENT_CALLS_EXPIRY_KEY,
    AGENT_CALLS_KEY,
    SEQ_KEY,
    SEQ_RUN_KEY,
    CallsSnapshot,
)

#: How long an entry stays in the live hash without a newer event for the call.
EXPIRY_S = {
    "call.ringing": 15 * 60,       # a member rings for seconds; a re-ring refreshes it
    "call.answered": 12 * 3600,    # a very long call
    "call.ended": 3600,            # waiting for the wrap-up
}
#: The hash and its index expire this long after the agent's last event.
KEY_TTL_S = 24 * 3600

#: KEYS: seq, hash, expiry index, seq run. ARGV: call_id, "set"|"del", JSON tail (the
#: event JSON without its leading '{"seq":N'), expires_at, now, key ttl, a new run id
#: (used when Redis has none). Returns {the new seq, the run id}.
_RECORD_EVENT_LUA = """
local run = redis.call('GET', KEYS[4])
if not run then
  redis.call('SET', KEYS[4], ARGV[7])
  run = ARGV[7]
end
local seq = redis.call('INCR', KEYS[1])
local now = tonumber(ARGV[5])
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for i = 1, #stale do redis.call('HDEL', KEYS[2], stale[i]) end
if #stale > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
if ARGV[2] == 'set' then
  redis.call('HSET', KEYS[2], ARGV[1], '{"seq":' .. seq .. ',"seq_run":"' .. run .. '"' .. ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
else
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('EXPIRE', KEYS[3], ARGV[6])
return {seq, run}
"""

#: KEYS: ack, seq. ARGV: the acknowledged seq. Keeps the highest ack, never above seq.
_STORE_ACK_LUA = """
local n = tonumber(ARGV[1])
local top = tonumber(redis.call('GET', KEYS[2]) or '0')
if n > top then n = top end
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > cur then
  redis.call('SET', KEYS[1], n)
  return n
end
return cur
"""

_scripts: dict[str, Any] = {}


def _run(redis_client, source: str, keys: list, args: list):
    """EVALSHA (loading the script on first use on each server)."""
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = redis_client.register_script(source)
    return script(keys=keys, args=args, client=redis_client)


def record_agent_event(redis_client, user_id: int, event: str, body: dict[str, Any],
                       *, keep: bool = True, now: float | None = None) -> tuple[int, str]:
    """Count the event and keep it as the call's latest (or drop the call): one round trip.

    ``keep``: the event becomes the call's entry in the agent's live calls; False
    removes the call (``call.dismissed``). ``body`` is the event without ``seq`` (it must
    hold ``call_id``); the stored JSON is ``{"seq": <new seq>, "seq_run": <run>, **body}``.
    Returns (seq, seq_run).
    """
    now = time.time() if now is None else now
    call_id = str(body["call_id"])
    encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    tail = "}" if encoded == "{}" else "," + encoded[1:]
    expires_at = now + EXPIRY_S.get(event, EXPIRY_S["call.answered"])
    uid = int(user_id)
    seq, run = _run(redis_client, _RECORD_EVENT_LUA,
                    [SEQ_KEY.format(uid), AGENT_CALLS_KEY.format(uid),
                     AGENT_CALLS_EXPIRY_KEY.format(uid), SEQ_RUN_KEY],
                    [call_id, "set" if keep else "del", tail, f"{expires_at:.3f}",
                     f"{now:.3f}", KEY_TTL_S, secrets.token_hex(8)])
    return int(seq), _as_str(run)


def read_snapshot(redis_client, user_id: int, *, now: float | None = None) -> CallsSnapshot:
    """``{"seq": <current>, "seq_run": <run id>, "calls": [<latest event of each live
    call>, ...]}``, calls oldest first.

    One atomic read: the calls are exactly those at ``seq``. Stale entries (past their
    expiry) are left out; the next write of the bridge removes them.
    """
    now = time.time() if now is None else now
    uid = int(user_id)
    pipe = redis_client.pipeline(transaction=True)
    pipe.set(SEQ_RUN_KEY, secrets.token_hex(8), nx=True)
    pipe.get(SEQ_RUN_KEY)
    pipe.get(SEQ_KEY.format(uid))
    pipe.hgetall(AGENT_CALLS_KEY.format(uid))
    pipe.zrangebyscore(AGENT_CALLS_EXPIRY_KEY.format(uid), "-inf", now)
    _, run, seq, entries, stale = pipe.execute()
    stale = {_as_str(s) for s in stale}
    calls = []
    for call_id, raw in entries.items():
        if _as_str(call_id) in stale:
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if isinstance(event, dict):
            calls.append(event)
    calls.sort(key=lambda e: e.get("seq") if isinstance(e.get("seq"), int) else 0)
    return {"seq": int(seq or 0), "seq_run": _as_str(run), "calls": calls}


def remove_agent_call(redis_client, user_id: int, call_id: str) -> None:
    """Drop a call from the agent's live calls (its wrap-up was saved)."""
    uid = int(user_id)
    pipe = redis_client.pipeline(transaction=True)
    pipe.hdel(AGENT_CALLS_KEY.format(uid), str(call_id))
    pipe.zrem(AGENT_CALLS_EXPIRY_KEY.format(uid), str(call_id))
    pipe.execute()


def store_ack(redis_client, user_id: int, seq: int) -> int:
    """Remember the highest acknowledged seq (never above the counter); returns it."""
    uid = int(user_id)
    return int(_run(redis_client, _STORE_ACK_LUA,
                    [ACK_KEY.format(uid), SEQ_KEY.format(uid)], [int(seq)]))


def acked_seq(redis_client, user_id: int) -> int:
    return int(redis_client.get(ACK_KEY.format(int(user_id))) or 0)


def _as_str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def agent_call(redis_client, user_id: int, call_id: str, *,
               now: float | None = None) -> dict[str, Any] | None:
    """The latest event of ``call_id`` among the agent's live calls (the pop the bridge
    gave them: ringing, answered or ended and not yet wrapped up); None when the call is
    not theirs (never rung, dismissed, wrapped up or expired)."""
    now = time.time() if now is None else now
    uid = int(user_id)
    pipe = redis_client.pipeline(transaction=True)
    pipe.hget(AGENT_CALLS_KEY.format(uid), str(call_id))
    pipe.zscore(AGENT_CALLS_EXPIRY_KEY.format(uid), str(call_id))
    raw, expires_at = pipe.execute()
    if raw is None or (expires_at is not None and float(expires_at) <= now):
        return None
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
