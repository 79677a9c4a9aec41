"""Helpers for the call-state tests: capture replay with real read times, a recording
AMI connection to the simulator, and the invariants every effect stream must satisfy.

(Named test_callstate_* so it sits with the tests it serves; it holds no tests itself.)
"""

from __future__ import annotations

import json
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

import queue_log
from simulator_support import CAPTURES

from telephony.ami.frames import Frame, FrameReader
from telephony.callstate import (
    CallAnswered,
    CallDismissed,
    CallEnded,
    CallFinished,
    CallRinging,
    CallTracker,
    Effect,
)

CAPTURE_DIRS = sorted(p for p in CAPTURES.glob("*") if (p / "ami.raw").is_file())
LIST_EVENTS = {"QueueParams", "QueueMember", "QueueEntry", "QueueStatusComplete",
               "CoreShowChannel", "CoreShowChannelsComplete"}


def recorder_conn(directory: Path) -> str:
    """The timeline.jsonl connection whose incoming bytes are exactly ami.raw."""
    raw = (directory / "ami.raw").read_bytes()
    data: dict[str, bytearray] = defaultdict(bytearray)
    for line in (directory / "timeline.jsonl").read_text().splitlines():
        chunk = json.loads(line)
        if chunk["dir"] == "in":
            data[chunk["conn"]] += chunk["data"].encode("latin-1")
    matches = [conn for conn, got in data.items() if bytes(got) == raw]
    assert len(matches) == 1, matches
    return matches[0]


def timed_frames(directory: Path) -> list[tuple[Frame, float]]:
    """The recorder's frames, each with the unix time its last chunk arrived."""
    conn = recorder_conn(directory)
    reader = FrameReader()
    frames: list[tuple[Frame, float]] = []
    for line in (directory / "timeline.jsonl").read_text().splitlines():
        chunk = json.loads(line)
        if chunk["conn"] == conn and chunk["dir"] == "in":
            t = chunk["t"]
            frames += [(f, t) for f in reader.feed(chunk["data"].encode("latin-1"))]
    return frames


def list_events(directory: Path, action_id: str | None = None) -> list[Frame]:
    """QueueStatus / CoreShowChannels list events from the driver's actions.raw."""
    frames = FrameReader().feed((directory / "actions.raw").read_bytes())
    return [f for f in frames if f.get("Event") in LIST_EVENTS
            and (action_id is None or f.get("ActionID") == action_id)]


def read_queue_log(path: Path) -> dict[str, queue_log.CallTimes]:
    return queue_log.call_times(queue_log.parse(path.read_text().splitlines()).records)


def feed_all(tracker: CallTracker, frames: Iterable[tuple[Frame, float]]) -> list[Effect]:
    effects: list[Effect] = []
    for frame, t in frames:
        effects += tracker.feed(frame, t)
    return effects


def member_names(frames: Iterable[tuple[Frame, float]]) -> dict[str, str]:
    """Interface -> MemberName, from the Agent*/QueueMember* events."""
    names = {}
    for frame, _t in frames:
        if frame.get("Interface") and frame.get("MemberName"):
            names[frame["Interface"]] = frame["MemberName"]
    return names


def check_ring_pairs(effects: list[Effect]) -> None:
    """Every CallRinging is closed by exactly one CallAnswered or CallDismissed for the
    same (call, interface) later on; every CallAnswered by exactly one CallEnded."""
    ringing: Counter[tuple[str, str]] = Counter()
    talking: Counter[tuple[str, str]] = Counter()
    for effect in effects:
        if isinstance(effect, CallRinging | CallAnswered | CallDismissed | CallEnded):
            key = (effect.call.call_id, effect.interface)
        if isinstance(effect, CallRinging):
            ringing[key] += 1
        elif isinstance(effect, CallDismissed):
            assert ringing[key] > 0, ("dismissed without ringing", key)
            ringing[key] -= 1
        elif isinstance(effect, CallAnswered):
            if ringing[key] > 0:
                ringing[key] -= 1
            talking[key] += 1
        elif isinstance(effect, CallEnded):
            assert talking[key] > 0, ("ended without answer", key)
            talking[key] -= 1
    assert +ringing == Counter(), f"left ringing: {+ringing}"
    assert +talking == Counter(), f"left talking: {+talking}"


def finished(effects: list[Effect]) -> dict[str, CallFinished]:
    """call_id -> its CallFinished; fails on a second one for the same call."""
    result: dict[str, CallFinished] = {}
    for effect in effects:
        if isinstance(effect, CallFinished):
            assert effect.call.call_id not in result, f"second CallFinished {effect.call}"
            result[effect.call.call_id] = effect
    return result


def check_against_queue_log(done: dict[str, CallFinished], log: dict[str, queue_log.CallTimes],
                            names: dict[str, str]) -> int:
    """Outcome, agents, wait and talk of every queued call agree with queue_log."""
    by_callid = {f.summary.queue_uniqueid: f.summary for f in done.values()
                 if f.summary.queue_uniqueid}
    assert set(log) <= set(by_callid), set(log) - set(by_callid)
    for callid, times in log.items():
        summary = by_callid[callid]
        context = (callid, summary, times)
        assert summary.outcome == times.outcome, context
        assert [names.get(a, a) for a in summary.agents] == times.agents, context
        assert summary.wait_s == times.wait_s, context
        assert summary.talk_s == times.talk_s, context
        assert summary.agent_interface == (summary.agents[-1] if summary.agents else None)
    return len(log)


# -- what QueueStatus + CoreShowChannels would answer at a moment of a capture ----------------
_SNAPSHOT = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
             "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context",
             "Exten", "Priority", "Uniqueid", "Linkedid")


def snapshot_at(frames: Iterable[tuple[Frame, float]], at: float) -> list[Frame]:
    """The list events Asterisk would have answered at ``at``, rebuilt from every event
    read before it: channels up (Application Queue after QueueCallerJoin, BridgeId from
    BridgeEnter/Leave), callers waiting, members with their pause state. Field names and
    order as in 03_abandon/actions.raw."""
    channels: dict[str, dict[str, str]] = {}
    created: dict[str, float] = {}
    entries: dict[str, dict[str, dict[str, str | float]]] = defaultdict(dict)
    members: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for frame, t in frames:
        if t >= at:
            break
        name, uid = frame.get("Event"), frame.get("Uniqueid", "")
        if name == "Newchannel":
            channels[uid] = {k: frame.get(k, "") for k in _SNAPSHOT}
            channels[uid].update(Application="", ApplicationData="", BridgeId="")
            created[uid] = t
        elif name == "Hangup":
            channels.pop(uid, None)
        elif uid in channels and "ChannelState" in frame:
            channels[uid].update({k: frame[k] for k in _SNAPSHOT if k in frame})
        if name == "QueueCallerJoin" and uid in channels:
            channels[uid].update(Application="Queue", ApplicationData=f"{frame['Queue']},r,,,60")
            entries[frame["Queue"]][uid] = {"joined": t, "num": frame.get("CallerIDNum", ""),
                                            "name": frame.get("CallerIDName", ""),
                                            "channel": frame["Channel"]}
        elif name == "QueueCallerLeave":
            entries[frame["Queue"]].pop(uid, None)
        elif name == "BridgeEnter" and uid in channels:
            channels[uid]["BridgeId"] = frame["BridgeUniqueid"]
        elif name == "BridgeLeave" and uid in channels:
            channels[uid]["BridgeId"] = ""
        if frame.get("Queue") and frame.get("Interface") and frame.get("MemberName"):
            if name == "QueueMemberRemoved":
                members[frame["Queue"]].pop(frame["Interface"], None)
            else:
                member = members[frame["Queue"]].setdefault(
                    frame["Interface"], {"Name": frame["MemberName"], "Paused": "0",
                                         "PausedReason": ""})
                if "Paused" in frame:
                    member.update(Paused=frame["Paused"], PausedReason=frame["PausedReason"])
    out: list[Frame] = []
    for queue in sorted(set(entries) | set(members)):
        out.append({"Event": "QueueParams", "Queue": queue, "Strategy": "ringall",
                    "Calls": str(len(entries[queue]))})
        for interface, member in members[queue].items():
            out.append({"Event": "QueueMember", "Queue": queue, "Name": member["Name"],
                        "Location": interface, "StateInterface": interface,
                        "Membership": "static", "Paused": member["Paused"],
                        "PausedReason": member["PausedReason"], "Wrapuptime": "0"})
        for position, (uid, entry) in enumerate(entries[queue].items(), start=1):
            out.append({"Event": "QueueEntry", "Queue": queue, "Position": str(position),
                        "Channel": str(entry["channel"]), "Uniqueid": uid,
                        "CallerIDNum": str(entry["num"]) or "unknown",
                        "CallerIDName": str(entry["name"]) or "unknown",
                        "Wait": str(int(at - float(entry["joined"]))), "Priority": "0"})
    out.append({"Event": "QueueStatusComplete", "EventList": "Complete",
                "ListItems": str(len(out))})
    for uid, channel in channels.items():
        up = int(at - created[uid])
        out.append({"Event": "CoreShowChannel", **channel,
                    "Duration": f"{up // 3600:02d}:{up // 60 % 60:02d}:{up % 60:02d}"})
    out.append({"Event": "CoreShowChannelsComplete", "EventList": "Complete",
                "ListItems": str(len(channels))})
    return out


# -- the simulator over real sockets ---------------------------------------------------------
class AmiRecorder:
    """A blocking AMI connection giving (frame, read_at) pairs, as the bridge reads them."""

    def __init__(self, port: int, events: str = "on") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.reader = FrameReader()
        self.pending: list[tuple[Frame, float]] = []
        self.send(Action="Login", ActionID="login", Username="bridge", Secret="bridgesecret",
                  Events=events)
        reply = self.until(lambda f: f.get("ActionID") == "login")
        assert reply[-1][0].get("Response") == "Success", reply

    def send(self, **headers: str) -> None:
        text = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.sock.sendall(text.encode())

    def _read(self, timeout: float) -> bool:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            chunk = self.sock.recv(262144)
        except TimeoutError:
            return False
        if not chunk:
            raise ConnectionError("closed")
        now = time.time()
        self.pending += [(f, now) for f in self.reader.feed(chunk)]
        return True

    def frames(self, seconds: float) -> Iterator[tuple[Frame, float]]:
        """Everything read within ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            while self.pending:
                yield self.pending.pop(0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._read(remaining)

    def until(self, stop, timeout: float = 10.0) -> list[tuple[Frame, float]]:  # noqa: ANN001
        """Frames up to and including the first one for which ``stop(frame)`` holds."""
        got: list[tuple[Frame, float]] = []
        deadline = time.monotonic() + timeout
        while True:
            while self.pending:
                item = self.pending.pop(0)
                got.append(item)
                if stop(item[0]):
                    return got
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no answer from the simulator"
            self._read(remaining)

    def close(self) -> None:
        self.sock.close()
