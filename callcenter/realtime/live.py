"""The live state of agents' calls in Redis: key names, the atomic event write, snapshots.

The contract is in ``telephony/README.md`` ("Live state in Redis"). Per agent:

- ``cc:seq:<user_id>``: the event counter (``INCR``; never expires);
- ``cc:live:agent_calls:<user_id>``: hash call_id -> the latest event JSON of each live
  call of the agent (what a reconnecting desk shows);
- ``cc:live:agent_calls_exp:<user_id>``: sorted set call_id -> epoch when the entry is
  stale (a safety net: an entry whose follow-up event never came, e.g. the bridge died,
  does not pop up for ever). Ended calls wait ``EXPIRY_S["call.ended"]`` (1 h) for
  their wrap-up;
- ``cc:ack:<user_id>``: the highest ``seq`` the agent's desk acknowledged.

Writing an event is one Lua script (one round trip, atomic): the counter and the hash
always agree, so a snapshot taken at ``seq`` S holds every event up to S and a client
can drop events with ``seq <= S`` without missing one.
"""

from __future__ import annotations

import json
import time
from typing import Any

SEQ_KEY = "cc:seq:{}"
AGENT_CALLS_KEY = "cc:live:agent_calls:{}"
AGENT_CALLS_EXPIRY_KEY = "cc:live:agent_calls_exp:{}"
ACK_KEY = "cc:ack:{}"
QUEUES_KEY = "cc:live:queues"
AGENTS_KEY = "cc:live:agents"

#: How long an entry stays in the live hash without a newer event for the call.
EXPIRY_S = {
    "call.ringing": 15 * 60,       # a member rings for seconds; a re-ring refreshes it
    "call.answered": 12 * 3600,    # a very long call
    "call.ended": 3600,            # waiting for the wrap-up
}
#: The hash and its index expire this long after the agent's last event.
KEY_TTL_S = 24 * 3600

#: KEYS: seq, hash, expiry index. ARGV: call_id, "set"|"del", JSON tail (the event JSON
#: without its leading '{"seq":N'), expires_at, now, key ttl. Returns the new seq.
_RECORD_EVENT_LUA = """
local seq = redis.call('INCR', KEYS[1])
local now = tonumber(ARGV[5])
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for i = 1, #stale do redis.call('HDEL', KEYS[2], stale[i]) end
if #stale > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
if ARGV[2] == 'set' then
  redis.call('HSET', KEYS[2], ARGV[1], '{"seq":' .. seq .. ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
else
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('EXPIRE', KEYS[3], ARGV[6])
return seq
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


def agent_room(user_id: int) -> str:
    return f"agent:{int(user_id)}"


def queue_room(queue: str) -> str:
    return f"queue:{queue}"


def record_agent_event(redis_client, user_id: int, event: str, body: dict[str, Any],
                       *, now: float | None = None) -> int:
    """Count the event and keep it as the call's latest (or drop the call): one round trip.

    ``event``: ``call.ringing`` / ``call.answered`` / ``call.ended`` keep the event,
    ``call.dismissed`` removes the call. ``body`` is the event without ``seq`` (it must
    hold ``call_id``); the stored JSON is ``{"seq": <new seq>, **body}``. Returns the seq.
    """
    now = time.time() if now is None else now
    call_id = str(body["call_id"])
    encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    tail = "}" if encoded == "{}" else "," + encoded[1:]
    keep = event != "call.dismissed"
    expires_at = now + EXPIRY_S.get(event, EXPIRY_S["call.answered"])
    uid = int(user_id)
    return int(_run(redis_client, _RECORD_EVENT_LUA,
                    [SEQ_KEY.format(uid), AGENT_CALLS_KEY.format(uid),
                     AGENT_CALLS_EXPIRY_KEY.format(uid)],
                    [call_id, "set" if keep else "del", tail, f"{expires_at:.3f}",
                     f"{now:.3f}", KEY_TTL_S]))


def read_snapshot(redis_client, user_id: int, *, now: float | None = None) -> dict[str, Any]:
    """``{"seq": <current>, "calls": [<latest event of each live call>, ...]}``, oldest first.

    One atomic read: the calls are exactly those at ``seq``. Stale entries (past their
    expiry) are left out; the next write of the bridge removes them.
    """
    now = time.time() if now is None else now
    uid = int(user_id)
    pipe = redis_client.pipeline(transaction=True)
    pipe.get(SEQ_KEY.format(uid))
    pipe.hgetall(AGENT_CALLS_KEY.format(uid))
    pipe.zrangebyscore(AGENT_CALLS_EXPIRY_KEY.format(uid), "-inf", now)
    seq, entries, stale = pipe.execute()
    stale = {_text(s) for s in stale}
    calls = []
    for call_id, raw in entries.items():
        if _text(call_id) in stale:
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if isinstance(event, dict):
            calls.append(event)
    calls.sort(key=lambda e: e.get("seq") if isinstance(e.get("seq"), int) else 0)
    return {"seq": int(seq or 0), "calls": calls}


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


def agent_state(redis_client, interface: str) -> dict[str, Any] | None:
    """The bridge's view of one queue member (``cc:live:agents``), or None."""
    raw = redis_client.hget(AGENTS_KEY, interface)
    if not raw:
        return None
    try:
        state = json.loads(raw)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def live_queue_names(redis_client) -> list[str]:
    return sorted(_text(name) for name in redis_client.hkeys(QUEUES_KEY))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# -- Process health: the active bridge's status and counters ------------------------------
# Written by the bridge (callcenter/bridge/status.py), read by /healthz and /metrics
# (callcenter/health.py, callcenter/metrics.py): the web cannot ask the bridge process.

#: Hash: ``at`` (epoch s of the write), ``ami_up`` ("1"/"0"), ``counters`` (JSON object
#: name -> int, since the bridge became active). Gone BRIDGE_STATUS_TTL_S after the last
#: write: no hash means no bridge worked lately.
BRIDGE_STATUS_KEY = "cc:bridge:status"
#: The active bridge writes its status this often (from its call-log thread).
BRIDGE_STATUS_EVERY_S = 2.0
BRIDGE_STATUS_TTL_S = 15


def write_bridge_status(redis_client, *, ami_up: bool, counters: dict[str, int],
                        now: float | None = None) -> None:
    now = time.time() if now is None else now
    pipe = redis_client.pipeline(transaction=True)
    pipe.hset(BRIDGE_STATUS_KEY, mapping={
        "at": f"{now:.3f}", "ami_up": "1" if ami_up else "0",
        "counters": json.dumps(counters, separators=(",", ":"))})
    pipe.expire(BRIDGE_STATUS_KEY, BRIDGE_STATUS_TTL_S)
    pipe.execute()


def read_bridge_status(redis_client) -> dict[str, Any] | None:
    """``{"at": float, "ami_up": bool, "counters": {name: int}}``, or None."""
    raw = {_text(k): _text(v) for k, v in redis_client.hgetall(BRIDGE_STATUS_KEY).items()}
    if not raw:
        return None
    try:
        counters = json.loads(raw.get("counters") or "{}")
        at = float(raw.get("at") or 0)
    except ValueError:
        return None
    if not isinstance(counters, dict):
        counters = {}
    return {"at": at, "ami_up": raw.get("ami_up") == "1",
            "counters": {str(k): int(v) for k, v in counters.items()
                         if isinstance(v, int) and not isinstance(v, bool)}}
