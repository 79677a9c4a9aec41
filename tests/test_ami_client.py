"""The asyncio AMI client over real loopback sockets against a fake AMI server."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from ami_fake_server import (
    CAPTURES,
    CORE_SHOW_CHANNELS,
    LIVE_EVENTS,
    QUEUE_STATUS,
    FakeAMI,
    wait_for,
)

from telephony.ami.actions import (
    AMIActionError,
    AMIAuthError,
    AMIConnectionLost,
    AMITimeout,
    AMIValueError,
    encode_action,
    format_caller_id,
)
from telephony.ami.client import AMIClient
from telephony.ami.frames import Frame, FrameReader, getlist


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def make_client(server: FakeAMI, **kw) -> AMIClient:
    kw.setdefault("secret", "bridgesecret")
    return AMIClient("127.0.0.1", server.port, "bridge", **kw)


def test_login_banner_and_events_from_a_capture():
    async def scenario():
        events: list[Frame] = []
        async with FakeAMI() as server:
            ami = (CAPTURES / "01_single_answered" / "ami.raw").read_bytes()
            server.after_login = ami[ami.index(b"\r\n\r\n") + 4:]  # after the login reply
            client = make_client(server, on_event=events.append)
            await client.wait_connected(5)
            await wait_for(lambda: any(e.get("Event") == "AgentComplete" for e in events))
            await client.close()
            return client, server, events

    client, server, events = run(scenario())
    assert client.banner == "Asterisk Call Manager/11.0.0"
    login = server.sent("Login")[0]
    assert (login["Username"], login["Secret"], login["Events"]) == (
        "bridge", "bridgesecret", "on")
    counts = Counter(e["Event"] for e in events)
    assert sum(counts.values()) == 269 + 1  # the capture's events + our FullyBooted
    assert counts["VarSet"] == 101 and counts["AgentCalled"] == 3 and counts["FullyBooted"] == 2
    assert client.stats.events == 270 and client.stats.logins == 1
    assert server.sent("Logoff"), "close() logs off"


def test_login_failure_is_reported_and_not_retried():
    async def scenario():
        async with FakeAMI() as server:
            client = make_client(server, secret="wrong-secret", backoff_initial=0.01)
            with pytest.raises(AMIAuthError, match="Authentication failed"):
                await client.wait_connected(5)
            await asyncio.sleep(0.1)
            assert not client.connected
            await client.close()
            return len(server.connect_times)

    assert run(scenario()) == 1


def test_md5_challenge_login_uses_the_captured_key():
    async def scenario():
        async with FakeAMI() as server:
            client = make_client(server, auth="md5", events=False)
            await client.wait_connected(5)
            pong = await client.ping()
            await client.close()
            return server, pong

    server, pong = run(scenario())
    login = server.sent("Login")[0]
    # md5login.sent in 00_protocol: challenge 988991285 + bridgesecret
    assert login["Key"] == "bbc2e454cd083b67ff24ff0fbabd41e1" and "Secret" not in login
    assert login["Events"] == "off" and pong["Ping"] == "Pong"


def test_actions_matched_by_action_id_with_interleaved_events():
    async def scenario():
        events: list[Frame] = []
        async with FakeAMI() as server:
            client = make_client(server, on_event=events.append)
            await client.wait_connected(5)
            status, channels, pong, added = await asyncio.gather(
                client.queue_status("support"), client.core_show_channels(), client.ping(),
                client.queue_add("support", "Local/agent6@agents/n", member_name="Agent 6",
                                 penalty=1, state_interface="Local/agent6@agents"))
            await client.close()
            return client, server, events, status, channels, pong, added

    client, server, events, status, channels, pong, added = run(scenario())
    assert [e["Event"] for e in status.events] == [
        "QueueParams", "QueueMember", "QueueMember", "QueueMember", "QueueEntry", "QueueEntry"]
    assert status.response["Message"] == "Queue status will follow"
    assert status.complete is not None and status.complete["ListItems"] == "6"
    assert status.events[1]["Location"] == "Local/agent1@agents/n"  # QueueMember: Location
    assert status.events[4]["Uniqueid"] == "1795455894.31"
    assert len(channels.events) == 10 and channels.complete["ListItems"] == "10"
    assert {e["Event"] for e in channels.events} == {"CoreShowChannel"}
    assert pong["Ping"] == "Pong" and added["Message"] == "Added interface to queue"
    # the live events written between the list items went to the callback, not the lists
    live = [LIVE_EVENTS[i % len(LIVE_EVENTS)] for n in (len(QUEUE_STATUS),
                                                        len(CORE_SHOW_CHANNELS))
            for i in range(n)]
    expected = FrameReader(expect_banner=False).feed(b"".join(live))
    assert events[0]["Event"] == "FullyBooted" and len(events) == 1 + 8 + 12
    assert sorted(map(repr, events[1:])) == sorted(map(repr, expected))
    sent = server.sent("QueueAdd")[0]
    assert (sent["MemberName"], sent["Penalty"], sent["StateInterface"]) == (
        "Agent 6", "1", "Local/agent6@agents")
    assert "Paused" not in sent
    ids = [a["ActionID"] for a in server.actions]
    assert len(set(ids)) == len(ids)


def test_error_responses_raise_with_asterisks_message():
    async def scenario():
        async with FakeAMI() as server:
            client = make_client(server)
            await client.wait_connected(5)
            await client.queue_add("support", "Local/agent7@agents/n", member_name="Agent 7",
                                   paused=True, reason="not-ready")
            with pytest.raises(AMIActionError, match="Already there"):
                await client.queue_add("support", "Local/agent7@agents/n")
            await client.queue_remove("support", "Local/agent7@agents/n")
            with pytest.raises(AMIActionError, match="Not there") as err:
                await client.queue_remove("support", "Local/agent7@agents/n")
            unknown = await client.send_action("NoSuchAction", check=False)
            await client.close()
            return server, err.value, unknown

    server, err, unknown = run(scenario())
    assert err.frame["Response"] == "Error" and err.action == "QueueRemove"
    assert unknown["Message"].startswith("Invalid/unknown command: NoSuchAction")
    first = server.sent("QueueAdd")[0]
    assert (first["Paused"], first["Reason"]) == ("true", "not-ready")


def test_timeout_then_late_reply_is_ignored():
    async def scenario():
        async with FakeAMI() as server:
            client = make_client(server)
            await client.wait_connected(5)
            with pytest.raises(AMITimeout, match="Blackhole"):
                await client.send_action("Blackhole", timeout=0.2)
            pong = await client.ping()  # the link is still usable
            await client.close()
            return client, pong

    client, pong = run(scenario())
    assert pong["Response"] == "Success" and client.stats.timeouts == 1
    assert client._pending == {}


def test_reconnect_with_backoff_and_resync_after_each_login():
    async def scenario():
        resyncs: list[int] = []
        dropped: list[object] = []

        async def on_connected(client: AMIClient) -> None:
            status = await client.queue_status()
            resyncs.append(len(status.events))

        async with FakeAMI() as server:
            server.drop_after_login = 3  # the first three links die right after login
            client = make_client(server, on_connected=on_connected, backoff_initial=0.1,
                                 on_disconnected=dropped.append)
            client.start()
            await wait_for(lambda: server.logins == 4 and len(resyncs) == 1)
            pong = await client.ping()
            pending = asyncio.ensure_future(client.send_action("Blackhole", timeout=5))
            await asyncio.sleep(0.05)
            server.drop_all()
            with pytest.raises(AMIConnectionLost):
                await pending
            await wait_for(lambda: server.logins == 5 and len(resyncs) == 2)
            await client.close()
            return client, server, resyncs, dropped, pong

    client, server, resyncs, dropped, pong = run(scenario())
    assert pong["Ping"] == "Pong" and resyncs == [6, 6]
    gaps = [b - a for a, b in zip(server.connect_times, server.connect_times[1:], strict=False)]
    # jittered 50-100 % of 0.1, 0.2, 0.4 s, then a fresh backoff for the 5th connection
    for gap, ceiling in zip(gaps[:3], (0.1, 0.2, 0.4), strict=True):
        assert ceiling * 0.5 <= gap <= ceiling + 0.5, gaps  # slack for a loaded machine
    assert client.stats.logins == 5 and client.stats.disconnects == 4 and len(dropped) == 4


def test_backoff_delays_grow_and_are_capped():
    client = AMIClient(backoff_initial=0.5, backoff_max=30.0)
    delays = [client.backoff_delay(n) for n in range(12)]
    for n, delay in enumerate(delays):
        ceiling = min(30.0, 0.5 * 2**n)
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays[8:]}) > 1  # jitter: not all the same


def test_ping_keepalive_and_reconnect_when_pings_go_unanswered():
    async def scenario():
        async with FakeAMI() as server:
            client = make_client(server, ping_interval=0.05, action_timeout=0.2,
                                 backoff_initial=0.05)
            await client.wait_connected(5)
            await wait_for(lambda: len(server.sent("Ping")) >= 3)
            server.silent.add("Ping")  # the PBX hangs: pings go unanswered
            await wait_for(lambda: client.stats.ping_failures >= 1 and server.logins >= 2)
            server.silent.discard("Ping")
            await client.wait_connected(5)
            pong = await client.ping()
            await client.close()
            return client, pong

    client, pong = run(scenario())
    assert pong["Ping"] == "Pong" and client.stats.disconnects >= 1


def test_originate_and_transfer_headers_are_safe():
    async def scenario():
        async with FakeAMI() as server:
            client = make_client(server)
            await client.wait_connected(5)
            hostile = 'Evil\r\nAction: Hangup\r\nChannel: Local/s@inbound-1;1'
            await client.originate(
                "Local/1001@agents", exten="13812345678", context="outbound", priority=1,
                caller_id=format_caller_id(hostile, "138 1234\n5678"),
                variables={"CALLTAG": "s2-call1", "CUSTOMER_ID": 42})
            await client.originate("Local/s@inbound", application="Wait", data="120",
                                   caller_id=hostile)
            await client.redirect("Local/s@inbound-0000000f;2", "repairs", "transfer")
            await client.queue_pause(None, "Local/agent1@agents/n", True, "break-all-queues")
            with pytest.raises(AMIValueError, match="Interface"):
                await client.queue_remove("support", "Local/x\r\nAction: Logoff")
            with pytest.raises(AMIValueError, match="comma"):
                await client.originate("Local/s@inbound", application="Wait",
                                       variables={"X": "1,EVIL=2"})
            with pytest.raises(ValueError, match="context and priority"):
                await client.originate("Local/s@inbound", exten="100")
            await client.close()
            return server

    server = run(scenario())
    assert [a["Action"] for a in server.actions] == [
        "Login", "Originate", "Originate", "Redirect", "QueuePause", "Logoff"]
    first, second = server.sent("Originate")
    assert first["CallerID"] == '"Evil  Action: Hangup  Channel: Local/s@inbound-1;1" <1381234' \
        '5678>'
    assert getlist(first, "Variable") == ["CALLTAG=s2-call1", "CUSTOMER_ID=42"]
    assert (first["Async"], first["Priority"], first["Timeout"]) == ("true", "1", "30000")
    assert second["CallerID"].startswith("Evil  Action: Hangup") and "Exten" not in second
    redirect = server.sent("Redirect")[0]
    assert (redirect["Exten"], redirect["Context"], redirect["Priority"]) == (
        "repairs", "transfer", "1")
    pause = server.sent("QueuePause")[0]
    assert "Queue" not in pause and pause["Reason"] == "break-all-queues"


def test_encode_action_rejects_bad_names_and_values():
    assert encode_action("Ping", "a-1") == b"Action: Ping\r\nActionID: a-1\r\n\r\n"
    with pytest.raises(AMIValueError):
        encode_action("Ping\r\nAction: Logoff", "a-2")
    with pytest.raises(AMIValueError):
        encode_action("QueueAdd", "a-3", {"Bad Name": "x"})
    with pytest.raises(AMIValueError):
        encode_action("QueueAdd", "a-4", {"ActionID": "spoof"})
    with pytest.raises(AMIValueError):
        encode_action("QueueAdd", "a-5", {"Queue": "sup\x00port"})


def test_bad_frames_from_the_pbx_are_counted_and_the_link_survives():
    async def scenario():
        events: list[Frame] = []
        async with FakeAMI() as server:
            server.after_login = (
                b"no colon here\r\n\r\n"
                + b"Event: Huge\r\nData: " + b"x" * 100_000 + b"\r\n\r\n"
                + b"Event: Newchannel\r\nCallerIDName: Zh\xffng\r\n\r\n"
                + b"Event: SomethingNew\r\nUniqueid: 1.2\r\n\r\n")
            client = make_client(server, on_event=events.append)
            await client.wait_connected(5)
            await wait_for(lambda: len(events) == 3)
            pong = await client.ping()
            await client.close()
            return client, events, pong

    client, events, pong = run(scenario())
    assert [e["Event"] for e in events] == ["FullyBooted", "Newchannel", "SomethingNew"]
    assert events[1]["CallerIDName"] == "Zh\ufffdng" and pong["Ping"] == "Pong"
    counters = client.reader.counters
    assert (counters.skipped_malformed, counters.skipped_oversized, counters.decode_errors) == (
        1, 1, 1)


def test_a_failing_event_callback_does_not_stop_the_reader():
    async def scenario():
        seen: list[str] = []

        def on_event(frame: Frame) -> None:
            seen.append(frame["Event"])
            if frame["Event"] == "FullyBooted":
                raise RuntimeError("handler bug")

        async with FakeAMI() as server:
            server.after_login = b"Event: After\r\n\r\n"
            client = make_client(server, on_event=on_event)
            await client.wait_connected(5)
            await wait_for(lambda: seen == ["FullyBooted", "After"])
            await client.close()
            return client

    assert run(scenario()).stats.callback_errors == 1
