"""The PBX simulator against the real Asterisk 22 captures, over loopback sockets."""

from __future__ import annotations

import os
import re
from collections import defaultdict

import pytest
from simulator_support import (
    AmiClient,
    FastAgiRecorder,
    captured_agi_env_keys,
    captured_field_sets,
    header,
    split_frames,
)

from telephony.simulator import (
    HOSTILE_CALLERS,
    PbxSimulator,
    SimulatorConfig,
    ThreadedSimulator,
    parse_callerid,
    parse_queues,
)

# Transfers are not in the captures; this is Asterisk's documented BlindTransfer event
# (docs.asterisk.org, AMI_Events/BlindTransfer) without the optional BridgeVideoSource.
BLIND_TRANSFER_FIELDS = (
    "Privilege", "Result",
    *(f"Transferer{f}" for f in ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum",
                                 "CallerIDName", "ConnectedLineNum", "ConnectedLineName",
                                 "Language", "AccountCode", "Context", "Exten", "Priority",
                                 "Uniqueid", "Linkedid")),
    *(f"Transferee{f}" for f in ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum",
                                 "CallerIDName", "ConnectedLineNum", "ConnectedLineName",
                                 "Language", "AccountCode", "Context", "Exten", "Priority",
                                 "Uniqueid", "Linkedid")),
    "BridgeUniqueid", "BridgeType", "BridgeTechnology", "BridgeCreator", "BridgeName",
    "BridgeNumChannels", "BridgeVideoSourceMode", "IsExternal", "Context", "Extension")

@pytest.fixture(scope="module")
def captured() -> dict[str, set[tuple[str, ...]]]:
    return captured_field_sets()


@pytest.fixture(scope="module")
def traffic(tmp_path_factory):
    """A few seconds of seeded traffic at a high rate, as one events-on client saw it."""
    agi = FastAgiRecorder()
    queue_log = tmp_path_factory.mktemp("sim") / "queue_log"
    queues = parse_queues("support:ringall=1-3;repairs:rrmemory=4-6", 6,
                          timeout=1.0, retry=0.2, wrapuptime=0.2)
    config = SimulatorConfig(
        ami_port=0, rate=8.0, seed=int(os.environ.get("SIM_TEST_SEED", "20261123")),
        duration=3.0, queues=queues,
        talk_time=(0.2, 0.8), answer_delay=(0.05, 0.5), no_answer_prob=0.3,
        abandon_prob=0.25, patience=(0.1, 1.5), queue_timeout=4.0, transfer_prob=0.2,
        caller_hangup_prob=0.3, hostile_share=0.5, agi_host="127.0.0.1", agi_port=agi.port,
        queue_log=str(queue_log))
    with ThreadedSimulator(config) as sim:
        client = AmiClient(sim.ami_port)
        try:
            assert client.login()[0] == ("Response", "Success")
            frames = client.collect(3.5)
            assert sim.wait_done(60), "calls did not finish"
            frames += client.collect(0.5)
            started = sim.sim.calls_started
        finally:
            client.close()
            agi.close()
    return {"frames": frames, "raw": client.raw, "agi": agi.sessions,
            "queue_log": queue_log.read_text().splitlines(), "calls": started}


@pytest.fixture
def ami():
    """AmiClient factory; every socket is closed at teardown (warnings are errors)."""
    clients: list[AmiClient] = []

    def connect(port: int) -> AmiClient:
        clients.append(AmiClient(port))
        return clients[-1]
    yield connect
    for client in clients:
        client.close()


def events(frames, name=None):
    return [f for f in frames if f[0][0] == "Event" and (name is None or f[0][1] == name)]


def test_login_good_and_bad_secret(ami):
    with ThreadedSimulator(SimulatorConfig(ami_port=0, rate=0)) as sim:
        bad = ami(sim.ami_port)
        assert bad.banner == "Asterisk Call Manager/11.0.0\r\n"
        assert bad.login(secret="wrong") == [("Response", "Error"), ("ActionID", "login-1"),
                                             ("Message", "Authentication failed")]
        assert bad.is_closed(), "Asterisk closes the connection after a failed login"
        good = ami(sim.ami_port)
        assert good.login() == [("Response", "Success"), ("ActionID", "login-1"),
                                ("Message", "Authentication accepted")]
        assert header(good.frame(), "Event") == "FullyBooted"
        good.send(Action="Ping")
        pong = [f for f in good.collect(0.5) if f[0][0] == "Response"][0]
        assert [k for k, _ in pong] == ["Response", "Ping", "Timestamp"]  # no ActionID sent
        good.send(Action="Logoff", ActionID="bye")
        assert good.response("bye")[0] == ("Response", "Goodbye")
        assert good.is_closed()


def test_actions_before_login_are_denied(ami):
    with ThreadedSimulator(SimulatorConfig(ami_port=0, rate=0)) as sim:
        client = ami(sim.ami_port)
        client.send(Action="CoreShowChannels", ActionID="pre-1")
        assert client.frame() == [("Response", "Error"), ("ActionID", "pre-1"),
                                  ("Message", "Permission denied")]
        client.login(events="off")
        client.send(Action="NoSuchAction", ActionID="x")
        assert header(client.response("x"), "Message").startswith(
            "Invalid/unknown command: NoSuchAction.")
        client.send(Foo="bar", ActionID="noaction-1")
        assert header(client.response("noaction-1"), "Message") == "Missing action in request"


def test_event_names_and_field_sets_match_the_captures(traffic, captured):
    emitted = events(traffic["frames"])
    names = {f[0][1] for f in emitted}
    assert names <= set(captured) | {"BlindTransfer"}, names - set(captured)
    # the traffic exercised the paths the captures show
    for needed in ("AgentCalled", "AgentConnect", "AgentComplete", "QueueCallerAbandon",
                   "AgentRingNoAnswer", "AGIExecStart", "VarSet", "BlindTransfer"):
        assert needed in names, needed
    for frame in emitted:
        fields = tuple(k for k, _ in frame[1:])
        if frame[0][1] == "BlindTransfer":
            assert fields == BLIND_TRANSFER_FIELDS
        else:
            assert fields in captured[frame[0][1]], (frame[0][1], fields)


def test_frames_use_crlf_only(traffic):
    raw = traffic["raw"]
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert raw.count(b"\r") == raw.count(b"\r\n")


def test_per_call_ordering_and_linkedid(traffic):
    frames = events(traffic["frames"])
    by_linkedid = defaultdict(list)
    for index, frame in enumerate(frames):
        for key, value in frame:
            if key.endswith("Linkedid"):
                by_linkedid[value].append(index)
    originated = {header(f, "Uniqueid"): f for f in events(frames, "Newchannel")
                  if re.fullmatch(r"Local/s@inbound-[0-9a-f]{8};1", header(f, "Channel"))}
    second_halves = {header(f, "Channel"): header(f, "Uniqueid")
                     for f in events(frames, "Newchannel")
                     if header(f, "Channel").startswith("Local/s@inbound-")
                     and header(f, "Channel").endswith(";2")}
    assert len(originated) == traffic["calls"]
    # every channel of a call carries the originated ;1's Uniqueid as Linkedid
    assert set(by_linkedid) == set(originated)
    for linkedid, first in originated.items():
        assert header(first, "Linkedid") == linkedid
        seq = [frames[i] for i in sorted(set(by_linkedid[linkedid]))]
        names = [f[0][1] for f in seq]
        assert names[-1] == "Hangup", names[-6:]
        order = ["QueueCallerJoin", "AgentCalled", "AgentConnect", "AgentComplete"]
        present = [names.index(n) for n in order if n in names]
        assert present == sorted(present), names
        if "AgentConnect" in names:
            assert "QueueCallerJoin" in names and "AgentCalled" in names
        for frame in seq:
            if frame[0][1].startswith(("QueueCaller", "Agent")):
                assert header(frame, "Uniqueid") == second_halves[header(frame, "Channel")]
                assert header(frame, "Channel").endswith(";2")
    # nothing left behind: every channel created was hung up
    created = {header(f, "Channel") for f in events(frames, "Newchannel")}
    hung_up = {header(f, "Channel") for f in events(frames, "Hangup")}
    assert created == hung_up


def test_ringall_rings_every_available_member_and_losers_get_cause_26(traffic):
    frames = events(traffic["frames"])
    connects = {header(f, "DestChannel") for f in events(frames, "AgentConnect")}
    called_support = [f for f in events(frames, "AgentCalled") if header(f, "Queue") == "support"]
    assert called_support
    losers = {header(f, "DestChannel") for f in called_support} - connects
    hangups = {header(f, "Channel"): header(f, "Cause") for f in events(frames, "Hangup")}
    assert any(hangups.get(ch) == "26" for ch in losers)
    statuses = {header(f, "Status") for f in events(frames, "QueueMemberStatus")}
    assert statuses <= {"1", "2"}, "Local members never report RINGING (6)"


def test_agi_environment_and_replies_like_asterisk(traffic):
    keys = captured_agi_env_keys()
    assert traffic["agi"], "the simulator never called the FastAGI server"
    for env, replies in traffic["agi"]:
        lines = env.decode("utf-8", "surrogateescape").splitlines()
        assert [ln.split(":", 1)[0] for ln in lines if ln] == keys
        assert replies[1:] == [b"200 result=1\n", b"200 result=1\n",
                               b"520-Invalid command syntax.  Proper usage follows:\n"
                               b"Sets a variable to the current channel.\n"
                               b"520 End of proper usage.\n",
                               b"510 Invalid or unknown command\n"]
        assert replies[0].startswith(b"200 result=1 (")
    frames = traffic["frames"]
    assert any(header(f, "Variable") == "CUSTOMER_ID" and header(f, "Value") == "42"
               for f in events(frames, "VarSet"))
    results = {header(f, "ResultCode") for f in events(frames, "AGIExecEnd")}
    assert results == {"200", "510", "520"}


def test_queue_log_lines_are_well_formed(traffic):
    arity = {"ENTERQUEUE": 3, "CONNECT": 3, "COMPLETEAGENT": 3, "COMPLETECALLER": 3,
             "ABANDON": 3, "EXITWITHTIMEOUT": 3, "RINGNOANSWER": 1, "BLINDTRANSFER": 5}
    lines = traffic["queue_log"]
    frames = events(traffic["frames"])
    verbs = defaultdict(int)
    for line in lines:
        parts = line.split("|")
        assert re.fullmatch(r"\d{10}", parts[0])
        assert re.fullmatch(r"\d{10}\.\d+", parts[1]), line
        verbs[parts[4]] += 1
        assert len(parts) - 5 == arity[parts[4]], line
    assert verbs["ENTERQUEUE"] == len(events(frames, "QueueCallerJoin"))
    assert verbs["CONNECT"] == len(events(frames, "AgentConnect"))
    assert verbs["RINGNOANSWER"] == len(events(frames, "AgentRingNoAnswer"))
    assert verbs["ABANDON"] + verbs["EXITWITHTIMEOUT"] == len(events(frames,
                                                                     "QueueCallerAbandon"))
    completes = verbs["COMPLETEAGENT"] + verbs["COMPLETECALLER"] + verbs["BLINDTRANSFER"]
    assert completes == len(events(frames, "AgentComplete"))


def test_queue_status_matches_captured_shape(captured, ami):
    config = SimulatorConfig(ami_port=0, rate=0, queues=parse_queues(
        "support:ringall=1-3;repairs:rrmemory=4,5", 5))
    with ThreadedSimulator(config) as sim:
        client = ami(sim.ami_port)
        client.login(events="off")
        for n in (1, 2, 3):  # everyone in a meeting: the caller stays a QueueEntry
            client.send(Action="QueuePause", ActionID=f"p{n}", Queue="support",
                        Interface=f"Local/agent{n}@agents/n", Paused="true", Reason="meeting")
            assert header(client.response(f"p{n}"), "Message") == \
                "Interface paused successfully"
        client.send(Action="Originate", ActionID="o", Channel="Local/s@inbound",
                    Application="Wait", Data="120", CallerID='"Beijing Office" <010-62345678>',
                    Async="true")
        assert header(client.response("o"), "Message") == "Originate successfully queued"
        client.send(Action="QueueStatus", ActionID="qs")
        head = client.response("qs")
        assert head == [("Response", "Success"), ("ActionID", "qs"), ("EventList", "start"),
                        ("Message", "Queue status will follow")]
        items = []
        while True:
            frame = client.frame()
            if header(frame, "Event") == "QueueStatusComplete":
                break
            items.append(frame)
        assert header(frame, "ListItems") == str(len(items))
        for item in [*items, frame]:
            assert tuple(k for k, _ in item[1:]) in captured[item[0][1]]
        entries = [f for f in items if header(f, "Event") == "QueueEntry"]
        assert [header(f, "CallerIDNum") for f in entries] == ["01062345678"]
        assert header(entries[0], "Channel").endswith(";2")
        members = [f for f in items if header(f, "Event") == "QueueMember"]
        assert [header(f, "Location") for f in members][:3] == [
            f"Local/agent{n}@agents/n" for n in (1, 2, 3)]
        assert header(members[0], "PausedReason") == "meeting"


def test_member_actions_answer_and_emit_like_asterisk(captured, ami):
    with ThreadedSimulator(SimulatorConfig(ami_port=0, rate=0, agents=3)) as sim:
        watcher = ami(sim.ami_port)
        watcher.login()
        driver = ami(sim.ami_port)
        driver.login(events="off")
        cases = [
            (dict(Action="QueueAdd", Queue="support", Interface="Local/agent7@agents/n",
                  MemberName="Agent 7", Paused="true", Reason="not-ready"),
             "Added interface to queue"),
            (dict(Action="QueueAdd", Queue="support", Interface="Local/agent7@agents/n"),
             "Unable to add interface: Already there"),
            (dict(Action="QueuePause", Interface="Local/agent7@agents/n", Paused="false"),
             "Interface unpaused successfully"),
            (dict(Action="QueueRemove", Queue="support", Interface="Local/agent7@agents/n"),
             "Removed interface from queue"),
            (dict(Action="QueueRemove", Queue="support", Interface="Local/agent7@agents/n"),
             "Unable to remove interface: Not there"),
            (dict(Action="QueuePause", Interface="Local/nosuch@agents/n", Paused="true"),
             "Interface not found"),
        ]
        for number, (action, message) in enumerate(cases):
            driver.send(ActionID=f"m{number}", **action)
            assert header(driver.response(f"m{number}"), "Message") == message
        seen = events(watcher.collect(0.5))
        names = [f[0][1] for f in seen if f[0][1].startswith("QueueMember")]
        assert names == ["QueueMemberAdded", "QueueMemberPause", "QueueMemberRemoved"]
        for frame in seen:
            assert tuple(k for k, _ in frame[1:]) in captured[frame[0][1]]


def test_originate_hostile_caller_and_ami_hangup_abandons(ami):
    config = SimulatorConfig(ami_port=0, rate=0, agents=1)
    with ThreadedSimulator(config) as sim:
        watcher = ami(sim.ami_port)
        watcher.login()
        driver = ami(sim.ami_port)
        driver.login(events="off")
        driver.send(Action="QueuePause", ActionID="p", Interface="Local/agent1@agents/n",
                    Paused="true")
        driver.response("p")
        driver.send(Action="Originate", ActionID="o1", Channel="Local/s@inbound",
                    Application="Wait", Data="120", CallerID='"O\\"Brien <b>" <010-6234-5678>',
                    Async="true")
        driver.response("o1")
        seen = watcher.collect(0.5)
        response = events(seen, "OriginateResponse")[0]
        assert header(response, "ActionID") == "o1"
        assert header(response, "CallerIDNum") == "01062345678"
        assert header(response, "CallerIDName") == 'O"Brien <b>'
        caller = header(response, "Channel")
        driver.send(Action="CoreShowChannels", ActionID="c")
        driver.response("c")
        listed = [driver.frame() for _ in range(3)]
        assert [header(f, "Event") for f in listed] == ["CoreShowChannel"] * 2 + [
            "CoreShowChannelsComplete"]
        assert {header(f, "Application") for f in listed[:2]} == {"Wait", "Queue"}
        assert {header(f, "Linkedid") for f in listed[:2]} == {header(response, "Uniqueid")}
        driver.send(Action="Hangup", ActionID="h", Channel=caller)
        assert header(driver.response("h"), "Message") == "Channel Hungup"
        driver.send(Action="Hangup", ActionID="h2", Channel="Local/nosuch-00000000;1")
        assert header(driver.response("h2"), "Message") == "No such channel"
        after = [f[0][1] for f in events(watcher.collect(0.7))]
        assert "QueueCallerAbandon" in after and after.index(
            "QueueCallerAbandon") < after.index("QueueCallerLeave")
        assert driver.raw.count(b"OriginateResponse") == 0, "Events: off never gets it"


def test_hostile_caller_ids_pass_through_unescaped(traffic):
    hostile = {c.name for c in HOSTILE_CALLERS if c.name and not c.name.isascii()
               or any(ch in c.name for ch in '"<>\x1b\x07\t;$`')}
    names = {header(f, "CallerIDName") for f in events(traffic["frames"])}
    assert names & hostile, "no hostile caller ID in the traffic"
    assert "<unknown>" in names, "callers without caller ID show as <unknown>"


def test_same_seed_same_calls():
    def plan(seed: int) -> list[tuple]:
        sim = PbxSimulator(SimulatorConfig(ami_port=0, seed=seed, abandon_prob=0.5,
                                           queues=parse_queues("a;b", 2)))
        return [(c.cid, c.queue_name, c.patience, c.talk_time, c.transfer_wanted)
                for c in map(sim.plan_call, range(1, 30))]
    assert plan(7) == plan(7)
    assert plan(7) != plan(8)


def test_callerid_parsing_shrinks_like_asterisk():
    assert parse_callerid('"Beijing Office" <010-62345678>').num == "01062345678"
    assert parse_callerid('"Anonymous" <anonymous>').num == "anonymous"
    assert parse_callerid("<+44207946095812345678901>").num == "+44207946095812345678901"
    assert parse_callerid('"" <>').num == "" and parse_callerid(None).name == ""
    assert split_frames(b"Event: X\r\nA: \r\n\r\n") == [[("Event", "X"), ("A", "")]]
