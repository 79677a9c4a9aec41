"""AMI actions about the system and calls: Ping, Events, Originate, Redirect, Hangup...

Response texts are the ones in captures/*/actions.raw.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from telephony.simulator.ami_server import AmiSession, Headers, parse_mask
from telephony.simulator.callerid import parse_callerid
from telephony.simulator.frames import Channel, event, list_complete, list_item, response

if TYPE_CHECKING:
    from telephony.simulator.simulator import PbxSimulator

_INBOUND = re.compile(r"^Local/([^@/]+)@inbound(?:/n)?$", re.IGNORECASE)
_LOCAL = re.compile(r"^Local/([^@/]+)@([^/]+)(?:/n)?$", re.IGNORECASE)
VERSION = "22.10.1"


def _ok(session: AmiSession, action_id: str | None, message: str) -> None:
    session.send(response(action_id, [("Message", message)]))


def _error(session: AmiSession, action_id: str | None, message: str) -> None:
    session.send(response(action_id, [("Message", message)], "Error"))


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "yes", "1", "on", "y")


def find_channel(sim: PbxSimulator, name: str | None) -> Channel | None:
    if not name:
        return None
    return sim.pbx.channels.get(name.strip())


def register(sim: PbxSimulator) -> None:
    pbx = sim.pbx
    handlers = sim.ami.handlers

    def ping(session: AmiSession, headers: Headers, aid: str | None) -> None:
        session.send(response(aid, [("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")]))

    def events(session: AmiSession, headers: Headers, aid: str | None) -> None:
        session.mask = parse_mask(headers.get("EventMask", "on"))
        session.send(response(aid, [("Events", "On" if session.mask else "Off")]))

    def core_settings(session: AmiSession, headers: Headers, aid: str | None) -> None:
        session.send(response(aid, [
            ("AMIversion", "11.0.0"), ("AsteriskVersion", VERSION), ("SystemName", ""),
            ("CoreMaxCalls", "0"), ("CoreMaxLoadAvg", "0.000000"), ("CoreRunUser", ""),
            ("CoreRunGroup", ""), ("CoreMaxFilehandles", "0"), ("CoreRealTimeEnabled", "No"),
            ("CoreCDRenabled", "Yes"), ("CoreHTTPenabled", "No"),
            ("SoundsSearchCustomDir", "No")]))

    def core_status(session: AmiSession, headers: Headers, aid: str | None) -> None:
        started = time.gmtime(pbx.started)
        date, clock = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
        session.send(response(aid, [
            ("CoreStartupDate", date), ("CoreStartupTime", clock), ("CoreReloadDate", date),
            ("CoreReloadTime", clock), ("CoreCurrentCalls", str(len(sim.calls))),
            ("CoreProcessedCalls", str(sim.calls_started))]))

    def command(session: AmiSession, headers: Headers, aid: str | None) -> None:
        text = (headers.get("Command") or "").strip()
        if text == "core show version":
            output = [f"Asterisk {VERSION} built by simulator on a x86_64 running Linux"]
            session.send(response(aid, [("Message", "Command output follows"),
                                        *[("Output", line) for line in output]]))
            return
        words = " ".join(text.split()[:2])
        session.send(response(aid, [
            ("Message", "Command output follows"),
            ("Output", f"No such command '{text}' (type 'core show help {words}' for other "
                       "possible commands)")], "Error"))

    def getvar(session: AmiSession, headers: Headers, aid: str | None) -> None:
        variable = headers.get("Variable") or ""
        channel_name = headers.get("Channel")
        if channel_name:
            channel = find_channel(sim, channel_name)
            if channel is None:
                _error(session, aid, "No such channel")
                return
            value = channel.variables.get(variable, "")
        elif variable == "EPOCH":
            value = str(int(time.time()))
        else:
            value = pbx.globals.get(variable, "")
        session.send(response(aid, [("Variable", variable), ("Value", value)]))

    def setvar(session: AmiSession, headers: Headers, aid: str | None) -> None:
        variable = headers.get("Variable")
        if not variable:
            _error(session, aid, "No variable specified")
            return
        value = headers.get("Value") or ""
        channel_name = headers.get("Channel")
        if channel_name:
            channel = find_channel(sim, channel_name)
            if channel is None:
                _error(session, aid, "No such channel")
                return
            pbx.varset(channel, variable, value)
        else:
            pbx.globals[variable] = value
            # the captured global VarSet has no channel snapshot
            pbx.emit("VarSet", "dialplan", [("Channel", "none"), ("Uniqueid", "none"),
                                            ("Variable", variable), ("Value", value)])
        _ok(session, aid, "Variable Set")

    def user_event(session: AmiSession, headers: Headers, aid: str | None) -> None:
        name = headers.get("UserEvent") or ""
        extra = [(k, v) for k, v in headers.pairs
                 if k.lower() not in ("action", "userevent", "actionid")]
        pairs = [("UserEvent", name)]
        if aid is not None:
            pairs.append(("ActionID", aid))
        sim.ami.broadcast("user", event("UserEvent", "user", pairs + extra))
        _ok(session, aid, "Event Sent")

    def reload(session: AmiSession, headers: Headers, aid: str | None) -> None:
        module = headers.get("Module") or ""
        _ok(session, aid, "Module Reloaded")
        pbx.emit("Reload", "system", [("Module", module), ("Status", "0")])

    def core_show_channels(session: AmiSession, headers: Headers, aid: str | None) -> None:
        session.send(response(aid, [("EventList", "start"),
                                    ("Message", "Channels will follow")]))
        now = time.time()
        channels = list(pbx.channels.values())
        for channel in channels:
            seconds = int(now - channel.created)
            duration = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            session.send(list_item("CoreShowChannel", [
                *channel.snapshot(), ("Application", channel.application),
                ("ApplicationData", channel.appdata), ("Duration", duration),
                ("BridgeId", channel.bridge_id)], aid, action_id_first=True))
        session.send(list_complete("CoreShowChannelsComplete", aid, len(channels)))

    def originate(session: AmiSession, headers: Headers, aid: str | None) -> None:
        channel = (headers.get("Channel") or "").strip()
        if not channel:
            _error(session, aid, "Channel not specified")
            return
        exten = headers.get("Exten")
        if exten and not (headers.get("Context") and headers.get("Priority")):
            _error(session, aid, "Originate with 'Exten' requires 'Context' and 'Priority'")
            return
        variables: list[tuple[str, str]] = []
        for value in headers.getall("Variable"):
            for item in value.split(","):
                name, sep, val = item.partition("=")
                if sep and name.strip():
                    variables.append((name.strip(), val))
        cid = parse_callerid(headers.get("CallerID"))
        inbound = _INBOUND.match(channel)
        local = _LOCAL.match(channel)
        if inbound and pbx.queues:
            sim.originate_inbound(cid, aid, headers.get("Application") or "Wait",
                                  headers.get("Data") or "", variables, inbound.group(1))
        elif local and sim.device_by_exten(local.group(1)) is not None:
            sim.originate_agent(local.group(1), cid, aid, headers.get("Context") or "",
                                exten or "", headers.get("Application") or "",
                                headers.get("Data") or "", variables)
        else:
            # no such technology / endpoint on this PBX (captured: NoSuchTech/123)
            _error(session, aid, "Originate failed")
            return
        _ok(session, aid, "Originate successfully queued")

    def hangup(session: AmiSession, headers: Headers, aid: str | None) -> None:
        channel = find_channel(sim, headers.get("Channel"))
        if channel is None or channel.owner is None:
            _error(session, aid, "No such channel")
            return
        channel.owner.hangup_channel(channel)
        _ok(session, aid, "Channel Hungup")

    def redirect(session: AmiSession, headers: Headers, aid: str | None) -> None:
        name = headers.get("Channel") or ""
        channel = find_channel(sim, name)
        if channel is None or channel.owner is None:
            _error(session, aid, f"Channel does not exist: {name}")
            return
        context, exten = headers.get("Context") or "", headers.get("Exten") or ""
        if not exten:
            _error(session, aid, "Exten not specified")
            return
        if channel.role.startswith("caller") and hasattr(channel.owner, "redirect_to"):
            channel.owner.redirect_to(context, exten)
        else:
            channel.owner.hangup_channel(channel)
        _ok(session, aid, "Redirect successful")

    handlers.update({
        "ping": ping, "events": events, "coresettings": core_settings,
        "corestatus": core_status, "command": command, "getvar": getvar,
        "setvar": setvar, "userevent": user_event, "reload": reload,
        "coreshowchannels": core_show_channels, "originate": originate,
        "hangup": hangup, "redirect": redirect,
    })
