"""PBX commands from the web (agent status, click-to-dial, transfer, live monitoring),
run over AMI.

The web pushes JSON onto ``live.COMMANDS_KEY`` (``callcenter.realtime.commands``); the
active bridge pops it, runs the AMI action and pushes the result onto
``live.result_key(request_id)`` (the keys: ``callcenter.realtime.live``). Every value
is checked here again: this is the last stop before the PBX, and AMI header values
must not carry line breaks.
"""

from __future__ import annotations

import re
from typing import Any

from telephony.ami import AMIActionError, AMIClient, AMIValueError, format_caller_id
from telephony.callstate import (
    CALL_AGENT_VARIABLE,
    CALL_CONNECTED,
    CALL_KIND_MONITOR,
    CALL_KIND_OUTBOUND,
    CALL_KIND_VARIABLE,
    CALL_NUMBER_VARIABLE,
    OUTBOUND,
)

_NAME = re.compile(r"[A-Za-z0-9_.@/;:+#*-]{1,120}\Z")
_DIALLABLE = re.compile(r"\+?[0-9*#]{1,32}\Z")
_CALL_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
#: A queue is an extension of the ``[transfer]`` context (deploy/asterisk/extensions.conf).
_QUEUE = re.compile(r"[A-Za-z0-9_-]{1,80}\Z")
TRANSFER_CONTEXT = "transfer"
#: ChanSpy's options per monitoring mode (app_chanspy, Asterisk 22): ``q`` no beep and
#: no channel name read out, ``E`` leave when the agent's call ends, ``u`` the argument
#: is one channel's full name or Uniqueid (a prefix could match another agent's call);
#: ``w`` whisper to the agent only, ``B`` barge: talk to both parties.
MONITOR_OPTIONS = {"listen": "qEu", "whisper": "qEuw", "barge": "qEuB"}
#: What the supervisor's phone shows while it listens.
MONITOR_CALLER_NAME = "Monitor"


class CommandError(ValueError):
    """A command not run; ``code`` tells the web why (``invalid`` unless said)."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def _field(command: dict, name: str, pattern: re.Pattern = _NAME, required: bool = True):
    value = command.get(name)
    if value is None or value == "":
        if required:
            raise CommandError(f"{name}: missing")
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise CommandError(f"{name}: not a valid value")
    return value


def _reason(command: dict) -> str | None:
    reason = command.get("reason")
    if reason in (None, ""):
        return None
    if not isinstance(reason, str):
        raise CommandError("reason: must be text")
    return reason[:80]


def _transfer_target(command: dict, tracker: Any) -> tuple[str, str]:
    """(channel, queue) for a ``transfer``, after checking that the call is live and
    connected to the requesting agent's interface right now."""
    call_id = _field(command, "call_id", _CALL_ID)
    queue = _field(command, "queue", _QUEUE)
    interface = _field(command, "interface")
    if tracker is None:
        raise CommandError("transfer: this bridge follows no calls", "no_call")
    view = tracker.call(call_id)
    if view is None:
        raise CommandError("call_id: no such call in progress", "no_call")
    if view.direction == OUTBOUND:  # its first channel is the agent's own phone
        raise CommandError("call_id: a call the agent dialled is in no queue", "outbound")
    if view.state != CALL_CONNECTED or view.agent_interface != interface:
        raise CommandError("call_id: the call is not connected to your phone",
                           "not_connected")
    if view.queue == queue:
        raise CommandError(f"queue: the call is in {queue} already", "same_queue")
    channel = tracker.caller_channel(call_id)
    if not channel or not _NAME.match(channel):
        raise CommandError("call_id: the caller's channel is not known", "no_call")
    return channel, queue


def _monitor_target(command: dict, tracker: Any) -> tuple[str, str, str]:
    """(call_id, spied channel, ChanSpy options) for a ``monitor``: the agent's phone must
    be on a connected call right now, and it must not be the supervisor's own."""
    interface = _field(command, "interface")
    agent = _field(command, "agent_interface")
    mode = command.get("mode")
    if not isinstance(mode, str) or mode not in MONITOR_OPTIONS:
        raise CommandError(f"mode: one of {', '.join(MONITOR_OPTIONS)}")
    if agent == interface:
        raise CommandError("agent_interface: that is your own phone", "own_phone")
    if tracker is None:
        raise CommandError("monitor: this bridge follows no calls", "no_call")
    found = tracker.connected_leg(agent)
    if found is None:
        raise CommandError("agent_interface: the agent is on no call", "no_call")
    call_id, channel = found
    if not _NAME.match(channel):
        raise CommandError("agent_interface: the agent's channel is not known", "no_call")
    return call_id, channel, MONITOR_OPTIONS[mode]


async def execute_command(ami: AMIClient, command: dict, directory: Any = None,
                          tracker: Any = None) -> dict:
    """Run one command; ``{"ok": True}`` or ``{"ok": False, "error": ..., "code": ...}``.

    ``tracker``: the bridge's CallTracker (``transfer`` and ``monitor`` look the call up
    in it; ``monitor`` answers the call's id as ``call_id``); run
    this on the loop that feeds it, as the bridge does.
    """
    extra: dict[str, str] = {}
    try:
        action = command.get("action")
        if action == "queue_add":
            await ami.queue_add(_field(command, "queue"), _field(command, "interface"),
                                member_name=(str(command.get("member_name") or "")[:80]
                                             or None),
                                paused=bool(command.get("paused")), reason=_reason(command))
        elif action == "queue_remove":
            await ami.queue_remove(_field(command, "queue"), _field(command, "interface"))
        elif action == "queue_pause":
            await ami.queue_pause(_field(command, "queue", required=False),
                                  _field(command, "interface"), bool(command.get("paused")),
                                  reason=_reason(command))
        elif action == "originate":
            interface = _field(command, "interface")
            number = _field(command, "number", _DIALLABLE)
            context = _field(command, "context", required=False) or "outbound"
            # The variables mark the call as ours: the call-state tracker reads them
            # (VarSet) and logs an outbound call of this agent to this number, never a
            # stranger calling in (telephony/README.md).
            await ami.originate(interface, exten=number, context=context, priority=1,
                                caller_id=format_caller_id(
                                    str(command.get("caller_name") or "")[:40], number),
                                variables={CALL_KIND_VARIABLE: CALL_KIND_OUTBOUND,
                                           CALL_AGENT_VARIABLE: interface,
                                           CALL_NUMBER_VARIABLE: number})
        elif action == "transfer":
            channel, queue = _transfer_target(command, tracker)
            await ami.redirect(channel, queue, TRANSFER_CONTEXT, priority=1)
        elif action == "monitor":
            call_id, channel, options = _monitor_target(command, tracker)
            # The supervisor's phone rings; once picked up it runs ChanSpy on the agent's
            # leg. Every value is checked above: a comma would start another argument.
            # CC_CALL_KIND=monitor: the tracker keeps the spy's channels out of the
            # call log and the figures (the audit log records the session).
            await ami.originate(_field(command, "interface"), application="ChanSpy",
                                data=f"{channel},{options}",
                                caller_id=format_caller_id(MONITOR_CALLER_NAME, ""),
                                variables={CALL_KIND_VARIABLE: CALL_KIND_MONITOR})
            extra = {"call_id": call_id}
        elif action == "redirect":
            await ami.redirect(_field(command, "channel"), _field(command, "exten"),
                               _field(command, "context"))
        else:
            raise CommandError(f"action: unknown action {str(action)[:40]!r}")
    except CommandError as exc:
        return {"ok": False, "error": str(exc), "code": exc.code}
    except AMIValueError as exc:
        return {"ok": False, "error": str(exc), "code": "invalid"}
    except AMIActionError as exc:
        return {"ok": False, "error": f"the PBX refused: {exc}", "code": "refused"}
    return {"ok": True, **extra}
