"""AMI wire format and channel snapshots, shaped like Asterisk 22's output.

Field names and their order are the ones in ``tests/data/asterisk/captures``: a channel
snapshot is ``Channel, ChannelState, ChannelStateDesc, CallerIDNum, CallerIDName,
ConnectedLineNum, ConnectedLineName, Language, AccountCode, Context, Exten, Priority,
Uniqueid, Linkedid``, prefixed with ``Dest`` / ``LocalOne`` / ``LocalTwo`` /
``Transferer`` / ``Transferee`` where Asterisk prefixes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Pairs = list[tuple[str, str]]

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
UNKNOWN = "<unknown>"

# AMI has no escaping: a CR or LF inside a value would end the header (or the frame).
# Asterisk never receives such bytes from a real trunk, so they are flattened to a
# space; every other byte (quotes, ESC, BEL, UTF-8) goes out exactly as given.
_FRAME_BREAKERS = str.maketrans({"\r": " ", "\n": " "})


def encode(pairs: Iterable[tuple[str, str]]) -> bytes:
    """One AMI message: ``Key: Value`` lines with CRLF, closed by an empty line."""
    parts = []
    for key, value in pairs:
        if "\n" in value or "\r" in value:
            value = value.translate(_FRAME_BREAKERS)
        parts.append(f"{key}: {value}\r\n")
    parts.append("\r\n")
    # surrogateescape: bytes a client sent that were not UTF-8 go back out unchanged
    return "".join(parts).encode("utf-8", "surrogateescape")


@dataclass(slots=True, eq=False)
class Channel:
    """The part of an Asterisk channel that AMI snapshots show."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    cid_num: str = ""
    cid_name: str = ""
    conn_num: str = ""
    conn_name: str = ""
    application: str = ""
    appdata: str = ""
    created: float = 0.0
    bridge_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    owner: Any = None  # the simulated call this channel belongs to
    role: str = ""  # "caller1", "caller2", "agent1", "agent2"
    hungup: bool = False

    def snapshot(self, prefix: str = "") -> Pairs:
        return [
            (prefix + "Channel", self.name),
            (prefix + "ChannelState", str(self.state)),
            (prefix + "ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (prefix + "CallerIDNum", self.cid_num or UNKNOWN),
            (prefix + "CallerIDName", self.cid_name or UNKNOWN),
            (prefix + "ConnectedLineNum", self.conn_num or UNKNOWN),
            (prefix + "ConnectedLineName", self.conn_name or UNKNOWN),
            (prefix + "Language", "en"),
            (prefix + "AccountCode", ""),
            (prefix + "Context", self.context),
            (prefix + "Exten", self.exten),
            (prefix + "Priority", str(self.priority)),
            (prefix + "Uniqueid", self.uniqueid),
            (prefix + "Linkedid", self.linkedid),
        ]


@dataclass(slots=True, eq=False)
class Bridge:
    uniqueid: str
    channels: list[Channel] = field(default_factory=list)

    def snapshot(self) -> Pairs:
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", UNKNOWN),
            ("BridgeName", UNKNOWN),
            ("BridgeNumChannels", str(len(self.channels))),
            ("BridgeVideoSourceMode", "none"),
        ]


def event(name: str, privilege: str, pairs: Iterable[tuple[str, str]]) -> bytes:
    return encode([("Event", name), ("Privilege", f"{privilege},all"), *pairs])


def response(action_id: str | None, pairs: Iterable[tuple[str, str]],
             status: str = "Success") -> bytes:
    head: Pairs = [("Response", status)]
    if action_id is not None:
        head.append(("ActionID", action_id))
    return encode([*head, *pairs])


def list_item(name: str, pairs: Iterable[tuple[str, str]], action_id: str | None,
              action_id_first: bool = False) -> bytes:
    """An event of an action's list; QueueStatus puts ActionID last, others first."""
    aid: Pairs = [] if action_id is None else [("ActionID", action_id)]
    body = [*aid, *pairs] if action_id_first else [*pairs, *aid]
    return encode([("Event", name), *body])


def list_complete(name: str, action_id: str | None, count: int,
                  extra: Pairs | None = None) -> bytes:
    aid: Pairs = [] if action_id is None else [("ActionID", action_id)]
    return encode([("Event", name), *aid, ("EventList", "Complete"),
                   ("ListItems", str(count)), *(extra or [])])
