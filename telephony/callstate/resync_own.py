"""Calls the bridge originated, in a resync: what ``CoreShowChannel`` says of them.

The bridge marks its own Originates with CC_CALL_KIND / CC_AGENT / CC_NUMBER
(``calls.CallEvents._on_own_variable``). Their ``VarSet`` events come once, right after
the channels are made: a bridge that was away then never saw them, and would take a
click-to-dial in progress for a call that came in, with no agent. With the variables
named in manager.conf's ``channelvars`` (deploy/asterisk/manager.conf), Asterisk adds
them to every channel's snapshot as ``ChanVariable: NAME=value`` lines, CoreShowChannel
included, so a resync reads them off the channels that are up:

* ``monitor``: a supervisor's ChanSpy session, no call (also known by its
  ``Application: ChanSpy`` on a PBX without the channelvars);
* ``outbound``: a click-to-dial of CC_AGENT to CC_NUMBER. It is connected while the
  call's own channel (the Originate's ``;1`` half, whose Uniqueid is the Linkedid) shares
  a bridge with another channel (the customer's); its talk ended when the customer's
  channel left that bridge while the call's own is still up.
"""

from __future__ import annotations

from collections.abc import Mapping

from telephony.ami.frames import getlist
from telephony.callstate.effects import (
    CALL_AGENT_VARIABLE,
    CALL_KIND_MONITOR,
    CALL_KIND_OUTBOUND,
    CALL_KIND_VARIABLE,
    CALL_NUMBER_VARIABLE,
    OUTBOUND,
    Effect,
)
from telephony.callstate.model import Call, clean_cid

Frame = Mapping[str, str]
_OWN = (CALL_KIND_VARIABLE, CALL_AGENT_VARIABLE, CALL_NUMBER_VARIABLE)


def own_variables(listed: list[Frame]) -> dict[str, str]:
    """CC_CALL_KIND / CC_AGENT / CC_NUMBER as the call's channels carry them (the first
    non-empty value of each; unset ones come as ``NAME=``)."""
    found: dict[str, str] = {}
    for channel in listed:
        for line in getlist(channel, "ChanVariable"):
            name, _, value = line.partition("=")
            name, value = name.strip(), value.strip()
            if name in _OWN and value and name not in found:
                found[name] = value[:128]
    return found


def is_monitoring(listed: list[Frame], variables: Mapping[str, str]) -> bool:
    return variables.get(CALL_KIND_VARIABLE) == CALL_KIND_MONITOR or \
        any(c.get("Application") == "ChanSpy" for c in listed)


def mark_outbound(call: Call, variables: Mapping[str, str]) -> bool:
    """Make a call first met in a resync the click-to-dial its variables say it is."""
    if variables.get(CALL_KIND_VARIABLE) != CALL_KIND_OUTBOUND:
        return False
    call.direction = OUTBOUND
    agent = variables.get(CALL_AGENT_VARIABLE)
    if agent:
        call.agents = [agent]
    number = variables.get(CALL_NUMBER_VARIABLE)
    if number:
        call.caller_number = clean_cid(number)
    return True


def _customer_channel(call: Call, listed: list[Frame]) -> Frame | None:
    """The channel bridged with the call's own (the customer's), if any."""
    own = next((c for c in listed if c.get("Uniqueid") == call.call_id), None)
    bridge = own.get("BridgeId") if own is not None else None
    if not bridge:
        return None
    return next((c for c in listed if c.get("BridgeId") == bridge
                 and c.get("Uniqueid") != call.call_id), None)


def reconcile_outbound(tracker, call: Call, listed: list[Frame], now: float,
                       duration, out: list[Effect]) -> bool:
    """An outbound call against its channels that are up: answered meanwhile (the
    dialling agent's desk pops), or its talk over (their wrap-up). True if it changed."""
    customer = _customer_channel(call, listed)
    if customer is not None and call.answered_at is None:
        tracker._answer_outbound(call, customer.get("Uniqueid") or None,
                                 now - duration(customer.get("Duration")), now, out)
        return True
    if customer is None and call.answered_at is not None and not call.has_talk:
        # the customer (or the agent) hung up while the bridge was away
        return tracker._end_outbound_talk(call, now, out)
    return False
