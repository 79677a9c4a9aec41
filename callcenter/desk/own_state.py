"""The agent's own state on their desk, live: the badge follows the PBX.

The bridge pushes each change of an agent's state (after-call work starting, a
supervisor's pause, the timer's unpause, a pause the PBX made) to that agent's own room
as ``agent.state`` (``OWN_STATE_EVENT``), besides the ``agent.update`` the wallboards of
their queues get. The payload is the same row as ``agent.update`` (``agent_rows``:
``interface``, ``user_id``, ``name``, ``state``, ``reason``, ``since``,
``seconds_in_state``, ``queues``, ``updated_at``), so one shape describes an agent
everywhere; the desk (``static/js/desk/status.js``) shows it. A desk that (re)connects
gets the current row at once (``own_state_row``, sent by ``callcenter.realtime.server``),
so a change missed while it was away does not stay wrong.
"""

from __future__ import annotations

from typing import Any

from callcenter.realtime import live
from callcenter.users.models import User
from callcenter.wallboard.figures import agent_rows

#: Registered for user rooms (``agent:<user_id>``) in ``callcenter.desk.init_app``.
OWN_STATE_EVENT = "agent.state"


def own_state_row(redis_client, user: User) -> dict[str, Any] | None:
    """``user``'s row as ``agent.state`` carries it, from the live state; None when they
    have no phone or the bridge reports nothing of it."""
    if not user.interface:
        return None
    state = live.agent_state(redis_client, user.interface)
    if state is None:
        return None
    return agent_rows({user.interface: state}, {user.interface: user})[0]
