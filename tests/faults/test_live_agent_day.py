"""Live monitoring and after-call work against a real Asterisk 22, on one call.

The bridge and the worker run as real processes. While an agent talks, a supervisor's
``monitor`` command makes the bridge originate the supervisor's phone
(``Local/supervisor1@agents/n``, the stand-in of deploy/asterisk/extensions.conf) into
ChanSpy on the agent's leg; ChanSpy with ``E`` leaves when the agent's call ends. Then
after-call work: the bridge pauses the agent in the PBX's queues with the reason
``wrap-up``, the live state says ``wrap_up``, and the worker (RQ) unpauses them when
``ACW_SECONDS`` are over. The simulator's side of both: tests/test_live_monitoring.py
and tests/test_after_call_work.py. One call for both keeps the live tests' time down.
"""

from __future__ import annotations

import re
import time

import pytest
from live_pbx import Caller

from callcenter.realtime.commands import request_pbx_action
from callcenter.realtime.live import AGENTS_KEY, parse_agent_entry

pytestmark = pytest.mark.live_pbx

SUP_PHONE = "Local/supervisor1@agents/n"
ACW_S = 5
#: A member line of ``queue show``: ``Agent 1 (Local/agent1@agents/n ...) ... (paused:
#: wrap-up was 2 secs ago)`` (app_queue.c, queue_show).
_MEMBER = re.compile(r"\((Local/agent\d@agents/n)")


def _chanspy_lines(rig) -> list[list[str]]:
    """``core show channels concise`` rows running ChanSpy (name, ..., app, data, ...)."""
    out = rig.pbx.cli("core show channels concise")
    rows = [line.split("!") for line in out.splitlines() if "!" in line]
    return [row for row in rows if len(row) > 6 and row[5] == "ChanSpy"]


def _monitor_any_agent(rig, client, mode: str, deadline: float) -> tuple[str, dict]:
    """Ask until one of agent1..5 is on a connected call: (agent's phone, result)."""
    while time.monotonic() < deadline:
        for n in range(1, 6):
            phone = f"Local/agent{n}@agents/n"
            result = request_pbx_action(client, {
                "action": "monitor", "user_id": rig.ids["sup_support"], "mode": mode,
                "interface": SUP_PHONE, "agent_interface": phone}, timeout=5)
            if result["ok"]:
                return phone, result
            assert result.get("code") == "no_call", result
        time.sleep(0.2)
    raise AssertionError("no agent was on a connected call in time")


def _paused(rig) -> dict[str, str]:
    """Interface -> pause reason of the support queue's paused members, as Asterisk says."""
    out = {}
    for line in rig.pbx.cli("queue show support").splitlines():
        member = _MEMBER.search(line)
        paused = re.search(r"\(paused(?::([^ ]*))? was", line)
        if member and paused:
            out[member.group(1)] = paused.group(1) or ""
    return out


def _live_state(rig, interface: str) -> str | None:
    client = rig.redis()
    try:
        raw = client.hget(AGENTS_KEY, interface)
    finally:
        client.close()
    return parse_agent_entry(interface, raw)["state"] if raw else None


def _wait(condition, timeout: float, what: str, rig):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s:\n{rig.pbx.log_tail(30)}")


def test_a_call_monitored_by_its_supervisor_then_wrapped_up(rig):
    # app_chanspy says "Spying on channel X" at verbosity 2 (into the "full" log).
    rig.pbx.cli("core set verbose 3")
    bridge = rig.start_bridge(ACW_SECONDS=str(ACW_S))
    rig.start_worker(ACW_SECONDS=str(ACW_S))
    rig.wait_bridge(bridge, time.time() - 1)
    assert _paused(rig) == {}, "a member was paused before any call"
    caller = Caller(rig.pbx)
    client = rig.redis()
    try:
        # Nobody is on a call: refused by the bridge, nothing originated.
        idle = request_pbx_action(client, {
            "action": "monitor", "user_id": rig.ids["sup_support"], "mode": "listen",
            "interface": SUP_PHONE, "agent_interface": "Local/agent1@agents/n"}, timeout=5)
        assert idle == {"ok": False, "code": "no_call",
                        "error": "agent_interface: the agent is on no call"}
        spied = None
        for _attempt in range(3):   # an agent's talk is 3-12 s: a short one may end first
            caller.call("s", '"Zhang San" <13812345678>', 60)
            phone, result = _monitor_any_agent(rig, client, "whisper",
                                               time.monotonic() + 30)
            assert result["call_id"]
            agent = phone.split("/")[1].split("@")[0]
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline and spied is None:
                found = [row for row in _chanspy_lines(rig)
                         if f"Local/{agent}@agents-" in row[6]]
                spied = found[0] if found else None
                time.sleep(0.1)
            if spied is not None:
                break
            rig.pbx.wait_idle(20)
        assert spied is not None, "ChanSpy never ran on an agent's leg:\n" + \
            rig.pbx.log_tail(40)
        # The supervisor's phone runs it, on exactly the agent's ;1 leg, whispering.
        assert spied[0].startswith("Local/supervisor1@agents-"), spied
        target, options = spied[6].split(",", 1)
        assert target.endswith(";1") and options == "qEuw", spied

        # The agent hangs up after 3-12 s: E ends the spy, and after-call work begins.
        paused = _wait(lambda: _paused(rig).get(phone), 30, "no wrap-up pause", rig)
        assert paused == "wrap-up"
        _wait(lambda: not _chanspy_lines(rig), 10, "ChanSpy outlived the call", rig)
        full = (rig.pbx.logdir / "full").read_text(errors="replace")
        assert f"Spying on channel {target}" in full, rig.pbx.log_tail(40)
        assert f"Done Spying on channel {target}" in full, rig.pbx.log_tail(40)
        assert _wait(lambda: _live_state(rig, phone) == "wrap_up", 5,
                     "the live state did not say wrap_up", rig)
        began = time.monotonic()
        _wait(lambda: phone not in _paused(rig), ACW_S + 15,
              "the wrap-up pause was not ended", rig)
        # Not before its time: the end is the job's, ACW_SECONDS after the call.
        assert time.monotonic() - began >= ACW_S - 3
        assert _wait(lambda: _live_state(rig, phone) == "available", 5,
                     "the live state did not go back to available", rig)
    finally:
        client.close()
        caller.close()
