"""The simulated Asterisk core: ids, channels, bridges, devices, queues and event output."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from telephony.simulator.config import SimulatorConfig
from telephony.simulator.frames import Bridge, Channel, Pairs, event
from telephony.simulator.queues import Device, Member, Queue, QueueLog

# (privilege class, encoded frame, event name)
Subscriber = Callable[[str, bytes, str], None]

CAUSE_TEXT = {0: "Unknown", 16: "Normal Clearing", 17: "User busy",
              19: "No user responding", 26: "Answered elsewhere"}


class Pbx:
    def __init__(self, config: SimulatorConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.started = time.time()
        self._uid = config.uniqueid_start
        self._local = 0
        self.channels: dict[str, Channel] = {}
        self.globals: dict[str, str] = {}
        self.subscribers: list[Subscriber] = []
        self.events_emitted = 0
        self.queue_log = QueueLog(Path(config.queue_log)) if config.queue_log else None
        self.devices: dict[str, Device] = {}
        self.queues: dict[str, Queue] = {}
        login = int(self.started)
        for spec in config.queues:
            queue = Queue(spec)
            self.queues[spec.name] = queue
            for n in spec.agents:
                device = self.device_for(n)
                queue.members.append(Member(queue, device, f"Agent {n}", device.interface,
                                            login_time=login))
        for exten in config.phones:
            interface = f"Local/{exten}@agents/n"
            self.devices.setdefault(interface, Device(0, interface, exten, interface[:-2]))
        #: Every live-monitoring session (ChanSpy) started, in order, with ``spyer``,
        #: ``spyee``, ``options``, ``phone`` and, once over, ``ended``: what a test reads.
        self.spies: list[dict[str, str]] = []

    # -- identities -------------------------------------------------------------
    def device_for(self, n: int) -> Device:
        interface = self.config.interface(n)
        if interface not in self.devices:
            base = interface[:-2] if interface.endswith("/n") else interface
            exten = base.split("/", 1)[-1].split("@", 1)[0]
            self.devices[interface] = Device(n, interface, exten, base)
        return self.devices[interface]

    def device_by_interface(self, interface: str) -> Device | None:
        return self.devices.get(interface)

    def new_uniqueid(self) -> str:
        self._uid += 1
        return f"{int(time.time())}.{self._uid}"

    def new_local_pair(self, exten: str, context: str, linkedid: str | None = None,
                       tech_exten: str | None = None) -> tuple[Channel, Channel]:
        """``Local/exten@context-XXXXXXXX;1`` and ``;2``; Linkedid defaults to ;1's id."""
        self._local += 1
        base = f"Local/{tech_exten or exten}@{context}-{self._local:08x}"
        uid1 = self.new_uniqueid()
        uid2 = self.new_uniqueid()
        link = linkedid or uid1
        now = time.time()
        one = Channel(base + ";1", uid1, link, context, exten, state=0, created=now)
        two = Channel(base + ";2", uid2, link, context, exten, state=4, created=now)
        self.channels[one.name] = one
        self.channels[two.name] = two
        return one, two

    def new_bridge(self) -> Bridge:
        return Bridge(str(uuid.UUID(int=self.rng.getrandbits(128), version=4)))

    # -- output -----------------------------------------------------------------
    def emit(self, name: str, privilege: str, pairs: Iterable[tuple[str, str]]) -> None:
        data = event(name, privilege, pairs)
        self.events_emitted += 1
        for subscriber in self.subscribers:
            subscriber(privilege, data, name)

    def chan_event(self, name: str, privilege: str, channel: Channel,
                   extra: Pairs | None = None) -> None:
        self.emit(name, privilege, channel.snapshot() + (extra or []))

    def dial_event(self, name: str, caller: Channel | None, dest: Channel,
                   extra: Pairs, privilege: str = "call") -> None:
        pairs = caller.snapshot() if caller is not None else []
        self.emit(name, privilege, pairs + dest.snapshot("Dest") + extra)

    def newchannel(self, channel: Channel) -> None:
        self.chan_event("Newchannel", "call", channel)

    def newexten(self, channel: Channel, priority: int, app: str, data: str = "",
                 exten: str | None = None) -> None:
        channel.priority = priority
        channel.application = app
        channel.appdata = data
        if exten is not None:
            channel.exten = exten
        if self.config.dialplan_noise:
            self.chan_event("Newexten", "dialplan", channel,
                            [("Extension", channel.exten), ("Application", app),
                             ("AppData", data)])

    def varset(self, channel: Channel, variable: str, value: str) -> None:
        channel.variables[variable] = value
        if self.config.dialplan_noise:
            self.chan_event("VarSet", "dialplan", channel,
                            [("Variable", variable), ("Value", value)])

    def varsets(self, channel: Channel, pairs: Iterable[tuple[str, str]]) -> None:
        for variable, value in pairs:
            self.varset(channel, variable, value)

    def set_state(self, channel: Channel, state: int) -> None:
        channel.state = state
        self.chan_event("Newstate", "call", channel)

    def device_state(self, device: str, state: str) -> None:
        self.emit("DeviceStateChange", "call", [("Device", device), ("State", state)])

    def local_bridge(self, one: Channel, two: Channel, optimize: bool) -> None:
        self.emit("LocalBridge", "call",
                  one.snapshot("LocalOne") + two.snapshot("LocalTwo")
                  + [("Context", two.context), ("Exten", two.exten),
                     ("LocalOptimization", "Yes" if optimize else "No")])

    def set_callerid(self, channel: Channel, num: str, name: str, connected: bool) -> None:
        """NewCallerid (and NewConnectedLine) - Asterisk skips them when nothing changes."""
        if (num, name) != (channel.cid_num, channel.cid_name):
            channel.cid_num, channel.cid_name = num, name
            self.chan_event("NewCallerid", "call", channel,
                            [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])
        if connected and (num, name) != (channel.conn_num, channel.conn_name):
            channel.conn_num, channel.conn_name = num, name
            self.chan_event("NewConnectedLine", "call", channel)

    def hangup(self, channel: Channel, cause: int, request: str | None = None,
               request_cause: int | None = None) -> None:
        """Optional (Soft)HangupRequest, then Hangup; the channel leaves the PBX."""
        if channel.hungup:
            return
        if request:
            self.chan_event(request, "call", channel,
                            [("Cause", str(cause if request_cause is None else request_cause))])
        channel.hungup = True
        self.channels.pop(channel.name, None)
        self.chan_event("Hangup", "call", channel,
                        [("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))])

    def bridge_enter(self, bridge: Bridge, channel: Channel) -> None:
        bridge.channels.append(channel)
        channel.bridge_id = bridge.uniqueid
        self.emit("BridgeEnter", "call", bridge.snapshot() + channel.snapshot())

    def bridge_leave(self, bridge: Bridge, channel: Channel) -> None:
        if channel in bridge.channels:
            bridge.channels.remove(channel)
        channel.bridge_id = ""
        self.emit("BridgeLeave", "call", bridge.snapshot() + channel.snapshot())

    def cdr(self, channel: Channel, disposition: str, answered: float | None,
            dest_channel: str = "", userfield: str = "") -> None:
        end = time.time()

        def stamp(t: float | None) -> str:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) if t else ""

        clid = f'"{channel.cid_name}" <{channel.cid_num}>' if channel.cid_num else ""
        self.emit("Cdr", "cdr", [
            ("AccountCode", ""), ("Source", channel.cid_num),
            ("Destination", channel.exten), ("DestinationContext", channel.context),
            ("CallerID", clid), ("Channel", channel.name),
            ("DestinationChannel", dest_channel), ("LastApplication", channel.application),
            ("LastData", channel.appdata), ("StartTime", stamp(channel.created)),
            ("AnswerTime", stamp(answered)), ("EndTime", stamp(end)),
            ("Duration", str(int(end - channel.created))),
            ("BillableSeconds", str(int(end - answered)) if answered else "0"),
            ("Disposition", disposition), ("AMAFlags", "DOCUMENTATION"),
            ("UniqueID", channel.uniqueid), ("UserField", userfield)])

    # -- queue members ----------------------------------------------------------
    def members_of(self, device: Device) -> list[Member]:
        return [m for q in self.queues.values() for m in q.members if m.device is device]

    def member_event(self, name: str, member: Member) -> None:
        self.emit(name, "agent", member.event_pairs())

    def device_changed(self, device: Device, notify_status: bool = True) -> None:
        """DeviceStateChange plus QueueMemberStatus in every queue holding the device."""
        self.device_state(device.device, "INUSE" if device.legs else "NOT_INUSE")
        if notify_status:
            for member in self.members_of(device):
                self.member_event("QueueMemberStatus", member)
        for queue in self.queues.values():
            queue.notify()

    def log(self, callid: str, queue: str, agent: str, verb: str, *data: object) -> None:
        if self.queue_log is not None:
            self.queue_log.write(callid, queue, agent, verb, *data)
