"""The extension mechanism: signals declared by the domain that sends them, receivers
connected in each domain's ``init_app``, and ``init_domains`` run once by every kind of
process (the web app, the worker, the bridge), each checked in a process of its own."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest
from api_helpers import bearer
from test_calls import AGENT_IF, finished

from callcenter.calls import signals as calls_signals
from callcenter.calls.recording import record_call
from callcenter.core.domains import DOMAINS, init_domains
from callcenter.core.signals import all_signals, collect, signal
from callcenter.customers import signals as customers_signals
from callcenter.realtime.agent_calls import read_snapshot, record_agent_event

#: What the domains connect and register today (grows with each domain).
RECEIVERS = {"calls.wrapped-up": ["drop_wrapped_up_pop", "wrapup_saved"],
             "calls.open-tickets-asked": ["answer_open_tickets"],
             "calls.ticket-status-asked": ["answer_ticket_status"],
             "customers.merged": ["move_calls_to_survivor", "move_orders_to_survivor",
                                  "move_tickets_to_survivor"]}
LIVE_EVENTS = ["agent.state", "agent.update", "call.answered", "call.dismissed", "call.ended",
               "call.ringing", "queue.update", "stock.low", "ticket.changed",
               "ticket.escalated", "ticket.notice"]


def receivers() -> dict[str, list[str]]:
    """Signal name -> the names of its receivers (only signals that have some)."""
    found = {}
    for name, sig in all_signals().items():
        names = sorted(r.__name__ for r in sig.receivers_for(None))
        if names:
            found[name] = names
    return found


def test_a_receiver_connected_in_a_test_gets_the_signal_and_is_gone_after():
    happened = signal(f"tests.happened-{uuid.uuid4().hex[:8]}",
                      "A test's own event. Sender: a word. Keywords: n.")
    got = []

    def receiver(word, *, n, **_):
        got.append((word, n))
        return n * 10

    def silent(word, **_):
        return None

    with happened.connected_to(receiver), happened.connected_to(silent):
        assert collect(happened, "hello", n=1) == [10]  # None is no answer
    assert collect(happened, "again", n=2) == []
    assert got == [("hello", 1)]


def test_a_signal_is_declared_once_and_says_what_it_means():
    with pytest.raises(ValueError):
        signal("calls.wrapped-up", "a second meaning")
    with pytest.raises(ValueError):
        signal(f"tests.undocumented-{uuid.uuid4().hex[:8]}", "  ")
    declared = {name: sig for name, sig in all_signals().items()
                if not name.startswith("tests.")}
    assert {"calls.wrapped-up", "calls.open-tickets-asked", "calls.ticket-status-asked",
            "customers.merged"} <= set(declared)
    for name, sig in declared.items():
        assert "Sender:" in sig.__doc__ and "Keywords:" in sig.__doc__, name
    # Each is the one its domain's module exports.
    assert declared["calls.wrapped-up"] is calls_signals.call_wrapped_up
    assert declared["customers.merged"] is customers_signals.customers_merged


def test_init_domains_twice_connects_each_receiver_once():
    init_domains()
    first = receivers()
    assert init_domains() is False
    for name in DOMAINS:  # even a domain's own init_app called again adds nothing
        importlib.import_module(name).init_app()
    assert receivers() == first
    for name, expected in RECEIVERS.items():
        assert first[name] == expected


def test_a_saved_wrap_up_closes_the_agents_pop(client, session, make_user, redis_conn):
    """Through the web: the API saves the wrap-up, the request commits, the realtime
    layer's receiver of calls.wrapped-up drops the call from the agent's live calls."""
    agent = make_user("agent", username="agent1", scope="own", department="Service/Beijing",
                      interface=AGENT_IF, token=True)
    record_call(session, finished("1795455872.8"), region="CN")
    session.flush()
    record_agent_event(redis_conn, agent.id, "call.ended", {"call_id": "1795455872.8"})
    record_agent_event(redis_conn, agent.id, "call.ringing", {"call_id": "1795455999.1"})
    response = client.post("/api/v1/calls/1795455872.8/wrapup", headers=bearer(agent),
                           json={"disposition": "resolved"})
    assert response.status_code == 200, response.get_data(as_text=True)
    calls = read_snapshot(redis_conn, agent.id)["calls"]
    assert [c["call_id"] for c in calls] == ["1795455999.1"]


# --- each kind of process initialises the domains, once ---------------------------------

PROBE = """
import json, os, sys
from callcenter.config import load_settings
from callcenter.core import domains
from callcenter.core.signals import all_signals
from callcenter.realtime.publish import registered_events
import callcenter.calls.signals, callcenter.customers.signals

assert not domains.domains_initialised(), "importing must initialise nothing"
settings = load_settings()
for _ in range(2):
{entry}
print(json.dumps({{
    "initialised": domains.domains_initialised(),
    "receivers": {{name: sorted(r.__name__ for r in sig.receivers_for(None))
                  for name, sig in all_signals().items() if sig.receivers}},
    "events": sorted(registered_events()),
}}))
"""

ENTRIES = {
    "web": """
    from callcenter.app import create_app
    create_app(settings)
""",
    # Every job runs inside job_context (``@job_task``); ``callcenter worker`` also
    # initialises before forking its work horses (RQ's burst mode lingers a minute on
    # its pub/sub thread, too slow for a test).
    "worker": """
    from callcenter.jobs import job_context
    with job_context(settings) as ctx:
        assert ctx.session is not None
""",
    "bridge": """
    import asyncio
    from callcenter.bridge.main import run_bridge
    from callcenter.bridge.settings import BridgeSettings
    async def once():
        stop = asyncio.Event()
        stop.set()  # initialise, then stop before the leader lock is even asked for
        await run_bridge(settings, BridgeSettings("127.0.0.1", 1, "u", "s", "127.0.0.1", 0),
                         stop)
    asyncio.run(once())
""",
}


@pytest.mark.parametrize("process", sorted(ENTRIES))
def test_every_process_initialises_the_domains_once(process, tmp_path, redis_url):
    script = PROBE.format(entry=textwrap.indent(textwrap.dedent(ENTRIES[process]), "    "))
    env = {**os.environ, "CALLCENTER_INSTANCE": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.db'}", "REDIS_URL": redis_url,
           "SECRET_KEY": "signals-probe-secret-key"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["initialised"] is True
    assert seen["receivers"] == RECEIVERS  # twice through the entry: each one once
    assert seen["events"] == LIVE_EVENTS
