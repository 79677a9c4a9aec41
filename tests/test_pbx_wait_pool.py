"""A request waiting for the PBX holds no database connection (a real served app, real
Redis, each backend). Agents change their status, dial and transfer, and a supervisor
starts monitoring, all at once while no bridge answers: while every one of them waits
for the bridge, the pool has every connection back (``commit_before_waiting``), so the
rest of the desk is not queued behind a bridge that is away. Then a bridge answers and
each gets its answer."""

from __future__ import annotations

import threading

from fake_bridge import FakeBridge
from stack import WAIT_S, interface_of, wait_until
from test_dial_transfer import _desk_session, _post_as
from test_wallboard_parallel import supervisors  # noqa: F401 (the fixture)

from callcenter.realtime import live


def test_requests_waiting_for_the_bridge_hold_no_database_connection(
        stack, supervisors, redis_conn, redis_url):  # noqa: F811
    stack.app.config["PBX_COMMAND_TIMEOUT_S"] = WAIT_S
    asks = [("agent1", "/desk/status", {"status": "paused", "reason": "lunch"}),
            ("agent2", "/desk/status", {"status": "available"}),
            ("agent3", "/desk/dial", {"number": "13812345678"}),
            ("agent4", "/desk/transfer", {"call_id": "1795455872.8", "queue": "repairs"}),
            (supervisors[0], "/wallboard/monitor", {"interface": interface_of(5),
                                                     "mode": "listen"})]
    sessions = [_desk_session(stack, name) for name, _path, _body in asks]
    answers: list = [None] * len(asks)

    def ask(i: int) -> None:
        _name, path, body = asks[i]
        answers[i] = _post_as(stack, sessions[i], path, body)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(asks))]
    for thread in threads:
        thread.start()
    try:
        # every request has sent its (first) command and waits for its answer
        wait_until(lambda: redis_conn.llen(live.COMMANDS_KEY) == len(asks), WAIT_S,
                   what="each request's PBX command")
        pool = stack.app.extensions["db_engine"].pool
        assert pool.checkedout() == 0, pool.status()
    finally:
        with FakeBridge(redis_url):
            for thread in threads:
                thread.join(WAIT_S * 2)
    assert not any(thread.is_alive() for thread in threads)
    assert [a.status_code for a in answers] == [200] * len(asks), [a.text for a in answers]

