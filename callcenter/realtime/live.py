"""The live state in Redis: every key, channel, room and payload, in one place.

This module is the contract between the bridge (the only writer of the live state),
the web processes (readers, and the senders of PBX commands) and the browsers. It is
written out in ``telephony/README.md`` ("Live state in Redis"); no other module spells
a ``cc:`` key (``tests/test_live_contract.py`` checks).

Per agent (user id):

- ``cc:seq:<user_id>``: the event counter (``INCR``; never expires);
- ``cc:live:agent_calls:<user_id>``: hash call_id -> the latest event JSON of each live
  call of the agent (``AgentCallEvent``, what a reconnecting desk shows);
- ``cc:live:agent_calls_exp:<user_id>``: sorted set call_id -> epoch when the entry is
  stale (a safety net: an entry whose follow-up event never came, e.g. the bridge died,
  does not pop up for ever). Ended calls wait ``EXPIRY_S["call.ended"]`` (1 h) for
  their wrap-up;
- ``cc:ack:<user_id>``: the highest ``seq`` the agent's desk acknowledged;
- ``cc:seq:run``: a random id made when the counters begin. A Redis that restarted empty
  makes a new one, and every kept event and snapshot carries it (``seq_run``), so a desk
  that saw higher seqs before does not take the new counts for ones it has seen.

The wallboard's live part: ``cc:live:queues`` (queue name -> ``LiveQueue``) and
``cc:live:agents`` (interface -> ``LiveAgent``). The bridge: ``cc:bridge:leader`` (the
active bridge's id), ``cc:bridge:commands`` (``PbxCommand`` list) and
``cc:bridge:result:<request_id>`` (``PbxResult``). The browsers' events go through the
Socket.IO message queue, ``channel_for(redis_url)``, to the rooms named here.

The atomic operations on an agent's live calls, seq and ack (Lua scripts) are in
``callcenter.realtime.agent_calls``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any, NotRequired, TypedDict
from urllib.parse import parse_qs, urlparse

from callcenter.wallboard.figures import AGENT_STATES, to_utc

log = logging.getLogger(__name__)

# --- keys ----------------------------------------------------------------------------------

SEQ_KEY = "cc:seq:{}"
AGENT_CALLS_KEY = "cc:live:agent_calls:{}"
AGENT_CALLS_EXPIRY_KEY = "cc:live:agent_calls_exp:{}"
ACK_KEY = "cc:ack:{}"
SEQ_RUN_KEY = "cc:seq:run"
QUEUES_KEY = "cc:live:queues"
AGENTS_KEY = "cc:live:agents"
#: The active bridge's id (``SET NX PX``, renewed; a standby takes over when it lapses).
LEADER_KEY = "cc:bridge:leader"
#: List of JSON ``PbxCommand`` (the web pushes with LPUSH, the bridge pops with BRPOP).
COMMANDS_KEY = "cc:bridge:commands"
#: List holding the ``PbxResult`` of one command; ``result_key(request_id)``.
RESULT_KEY = "cc:bridge:result:{}"
#: The result waits this long for the web to take it.
RESULT_TTL_S = 60


def result_key(request_id: str) -> str:
    """The reply key of a command (the id cut to a safe key part: it came over Redis)."""
    return RESULT_KEY.format(re.sub(r"[^A-Za-z0-9_-]", "", str(request_id))[:64])


# --- the Socket.IO message queue and its rooms -------------------------------------------

#: Flask-SocketIO's default channel, used as is for Redis database 0.
CHANNEL = "flask-socketio"


def channel_for(redis_url: str) -> str:
    """The Socket.IO message-queue channel for a REDIS_URL.

    Redis pub/sub ignores the database number, so two installations (or test runs) on
    one Redis server with different database numbers would see each other's pops on one
    channel. The channel therefore carries the database number (but 0, where it is
    Flask-SocketIO's default, so a plain setup stays compatible with other publishers).
    """
    parsed = urlparse(redis_url)
    db = parse_qs(parsed.query).get("db", [""])[0]
    if not db and parsed.scheme in ("redis", "rediss"):  # unix:// paths are socket files
        db = parsed.path.strip("/")
    db = db or "0"
    return CHANNEL if db == "0" else f"{CHANNEL}:db{db}"


def agent_room(user_id: int) -> str:
    """Every connection of one user (the name says agent; supervisors have one too)."""
    return f"agent:{int(user_id)}"


def queue_room(queue: str) -> str:
    """The supervisors (and admins) who see the queue on their wallboard."""
    return f"queue:{queue}"


def department_room(department_id: int) -> str:
    """The users of the department, its supervisors and those of its parents, admins."""
    return f"department:{int(department_id)}"


# --- payloads ------------------------------------------------------------------------------

class WaitingCaller(TypedDict):
    call_id: str
    caller_number: str
    #: Epoch seconds (or ISO 8601 text with a zone).
    queued_at: float | str


class LiveQueue(TypedDict):
    """A ``cc:live:queues`` value: callers waiting (in join order), member interfaces."""

    queue: str
    waiting: list[WaitingCaller]
    members: list[str]


class LiveAgent(TypedDict):
    """A ``cc:live:agents`` value: one member interface across all its queues."""

    interface: str
    name: str
    #: One of ``AGENT_STATES``.
    state: str
    reason: str | None
    #: When the state began: epoch seconds (or ISO 8601 text with a zone), or None.
    since: float | str | None
    queues: list[str]
    #: The user whose interface it is, when the bridge knows one.
    user_id: NotRequired[int | None]


class AgentCallEvent(TypedDict, total=False):
    """An agent event as sent and as kept in ``cc:live:agent_calls:<user_id>``
    (telephony/README.md, "Socket.IO"); ``caller``/``customer`` as ``calls.cards``."""

    seq: int
    seq_run: str
    event: str
    call_id: str
    sent_at: float
    ami_read_at: float
    caller: dict[str, Any]
    customer: dict[str, Any] | None
    queue: str | None
    direction: str  # inbound | outbound (click-to-dial: no queue)
    wait_s: float | None
    interface: str
    state: str
    reason: str | None
    outcome: str | None
    talk_s: float | None


class CallsSnapshot(TypedDict):
    seq: int
    seq_run: str
    calls: list[AgentCallEvent]


class PbxCommand(TypedDict, total=False):
    """A ``cc:bridge:commands`` item; which fields an action takes: telephony/README.md."""

    request_id: str
    action: str
    user_id: int
    interface: str
    queue: str | None
    member_name: str
    paused: bool
    reason: str | None
    number: str
    caller_name: str
    context: str
    channel: str
    exten: str
    call_id: str
    #: ``monitor``: the agent's phone listened to, and ``listen``/``whisper``/``barge``.
    agent_interface: str
    mode: str


class PbxResult(TypedDict, total=False):
    ok: bool
    error: str
    #: ``invalid``, ``refused``, a transfer's ``no_call`` / ``not_connected`` /
    #: ``same_queue``, a monitor's ``no_call`` / ``own_phone``; absent when the bridge
    #: failed (AMI down, timeout).
    code: str
    #: ``monitor``: the call listened to (its Linkedid).
    call_id: str


def encode(value: Any) -> str:
    """A live-state value as stored: JSON, Chinese kept as is."""
    return json.dumps(value, ensure_ascii=False)


# --- reading the wallboard's hashes: one parser per payload --------------------------------

class GarbledEntry(ValueError):
    """A live-state entry that does not follow the contract; the message says how."""


def decode_text(value: Any, what: str = "value") -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GarbledEntry(f"{what} is not UTF-8") from exc
    if isinstance(value, str):
        return value
    raise GarbledEntry(f"{what} is not text")


def _object(raw: Any) -> dict[str, Any]:
    try:
        data = json.loads(decode_text(raw))
    except (ValueError, RecursionError) as exc:
        raise GarbledEntry("value is not JSON") from exc
    if not isinstance(data, dict):
        raise GarbledEntry("value is not a JSON object")
    return data


def _str_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GarbledEntry(f"{what} is not a list of strings")
    return value


def parse_queue_entry(name: str, raw: Any) -> LiveQueue:
    """One ``cc:live:queues`` value, checked; raises GarbledEntry."""
    data = _object(raw)
    if data.get("queue", name) != name:
        raise GarbledEntry(f"queue {data.get('queue')!r} under the field {name!r}")
    waiting = data.get("waiting")
    if waiting is None:
        waiting = []
    if not isinstance(waiting, list):
        raise GarbledEntry("waiting is not a list")
    callers: list[WaitingCaller] = []
    for item in waiting:
        if not isinstance(item, dict):
            raise GarbledEntry("a waiting caller is not an object")
        call_id, number = item.get("call_id"), item.get("caller_number")
        if not isinstance(call_id, str) or not call_id:
            raise GarbledEntry("a waiting caller has no call_id")
        if number is not None and not isinstance(number, str):
            raise GarbledEntry("a caller_number is not text")
        if to_utc(item.get("queued_at")) is None:
            raise GarbledEntry("a waiting caller has no valid queued_at")
        callers.append({"call_id": call_id, "caller_number": number or "",
                        "queued_at": item["queued_at"]})
    return {"queue": name, "waiting": callers,
            "members": _str_list(data.get("members"), "members")}


def parse_agent_entry(interface: str, raw: Any) -> LiveAgent:
    """One ``cc:live:agents`` value, checked; raises GarbledEntry."""
    data = _object(raw)
    if data.get("interface", interface) != interface:
        raise GarbledEntry(f"interface {data.get('interface')!r} under the field {interface!r}")
    state = data.get("state")
    if state not in AGENT_STATES:
        raise GarbledEntry(f"unknown state {state!r}")
    reason, name, user_id = data.get("reason"), data.get("name"), data.get("user_id")
    if reason is not None and not isinstance(reason, str):
        raise GarbledEntry("reason is not text")
    if name is not None and not isinstance(name, str):
        raise GarbledEntry("name is not text")
    if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool)):
        raise GarbledEntry("user_id is not a number")
    since = data.get("since")
    if since is not None and to_utc(since) is None:
        raise GarbledEntry("since is not a time")
    return {"interface": interface, "name": name or "", "state": state,
            "reason": reason or None, "since": since,
            "queues": _str_list(data.get("queues"), "queues"), "user_id": user_id}


def read_live_hashes(redis_client) -> tuple[dict, dict]:
    """``(cc:live:queues, cc:live:agents)`` as HGETALL returns them, in one round trip;
    parse each entry with ``parse_queue_entry`` / ``parse_agent_entry``."""
    pipe = redis_client.pipeline(transaction=False)
    pipe.hgetall(QUEUES_KEY)
    pipe.hgetall(AGENTS_KEY)
    raw_queues, raw_agents = pipe.execute()
    return raw_queues, raw_agents


def agent_state(redis_client, interface: str) -> LiveAgent | None:
    """The bridge's view of one queue member, or None (none, or not readable: logged)."""
    raw = redis_client.hget(AGENTS_KEY, interface)
    if not raw:
        return None
    try:
        return parse_agent_entry(interface, raw)
    except GarbledEntry as exc:
        log.warning("live state %s: skipped the entry %r: %s", AGENTS_KEY, interface[:80], exc)
        return None


def live_queue_names(redis_client) -> list[str]:
    return sorted(_name(name) for name in redis_client.hkeys(QUEUES_KEY))


# --- writing the wallboard's hashes (the bridge) ---------------------------------------------

def write_live_entries(pipe, queues: dict[str, LiveQueue], agents: dict[str, LiveAgent],
                       *, replace: bool = False) -> None:
    """Queue the HSETs of the entries on ``pipe`` (the caller executes it); ``replace``
    first deletes both hashes (after a resync: the PBX's whole state)."""
    if replace:
        pipe.delete(QUEUES_KEY, AGENTS_KEY)
    for name, entry in queues.items():
        pipe.hset(QUEUES_KEY, name, encode(entry))
    for interface, entry in agents.items():
        pipe.hset(AGENTS_KEY, interface, encode(entry))


def _name(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# -- Background jobs ---------------------------------------------------------------------

#: ``@job_task(exclusive=True)`` (callcenter/jobs.py): the lock one run of a job holds, so
#: periodic runs never overlap (key suffix: the function's dotted path).
JOB_RUNNING_KEY = "cc:jobs:running:{}"
#: After-call work (callcenter.desk.acw): the call whose wrap-up the agent is doing.
ACW_KEY = "cc:acw:{}"
#: Login throttling (callcenter.login_throttle): the prefix of Flask-Limiter's counters,
#: ``cc:login-throttle:LIMITER/<kind>/<identifiers>/<amount>/<multiples>/<period>``.
LOGIN_THROTTLE_PREFIX = "cc:login-throttle"


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
    raw = {_name(k): _name(v) for k, v in redis_client.hgetall(BRIDGE_STATUS_KEY).items()}
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
