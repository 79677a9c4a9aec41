"""Queue actions: QueueStatus, QueueSummary, QueuePause/Add/Remove/Penalty/Log/RingInUse.

Response texts, event shapes and queue_log lines as in 03_abandon and
05_member_pause_add_remove.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from telephony.simulator.actions import _error, _ok, _truthy
from telephony.simulator.ami_server import AmiSession, Headers
from telephony.simulator.frames import list_complete, list_item, response
from telephony.simulator.queues import Device, Member, Queue

if TYPE_CHECKING:
    from telephony.simulator.simulator import PbxSimulator


def register(sim: PbxSimulator) -> None:
    pbx = sim.pbx
    handlers = sim.ami.handlers

    def selected(headers: Headers) -> list[Queue]:
        name = headers.get("Queue")
        if name:
            queue = pbx.queues.get(name)
            return [queue] if queue else []
        return list(pbx.queues.values())

    def queue_status(session: AmiSession, headers: Headers, aid: str | None) -> None:
        session.send(response(aid, [("EventList", "start"),
                                    ("Message", "Queue status will follow")]))
        member_filter = headers.get("Member")
        now = time.time()
        items = 0
        for queue in selected(headers):
            session.send(list_item("QueueParams", queue.params_pairs(), aid))
            items += 1
            for member in queue.members:
                if member_filter and member.interface != member_filter:
                    continue
                session.send(list_item("QueueMember", member.status_pairs(), aid))
                items += 1
            for position, entry in enumerate(queue.entries, start=1):
                ch = entry.channel
                session.send(list_item("QueueEntry", [
                    ("Queue", queue.name), ("Position", str(position)), ("Channel", ch.name),
                    ("Uniqueid", ch.uniqueid), ("CallerIDNum", ch.cid_num or "unknown"),
                    ("CallerIDName", ch.cid_name or "unknown"),
                    ("ConnectedLineNum", ch.conn_num or "unknown"),
                    ("ConnectedLineName", ch.conn_name or "unknown"),
                    ("Wait", str(int(now - entry.joined))),
                    ("Priority", str(entry.priority))], aid))
                items += 1
        session.send(list_complete("QueueStatusComplete", aid, items))

    def queue_summary(session: AmiSession, headers: Headers, aid: str | None) -> None:
        session.send(response(aid, [("EventList", "start"),
                                    ("Message", "Queue summary will follow")]))
        queues = selected(headers)
        now = time.time()
        for queue in queues:
            session.send(list_item("QueueSummary", queue.summary_pairs(now), aid))
        session.send(list_complete("QueueSummaryComplete", aid, len(queues)))

    def pause_device_state(member: Member) -> None:
        pbx.device_state(f"Queue:{member.queue.name}_pause_{member.interface}",
                         "INUSE" if member.paused else "NOT_INUSE")

    def queue_pause(session: AmiSession, headers: Headers, aid: str | None) -> None:
        interface = headers.get("Interface") or ""
        paused = _truthy(headers.get("Paused"))
        reason = headers.get("Reason") or ""
        queue_name = headers.get("Queue")
        members = [m for q in (selected(headers) if queue_name else pbx.queues.values())
                   for m in q.members if m.interface == interface]
        if not interface or not members:
            _error(session, aid, "Interface not found")
            return
        if not queue_name:
            pbx.log("NONE", "NONE", members[0].name, "PAUSEALL" if paused else "UNPAUSEALL",
                    reason)
        now = int(time.time())
        for member in members:
            member.paused = paused
            member.paused_reason = reason if paused else ""
            if paused:
                member.last_pause = now
            pause_device_state(member)
            pbx.member_event("QueueMemberPause", member)
            pbx.log("NONE", member.queue.name, member.name, "PAUSE" if paused else "UNPAUSE",
                    reason)
            member.queue.notify()
        _ok(session, aid, "Interface paused successfully" if paused
            else "Interface unpaused successfully")

    def queue_add(session: AmiSession, headers: Headers, aid: str | None) -> None:
        interface = (headers.get("Interface") or "").strip()
        queue = pbx.queues.get(headers.get("Queue") or "")
        if not interface:
            _error(session, aid, "'Interface' not specified.")
            return
        if queue is None:
            _error(session, aid, "Unable to add interface to queue: No such queue")
            return
        if queue.member(interface) is not None:
            _error(session, aid, "Unable to add interface: Already there")
            return
        device = pbx.devices.get(interface)
        if device is None:
            base = interface[:-2] if interface.endswith("/n") else interface
            exten = base.split("/", 1)[-1].split("@", 1)[0]
            device = Device(0, interface, exten, base)
            pbx.devices[interface] = device
        paused = _truthy(headers.get("Paused"))
        now = int(time.time())
        penalty = headers.get("Penalty") or "0"
        member = Member(queue, device, headers.get("MemberName") or interface,
                        headers.get("StateInterface") or interface, membership="dynamic",
                        penalty=int(penalty) if penalty.isdigit() else 0, paused=paused,
                        paused_reason=(headers.get("Reason") or "") if paused else "",
                        last_pause=now if paused else 0, login_time=now)
        queue.members.append(member)
        pause_device_state(member)
        pbx.member_event("QueueMemberAdded", member)
        pbx.log("MANAGER", queue.name, interface, "ADDMEMBER", "PAUSED" if paused else "")
        queue.notify()
        _ok(session, aid, "Added interface to queue")

    def queue_remove(session: AmiSession, headers: Headers, aid: str | None) -> None:
        interface = (headers.get("Interface") or "").strip()
        queue = pbx.queues.get(headers.get("Queue") or "")
        if queue is None:
            _error(session, aid, "Unable to remove interface from queue: No such queue")
            return
        member = queue.member(interface)
        if member is None:
            _error(session, aid, "Unable to remove interface: Not there")
            return
        queue.members.remove(member)
        pbx.member_event("QueueMemberRemoved", member)
        pbx.log("MANAGER", queue.name, interface, "REMOVEMEMBER", "")
        queue.notify()
        _ok(session, aid, "Removed interface from queue")

    def member_setting(action: str, event_name: str, verb: str, message: str,
                       attribute: str, header: str) -> None:
        def handler(session: AmiSession, headers: Headers, aid: str | None) -> None:
            interface = headers.get("Interface") or ""
            members = [m for q in selected(headers) for m in q.members
                       if m.interface == interface]
            if not members:
                _error(session, aid, "Invalid interface, queuename or penalty")
                return
            raw = headers.get(header) or ""
            for member in members:
                if attribute == "penalty":
                    member.penalty = int(raw) if raw.lstrip("-").isdigit() else 0
                    value = str(member.penalty)
                else:
                    member.ringinuse = _truthy(raw)
                    value = "1" if member.ringinuse else "0"
                pbx.member_event(event_name, member)
                pbx.log("NONE", member.queue.name, interface, verb, value)
                member.queue.notify()
            _ok(session, aid, message)
        handlers[action] = handler

    def queue_log(session: AmiSession, headers: Headers, aid: str | None) -> None:
        pbx.log(headers.get("UniqueID") or "NONE", headers.get("Queue") or "NONE",
                headers.get("Interface") or "NONE", headers.get("Event") or "",
                headers.get("Message") or "")
        _ok(session, aid, "Event added successfully")

    member_setting("queuepenalty", "QueueMemberPenalty", "PENALTY",
                   "Interface penalty set successfully", "penalty", "Penalty")
    member_setting("queuememberringinuse", "QueueMemberRinginuse", "RINGINUSE",
                   "Interface ringinuse set successfully", "ringinuse", "RingInUse")
    handlers.update({
        "queuestatus": queue_status, "queuesummary": queue_summary,
        "queuepause": queue_pause, "queueadd": queue_add, "queueremove": queue_remove,
        "queuelog": queue_log,
    })
