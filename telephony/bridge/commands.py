"""PBX commands from the web (agent status, click-to-dial, transfer), run over AMI.

The web pushes JSON onto ``cc:bridge:commands`` (``callcenter.realtime.commands``);
the active bridge pops it, runs the AMI action and pushes the result onto
``cc:bridge:result:<request_id>``. Every value is checked here again: this is the
last stop before the PBX, and AMI header values must not carry line breaks.
"""

from __future__ import annotations

import re
from typing import Any

from telephony.ami import AMIActionError, AMIClient, AMIValueError, format_caller_id

COMMANDS_KEY = "cc:bridge:commands"
RESULT_PREFIX = "cc:bridge:result:"

_NAME = re.compile(r"[A-Za-z0-9_.@/;:+#*-]{1,120}\Z")
_DIALLABLE = re.compile(r"\+?[0-9*#]{1,32}\Z")


def result_key(request_id: str) -> str:
    return RESULT_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "", request_id)[:64]


class CommandError(ValueError):
    pass


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


async def execute_command(ami: AMIClient, command: dict, directory: Any = None) -> dict:
    """Run one command; ``{"ok": True}`` or ``{"ok": False, "error": ...}``."""
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
            await ami.originate(interface, exten=number, context=context, priority=1,
                                caller_id=format_caller_id(
                                    str(command.get("caller_name") or "")[:40], number))
        elif action == "redirect":
            await ami.redirect(_field(command, "channel"), _field(command, "exten"),
                               _field(command, "context"))
        else:
            raise CommandError(f"action: unknown action {str(action)[:40]!r}")
    except (CommandError, AMIValueError) as exc:
        return {"ok": False, "error": str(exc)}
    except AMIActionError as exc:
        return {"ok": False, "error": f"the PBX refused: {exc}"}
    return {"ok": True}
