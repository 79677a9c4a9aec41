"""Asterisk's side of FastAGI: connect, send the agi_* environment, answer commands.

Shaped on ``fastagi.log``: the environment goes out in two TCP chunks, replies are
``200 result=1 (value)``, ``200 result=0``, ``510 Invalid or unknown command`` and the
two-chunk ``520-...`` usage block; every command yields AGIExecStart/AGIExecEnd and a
``SET VARIABLE`` a VarSet in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import TYPE_CHECKING

from telephony.simulator.frames import Channel

if TYPE_CHECKING:
    from telephony.simulator.callerid import CallerId
    from telephony.simulator.pbx import Pbx

_VAR_REF = re.compile(r"\$\{([^}]*)\}")
_RESULT_TEXT = {200: "Success", 510: "Invalid or unknown command", 520: "Usage",
                511: "Command Not Permitted on a dead channel or intercept routine"}
_USAGE_520 = [b"520-Invalid command syntax.  Proper usage follows:\n",
              b"Sets a variable to the current channel.\n520 End of proper usage.\n"]


def parse_args(line: str) -> list[str]:
    """Split like Asterisk's AGI parse_args: blanks separate, quotes group, \\ escapes."""
    args: list[str] = []
    current: list[str] = []
    quoted = escaped = started = False
    for ch in line:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = started = True
        elif ch == '"':
            quoted = not quoted
            started = True
        elif ch in " \t" and not quoted:
            if started:
                args.append("".join(current))
                current, started = [], False
        else:
            current.append(ch)
            started = True
    if started:
        args.append("".join(current))
    return args


class AgiSession:
    """One AGI() execution on ``channel`` against the configured FastAGI server."""

    def __init__(self, pbx: Pbx, channel: Channel, callerid: CallerId, script: str,
                 args: list[str]) -> None:
        self.pbx = pbx
        self.channel = channel
        self.callerid = callerid
        self.script = script
        self.args = args
        self.hangup_requested = False
        cfg = pbx.config
        self.request = f"agi://{cfg.agi_host}:{cfg.agi_port}/{script}"

    def environment(self) -> list[bytes]:
        ch, cid = self.channel, self.callerid
        first = [("network", "yes"), ("network_script", self.script),
                 ("request", self.request), ("channel", ch.name), ("language", "en"),
                 ("type", "Local"), ("uniqueid", ch.uniqueid), ("version", "22.10.1"),
                 ("callerid", cid.num or "unknown"), ("calleridname", cid.name or "unknown"),
                 ("callingpres", str(cid.presentation)), ("callingani2", "0"),
                 ("callington", "0"), ("callingtns", "0"), ("dnid", "unknown"),
                 ("rdnis", "unknown"), ("context", ch.context)]
        second = [("extension", ch.exten), ("priority", str(ch.priority)),
                  ("enhanced", "0.0"), ("accountcode", ""),
                  ("threadid", str(140000000000000 + self.pbx.rng.getrandbits(40)))]
        second += [(f"arg_{i}", a) for i, a in enumerate(self.args, start=1)]

        def block(items: list[tuple[str, str]], end: bytes) -> bytes:
            text = "".join(f"agi_{k}: {v.replace(chr(10), ' ')}\n" for k, v in items)
            return text.encode("utf-8", "surrogateescape") + end

        return [block(first, b""), block(second, b"\n")]

    async def run(self) -> str:
        """Returns AGISTATUS (SUCCESS, FAILURE or HANGUP) and sets it on the channel."""
        cfg = self.pbx.config
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(cfg.agi_host, cfg.agi_port), timeout=cfg.agi_timeout)
        except (OSError, TimeoutError):
            self.pbx.varset(self.channel, "AGISTATUS", "FAILURE")
            return "FAILURE"
        status = "SUCCESS"
        try:
            for chunk in self.environment():
                writer.write(chunk)
                await writer.drain()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + cfg.agi_timeout
            while True:
                line = await asyncio.wait_for(reader.readline(),
                                              timeout=max(0.01, deadline - loop.time()))
                if not line:
                    break
                command = line.decode("utf-8", "surrogateescape").rstrip("\r\n")
                if not command.strip():
                    continue
                for chunk in self.execute(command):
                    writer.write(chunk)
                await writer.drain()
                if self.hangup_requested:
                    status = "HANGUP"
                    break
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
            # a server that stalls, resets or sends an over-long line ends the script;
            # Asterisk would then carry on in the dialplan as well
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self.pbx.varset(self.channel, "AGISTATUS", status)
        return status

    # -- commands ---------------------------------------------------------------
    def execute(self, command: str) -> list[bytes]:
        pbx, ch = self.pbx, self.channel
        command_id = str(pbx.rng.randrange(1, 2**31))
        pbx.chan_event("AGIExecStart", "agi", ch,
                       [("CommandId", command_id), ("Command", command)])
        code, reply = self._dispatch(parse_args(command))
        pbx.chan_event("AGIExecEnd", "agi", ch,
                       [("CommandId", command_id), ("Command", command),
                        ("ResultCode", str(code)), ("Result", _RESULT_TEXT.get(code, "Failure"))])
        if code == 520:
            return list(_USAGE_520)
        return [reply.encode("utf-8", "surrogateescape") + b"\n"]

    def _lookup(self, name: str) -> str | None:
        cid = self.callerid
        functions = {"CALLERID(num)": cid.num, "CALLERID(name)": cid.name,
                     "CALLERID(all)": cid.as_all() if (cid.num or cid.name) else '"" <>',
                     "UNIQUEID": self.channel.uniqueid, "CHANNEL": self.channel.name}
        if name in functions:
            return functions[name]
        if name in self.channel.variables:
            return self.channel.variables[name]
        return self.pbx.globals.get(name)

    def _dispatch(self, args: list[str]) -> tuple[int, str]:
        words = [a.upper() for a in args]
        rng = self.pbx.rng
        if words[:2] == ["GET", "VARIABLE"]:
            if len(args) < 3:
                return 520, ""
            value = self._lookup(args[2])
            return 200, "200 result=0" if value is None else f"200 result=1 ({value})"
        if words[:3] == ["GET", "FULL", "VARIABLE"]:
            if len(args) < 4:
                return 520, ""
            expanded = _VAR_REF.sub(lambda m: self._lookup(m.group(1)) or "", args[3])
            return 200, f"200 result=1 ({expanded})"
        if words[:2] == ["SET", "VARIABLE"]:
            if len(args) < 4:
                return 520, ""
            self.pbx.varset(self.channel, args[2], args[3])
            return 200, "200 result=1"
        if words[:2] == ["CHANNEL", "STATUS"]:
            return 200, f"200 result={self.channel.state}"
        if words[:3] == ["WAIT", "FOR", "DIGIT"]:
            return 200, f"200 result={ord(str(rng.randrange(10)))}"
        if words[:2] == ["GET", "DATA"]:
            return 200, f"200 result={rng.randrange(1, 100000)}"
        if words[:2] == ["STREAM", "FILE"]:
            return 200, "200 result=0 endpos=0"
        if words and words[0] == "HANGUP":
            self.hangup_requested = True
            return 200, "200 result=1"
        simple = {"VERBOSE": "200 result=1", "EXEC": "200 result=0", "ANSWER": "200 result=0",
                  "NOOP": "200 result=0", "SAY": "200 result=0"}
        if words and words[0] in simple:
            return 200, simple[words[0]]
        return 510, "510 Invalid or unknown command"
