"""After-call work (ACW): when an agent's call ends, the PBX stops ringing them while
they write the wrap-up, and nothing piles up when they don't.

- The bridge, on the end of an answered call (``telephony`` ``CallEnded``), pauses the
  agent in all their queues with the reason ``wrap-up`` (``ACW_REASON``: the live
  state and the wallboard then show them in wrap-up) and calls
  ``schedule_after_call_work``: it remembers which call the wrap-up is for
  (``cc:acw:<user id>``) and schedules two jobs with ids made of what they are about.
- ``end_after_call_work``: after ``ACW_SECONDS``, or at once when the wrap-up is saved,
  the agent is made available again, through the same status control as the desk's
  (``desk.status.change_status``). It only ends the after-call work it was scheduled
  for: an agent who chose another pause meanwhile, or whose next call already ended,
  stays as they are. Running it twice changes nothing.
- ``apply_default_wrapup`` (calls domain): a call still without a wrap-up
  ``ACW_DEFAULT_AFTER_S`` after it ended gets ``ACW_DEFAULT_DISPOSITION``; its card
  leaves the desk like a saved one.
- ``reconcile_after_call_work`` (periodic) redoes both for whatever Redis lost: agents
  paused for wrap-up longer than the time, and calls that missed their default.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from rq import Retry
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord, Outcome
from callcenter.calls.services import apply_default_wrapup
from callcenter.config import Settings
from callcenter.db import utcnow
from callcenter.desk.status import StatusError, change_status
from callcenter.jobs import JobContext, enqueue_once, job_task, redis_connection
from callcenter.realtime import live
from callcenter.users.models import User
from telephony.callstate import ACW_REASON

log = logging.getLogger(__name__)

CURRENT_KEY = live.ACW_KEY
#: A PBX that did not answer the unpause is asked again soon: the agent waits meanwhile.
END_RETRY = Retry(max=5, interval=[5, 10, 30, 60, 120])
#: The reconciler ends a wrap-up pause this long after it should have ended.
GRACE_S = 30
#: The reconciler looks this far back for calls that missed their default wrap-up.
LOOK_BACK = timedelta(days=2)


def _slug(call_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", call_id)[:40]


def pause_command(user_id: int, interface: str) -> dict:
    """The PBX command that starts after-call work (``realtime.commands`` format)."""
    return {"action": "queue_pause", "user_id": user_id, "interface": interface,
            "queue": None, "paused": True, "reason": ACW_REASON}


def schedule_after_call_work(redis_client, settings: Settings, *, user_id: int,
                             call_id: str) -> bool:
    """Remember that ``user_id`` is wrapping up ``call_id`` and schedule the end of it
    and the default wrap-up. False when after-call work is off (``ACW_SECONDS=0``)."""
    if settings.acw_seconds <= 0:
        return False
    slug = _slug(call_id)
    redis_client.set(CURRENT_KEY.format(user_id), call_id,
                     ex=settings.acw_seconds + GRACE_S + 3600)
    enqueue_once(end_after_call_work_job, user_id, call_id,
                 job_id=f"acw-end-{user_id}-{slug}", delay_s=settings.acw_seconds,
                 retry=END_RETRY, timeout_s=60, connection=redis_client)
    enqueue_once(default_wrapup_job, call_id, job_id=f"acw-default-{slug}",
                 delay_s=settings.acw_default_after_s, timeout_s=60,
                 connection=redis_client)
    return True


_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end"


def _still_in_wrap_up(state: dict | None, *, ours: bool) -> bool:
    """Is the agent (live ``state``) still in the wrap-up we started? Paused with our
    reason, or, for the call we started it for (``ours``), in wrap-up without a reason
    yet: right after the call the live state shows the queue's own short wrap-up time
    before our pause, and a wrap-up saved in that moment must still end the pause (found
    by tests/test_browser_agent_day.py). A pause the agent chose has a reason of its own."""
    if state is None:
        return False
    reason = state.get("reason")
    return reason == ACW_REASON or (ours and reason is None and state.get("state") == "wrap_up")


def end_after_call_work(session: Session, redis_client, user: User,
                        call_id: str | None) -> str:
    """Make ``user`` available again if they are still paused for the wrap-up of
    ``call_id`` (None: of whichever call). Returns what was done: ``ended``,
    ``not_in_wrap_up`` (they chose another status, or it ended already) or
    ``newer_call`` (the wrap-up is now for another call; its own job ends it).
    StatusError when the PBX could not be told (the job is tried again)."""
    key = CURRENT_KEY.format(user.id)
    current = redis_client.get(key)
    current = current.decode() if isinstance(current, bytes) else current
    if call_id is not None and current is not None and current != call_id:
        return "newer_call"
    state = live.agent_state(redis_client, user.interface) if user.interface else None
    if not _still_in_wrap_up(state, ours=current is not None and current == call_id):
        if call_id is not None:
            redis_client.eval(_RELEASE, 1, key, call_id)
        return "not_in_wrap_up"
    change_status(session, redis_client, user, user, "available")
    if current is not None:
        redis_client.eval(_RELEASE, 1, key, current)
    return "ended"


@job_task
def end_after_call_work_job(ctx: JobContext, user_id: int, call_id: str) -> str:
    user = ctx.session.get(User, user_id)
    if user is None:
        return "no_user"
    return end_after_call_work(ctx.session, redis_connection(ctx.settings), user, call_id)


@job_task
def default_wrapup_job(ctx: JobContext, call_id: str) -> bool:
    return apply_default_wrapup(ctx.session, call_id, ctx.settings.acw_default_disposition)


def wrapup_saved(call_id: str, *, user_id: int, disposition: str, **_kw) -> None:
    """Receiver of ``calls.wrapped-up``: the wrap-up is written, the pause can end now
    (a job: the PBX command must not hold up the request that saved it)."""
    try:
        enqueue_once(end_after_call_work_job, user_id, call_id,
                     job_id=f"acw-saved-{user_id}-{_slug(call_id)}", retry=END_RETRY,
                     timeout_s=60)
    except Exception:  # noqa: BLE001 - the reconciler ends the pause; the save stands
        log.warning("could not schedule the end of %s's after-call work", user_id,
                    exc_info=True)


def overdue_pauses(agents: dict, now: float, acw_seconds: int) -> list[int]:
    """The users (ids) of the live agents paused for wrap-up longer than allowed."""
    out = []
    for interface, raw in agents.items():
        try:
            entry = live.parse_agent_entry(interface.decode() if isinstance(interface, bytes)
                                           else interface, raw)
        except live.GarbledEntry:
            continue
        since = entry.get("since")
        if entry.get("reason") == ACW_REASON and isinstance(since, (int, float)) and \
                isinstance(entry.get("user_id"), int) and \
                now - since > acw_seconds + GRACE_S:
            out.append(entry["user_id"])
    return out


RECONCILE_EVERY_S = 30


@job_task(exclusive=True)
def reconcile_after_call_work(ctx: JobContext) -> dict:
    """Ends the wrap-up pauses whose job Redis lost, and gives the calls that missed
    their default wrap-up theirs."""
    settings, session = ctx.settings, ctx.session
    redis_client = redis_connection(settings)
    ended = defaulted = 0
    if settings.acw_seconds > 0:
        _queues, agents = live.read_live_hashes(redis_client)
        for user_id in overdue_pauses(agents, utcnow().timestamp(), settings.acw_seconds):
            user = session.get(User, user_id)
            if user is None:
                continue
            try:
                ended += end_after_call_work(session, redis_client, user, None) == "ended"
            except StatusError as exc:
                log.warning("after-call work of %s not ended: %s", user.username, exc.message)
    now = utcnow()
    late = now - timedelta(seconds=settings.acw_default_after_s)
    for call_id in session.scalars(
            select(CallRecord.call_id).where(
                CallRecord.outcome.in_((Outcome.ANSWERED, Outcome.TRANSFERRED)),
                CallRecord.disposition.is_(None), CallRecord.agent_id.is_not(None),
                CallRecord.ended_at < late, CallRecord.ended_at > now - LOOK_BACK)
            .order_by(CallRecord.ended_at).limit(500)).all():
        defaulted += apply_default_wrapup(session, call_id, settings.acw_default_disposition,
                                          now=now)
    return {"ended": ended, "defaulted": defaulted}


