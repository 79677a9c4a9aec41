"""FastAGI server over real loopback sockets: protocol, captures replayed, robustness.

The scripts' business results (customer lookup, ticket status, 150 concurrent calls)
are in test_fastagi_scripts.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time

import pytest
from agi_fake import (
    FakeAsterisk,
    LineSocket,
    asterisk_env,
    asterisk_parse_args,
    captured_session,
)

from callcenter.bridge.agi_scripts import serve_fastagi
from telephony.agi import (
    AGIDeadChannel,
    AGIHangup,
    FastAGIServer,
    FastAGIThread,
)
from telephony.agi.protocol import (
    MAX_COMMAND_BYTES,
    AGIInvalidCommand,
    AGIUsageError,
    build_environment,
    encode_command,
    parse_reply,
    quote_arg,
)

HOSTILE = ['"; HANGUP', 'x"\rEXEC Dial PJSIP/evil', 'a\\" EXEC System "rm -rf /', "\\",
           '"', '\\"\\"', "\x00\x1b[2J\x7f", "line1\nEXEC Hangup\n200 result=1", "  spaces  ",
           "", "张三\t\"李四\"", "\\\\\\n"]


def resources() -> tuple[int, int]:
    return threading.active_count(), len(os.listdir("/proc/self/fd"))


@pytest.fixture
def start_server():
    threads: list[FastAGIThread] = []

    def start(scripts, **options) -> FastAGIServer:
        server = FastAGIServer(scripts, port=0, **options)
        threads.append(FastAGIThread(server).start())
        return server

    yield start
    for thread in threads:
        thread.stop()


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


# --- the wire format --------------------------------------------------------------

def test_fake_sends_the_environment_exactly_as_the_capture():
    captured = [data for _, kind, data in captured_session("01_single_answered", "2")
                if kind == "RECV"][:2]
    assert asterisk_env() == captured


@pytest.mark.parametrize("value", HOSTILE)
def test_every_argument_reaches_asterisk_as_one_argument(value):
    line = encode_command("SET VARIABLE CUSTOMER_NAME", value)
    assert line.count(b"\n") == 1 and line.endswith(b"\n") and b"\r" not in line
    argv = asterisk_parse_args(line.decode()[:-1])
    expected = "".join(ch for ch in value if ord(ch) >= 0x20 and ord(ch) != 0x7f)
    assert argv == ["SET", "VARIABLE", "CUSTOMER_NAME", expected]
    assert asterisk_parse_args(f"VERBOSE {quote_arg(value)} 1") == ["VERBOSE", expected, "1"]


def test_unsafe_commands_are_refused_not_sent():
    with pytest.raises(ValueError, match="exceeds"):
        encode_command("VERBOSE", "x" * MAX_COMMAND_BYTES)
    with pytest.raises(ValueError):
        encode_command("SET VARIABLE X\nEXEC Hangup", "1")


def test_replies_as_asterisk_sends_them():
    assert parse_reply('200 result=1 ("Zhang San" <13812345678>)').value == \
        '"Zhang San" <13812345678>'
    assert parse_reply("200 result=1 (a (nested) value)").value == "a (nested) value"
    unset = parse_reply("200 result=0")
    assert unset.result == "0" and unset.value is None
    assert parse_reply("200 result=-1").result_int == -1
    assert parse_reply("200 result=0 endpos=8000").extras == {"endpos": "8000"}
    assert parse_reply("200 result=0123 (timeout)").result == "0123"
    with pytest.raises(AGIInvalidCommand):
        parse_reply("510 Invalid or unknown command")
    with pytest.raises(AGIDeadChannel):
        parse_reply("511 Command Not Permitted on a dead channel or intercept routine")


def test_environment_keeps_query_string_and_arguments():
    lines = [b"agi_network: yes", b"agi_network_script: ivr?lang=zh&menu=main",
             b"agi_request: agi://127.0.0.1:4573/ivr?lang=zh&menu=main",
             b"agi_arg_2: 13812345678", b"agi_arg_1: menu1", b"agi_arg_10: ten",
             b"agi_arg_3: two words", b"agi_arg_4: quoted", b"agi_callerid: unknown",
             b"agi_accountcode: "]
    from telephony.agi.protocol import parse_env_line
    env = build_environment(dict(parse_env_line(line) for line in lines))
    assert env.script == "ivr"
    assert env.params == {"lang": "zh", "menu": "main"}
    assert env.args == ["menu1", "13812345678", "two words", "quoted", "ten"]
    assert env.callerid == "" and env.get("accountcode") == ""


# --- captured sessions replayed byte for byte ---------------------------------------

def replay(port: int, events, max_delay: float = 0.05) -> None:
    """Play Asterisk's side of a captured session; our server must send the same commands."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        lines = LineSocket(sock)
        previous = events[0][0]
        for ts, kind, data in events:
            if kind == "RECV":  # what Asterisk sent, with its timing (capped)
                time.sleep(min(max(ts - previous, 0.0), max_delay))
                sock.sendall(data)
            elif kind == "SEND":  # what the captured script sent: ours must mean the same
                got = lines.readline()
                assert got is not None, f"server closed; expected {data!r}"
                assert asterisk_parse_args(got.decode()[:-1]) == \
                    asterisk_parse_args(data.decode()[:-1])
            elif kind == "CLOSE":
                assert lines.readline() is None
            previous = ts


def test_replay_of_a_captured_session(start_server):
    out: dict = {}

    async def script(agi):
        out["num"] = await agi.get_variable("CALLERID(num)")
        out["all"] = (await agi.command("GET FULL VARIABLE ${CALLERID(all)}")).value
        out["unset"] = await agi.get_variable("NO_SUCH_VARIABLE")
        await agi.set_variable("CUSTOMER_ID", 42)
        await agi.set_variable("QUEUE_PRIORITY", 5)
        await agi.set_variable("GREETING", "hello world")
        await agi.verbose("hello", 1)
        out["exec"] = (await agi.exec("NoOp", "foo")).result
        out["status"] = (await agi.command("CHANNEL STATUS")).result_int
        with pytest.raises(AGIInvalidCommand):
            await agi.command("FOO BAR")
        try:
            await agi.command("SET VARIABLE")
        except AGIUsageError as exc:
            out["usage"] = exc.usage
        out["env"] = (agi.env.script, agi.env.callerid, agi.env.calleridname, agi.env.args)

    server = start_server({"lookup": script})
    replay(server.port, captured_session("01_single_answered", "2"))
    wait_for(lambda: server.stats["completed"] == 1)
    assert out == {"num": "13812345678", "all": '"Zhang San" <13812345678>', "unset": None,
                   "exec": "0", "status": 6,
                   "usage": "Sets a variable to the current channel.",
                   "env": ("lookup", "13812345678", "Zhang San", ["13812345678"])}


def test_replay_of_a_hangup_during_wait_for_digit(start_server):
    """03_abandon conn 6: result -1, then HANGUP arrives before the next reply; 511 after."""
    out: dict = {}

    async def slow(agi):
        await agi.verbose("slow agi start", 1)
        try:
            await agi.wait_for_digit(30000)
        except AGIHangup:
            out["wait"] = "hangup"
        out["channel"] = await agi.get_variable("CHANNEL")
        out["hung_up"] = agi.hung_up
        await agi.verbose("after hangup", 1)
        await agi.exec("NoOp", "after-hangup")
        await agi.answer()

    server = start_server({"slow": slow})
    replay(server.port, captured_session("03_abandon", "6"))
    wait_for(lambda: server.stats["hangup"] == 1)  # answer() raised AGIDeadChannel
    assert out == {"wait": "hangup", "channel": "Local/slowagi@inbound-00000043;2",
                   "hung_up": True}
    assert server.stats["completed"] == 0 and server.active == 0


# --- robustness --------------------------------------------------------------------

async def _set_one(agi):
    await agi.set_variable("X", "1")


MALFORMED = {
    "not agi": b"hello world\n\n",
    "http probe": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "empty": b"\n",
    "no script": b"agi_network: yes\nagi_channel: Local/s@inbound-1;2\n\n",
    "huge line": b"agi_network: yes\nagi_calleridname: " + b"A" * 20000 + b"\n\n",
    "endless": b"".join(b"agi_x%d: y\n" % i for i in range(300)) + b"\n",
    "newline in name": asterisk_env(calleridname="x\nHANGUP")[0] + asterisk_env()[1],
}


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_environment_is_refused_without_a_command(start_server, payload):
    server = start_server({"lookup": _set_one})
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(payload)
        assert LineSocket(sock).readline() is None  # closed, nothing sent
    wait_for(lambda: server.stats["env_malformed"] == 1 and server.active == 0)
    assert server.stats["completed"] == 0


def test_non_utf8_caller_name_is_accepted(start_server):
    seen = []

    async def script(agi):
        seen.append(agi.env.calleridname)
        await agi.set_variable("X", agi.env.calleridname)

    server = start_server({"lookup": script})
    chunks = asterisk_env(calleridname="PLACEHOLDER")
    chunks[0] = chunks[0].replace(b"PLACEHOLDER", "Müller".encode("latin-1"))  # not UTF-8
    fake = FakeAsterisk(server.port, env=chunks).run()
    assert seen == ["M\ufffdller"] and fake.variables == {"X": "M\ufffdller"}


@pytest.mark.parametrize("how", ["half-close", "close"])
def test_peer_closing_before_the_environment_ends_no_busy_loop(start_server, how):
    server = start_server({"lookup": _set_one}, env_timeout=30)
    cpu_before = time.process_time()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(asterisk_env()[0])  # first chunk only
        if how == "half-close":
            sock.shutdown(socket.SHUT_WR)
            assert LineSocket(sock).readline() is None
    wait_for(lambda: server.stats["env_truncated"] == 1 and server.active == 0, 2.0)
    time.sleep(0.5)  # a server spinning on EOF would burn this whole half second
    assert time.process_time() - cpu_before < 0.3


def test_idle_peer_is_dropped_after_env_timeout(start_server):
    server = start_server({"lookup": _set_one}, env_timeout=0.3)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(asterisk_env()[0])
        started = time.monotonic()
        assert LineSocket(sock).readline() is None
        assert time.monotonic() - started < 2.0
    wait_for(lambda: server.stats["env_timeout"] == 1 and server.active == 0)


def test_unanswered_command_times_out_and_closes(start_server):
    server = start_server({"lookup": _set_one}, reply_timeout=0.3)
    fake = FakeAsterisk(server.port, silent=True).run()
    assert fake.closed_by_server and len(fake.commands) == 1
    wait_for(lambda: server.stats["timeout"] == 1 and server.active == 0)


def test_unknown_script_and_script_errors_close_the_session(start_server):
    async def broken(agi):
        raise RuntimeError("bug in a script")

    server = start_server({"lookup": broken})
    FakeAsterisk(server.port, env=asterisk_env(script="ivr?lang=zh&menu=main")).run()
    FakeAsterisk(server.port).run()
    wait_for(lambda: server.stats["unknown_script"] == 1 and server.stats["script_error"] == 1)
    assert server.active == 0


def test_stop_ends_open_sessions_and_leaks_nothing():
    before = resources()
    server = FastAGIServer({"lookup": _set_one}, port=0, env_timeout=60, db_workers=2)
    thread = FastAGIThread(server).start()
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
    try:
        for sock in socks:
            sock.sendall(asterisk_env()[0])  # all 20 wait for the rest of their environment
        wait_for(lambda: server.active == 20)
        thread.stop()
        assert [LineSocket(sock).readline() for sock in socks] == [None] * 20
    finally:
        for sock in socks:
            sock.close()
    assert resources() == before
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_get_data_and_hangup(start_server):
    out = []

    async def script(agi):
        out.append(await agi.get_data("enter-ticket-number", 3000, 4))
        out.append(await agi.get_data("enter-ticket-number", 3000, 4))
        await agi.hangup()
        out.append(agi.hung_up)

    server = start_server({"lookup": script})
    fake = FakeAsterisk(server.port, digits=["0", "1", "2", "3", "7", ""]).run()
    assert out == [("0123", False), ("7", True), True]
    assert fake.argv[0] == ["GET", "DATA", "enter-ticket-number", "3000", "4"]
    assert fake.dead and server.stats["completed"] == 1


def test_serve_fastagi_in_the_bridge_event_loop():
    """The bridge runs serve_fastagi() as a task beside the AMI client; no DB here, so
    the lookup treats the caller as unknown instead of failing the call."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main() -> FakeAsterisk:
        task = asyncio.create_task(serve_fastagi("127.0.0.1", port, None, region="CN",
                                                 timezone="Asia/Shanghai"))
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            writer.close()
            await writer.wait_closed()
            break
        fake = await asyncio.to_thread(FakeAsterisk(port).run)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return fake

    fake = asyncio.run(main())
    assert fake.variables["CUSTOMER_ID"] == "" and fake.variables["QUEUE_PRIORITY"] == "1"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_busy_server_and_foreign_peers_are_refused(start_server):
    server = start_server({"lookup": _set_one}, max_sessions=1, env_timeout=30,
                          reply_timeout=30)
    # A running session (its command unanswered) holds the only place ...
    first = FakeAsterisk(server.port, silent=True)
    runner = threading.Thread(target=first.run, daemon=True)
    runner.start()
    wait_for(lambda: server.active == 1 and len(first.commands) == 1)
    fake = FakeAsterisk(server.port).run()
    assert fake.commands == [] and server.stats["rejected_busy"] == 1
    # ... while a connection still silent before its environment gives its place up.
    idle = start_server({"lookup": _set_one}, max_sessions=1, env_timeout=30)
    with socket.create_connection(("127.0.0.1", idle.port), timeout=5) as waiting:
        waiting.sendall(asterisk_env()[0])
        wait_for(lambda: idle.active == 1)
        assert FakeAsterisk(idle.port).run().variables == {"X": "1"}
        assert LineSocket(waiting).readline() is None
        assert idle.stats["evicted_idle"] == 1 and idle.stats["rejected_busy"] == 0
    other = start_server({"lookup": _set_one}, allowed_peers={"192.0.2.1"})
    assert FakeAsterisk(other.port).run().commands == []
    assert other.stats["rejected_peer"] == 1
    allowed = start_server({"lookup": _set_one}, allowed_peers={"127.0.0.1"})
    assert FakeAsterisk(allowed.port).run().variables == {"X": "1"}


def test_multi_line_value_and_garbage_replies_keep_or_end_the_session(start_server):
    out = []

    async def script(agi):
        out.append(await agi.get_variable("NOTE"))
        out.append((await agi.get_variable("NEXT"), agi.hung_up))
        out.append(await agi.get_variable("GARBAGE"))

    server = start_server({"lookup": script})
    fake = FakeAsterisk(server.port, variables={"NOTE": "a\nHANGUP\n200 result=1 (b", "NEXT": "ok"})
    fake.answer = lambda argv, real=fake.answer: (  # type: ignore[method-assign]
        b"hello\n" if argv[-1] == "GARBAGE" else real(argv))
    fake.run()
    assert out == ["a\nHANGUP\n200 result=1 (b", ("ok", False)]
    assert server.stats["agi_error"] == 1 and len(fake.commands) == 3
