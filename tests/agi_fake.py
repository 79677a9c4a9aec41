"""A FastAGI *client* that behaves like Asterisk 22, for tests over real sockets.

Built from ``tests/data/asterisk/captures/*/fastagi.log``: the environment goes out in
the same two TCP chunks, replies have the captured forms, a hang-up answers
``200 result=-1`` and then sends ``HANGUP``, after which ANSWER gets 511. Commands are
split with a port of res_agi.c's ``parse_args``, so tests see the arguments exactly as
Asterisk would.
"""

from __future__ import annotations

import ast
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from captures import CAPTURES  # noqa: E402,F401


def asterisk_parse_args(line: str) -> list[str]:
    """res_agi.c ``parse_args``: blanks split, ``"`` toggles quoting, ``\\`` escapes."""
    argv: list[str] = []
    quoted = escaped = False
    whitespace = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                argv.append("")
                whitespace = False
            continue
        if ch in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            argv.append("")
            whitespace = False
        argv[-1] += ch
        escaped = False
    return argv


def asterisk_env(script: str = "lookup", callerid: str = "13812345678",
                 calleridname: str = "Zhang San", args: list[str] | None = None,
                 uniqueid: str = "1795455872.9",
                 channel: str = "Local/s@inbound-00000004;2") -> list[bytes]:
    """The environment as Asterisk 22 sends it, in its two TCP chunks."""
    args = [callerid] if args is None else args
    first = (f"agi_network: yes\nagi_network_script: {script}\n"
             f"agi_request: agi://127.0.0.1:4573/{script}\nagi_channel: {channel}\n"
             f"agi_language: en\nagi_type: Local\nagi_uniqueid: {uniqueid}\n"
             f"agi_version: 22.10.1\nagi_callerid: {callerid}\n"
             f"agi_calleridname: {calleridname}\nagi_callingpres: 0\nagi_callingani2: 0\n"
             "agi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\n"
             "agi_context: inbound\n")
    second = ("agi_extension: s\nagi_priority: 4\nagi_enhanced: 0.0\nagi_accountcode: \n"
              "agi_threadid: 140026128762560\n"
              + "".join(f"agi_arg_{i}: {a}\n" for i, a in enumerate(args, 1)) + "\n")
    return [first.encode(), second.encode()]


def captured_session(scenario: str, conn: str) -> list[tuple[float, str, bytes]]:
    """(ts, OPEN/RECV/SEND/CLOSE, bytes) of one connection of a capture's fastagi.log."""
    events = []
    for row in (CAPTURES / scenario / "fastagi.log").read_text().splitlines():
        ts, conn_id, kind, payload = row.split("\t", 3)
        if conn_id != conn or kind == "NOTE":
            continue
        data = ast.literal_eval(payload) if kind in ("RECV", "SEND") else b""
        events.append((float(ts), kind, data))
    return events


class LineSocket:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""

    def readline(self) -> bytes | None:
        """One line with its newline, or None once the server closed the connection."""
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:  # closed with our bytes unread: a reset, not a FIN
                return None
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"


@dataclass
class FakeAsterisk:
    """One call's AGI session from the PBX side."""

    port: int
    env: list[bytes] = field(default_factory=asterisk_env)
    #: Digits the caller presses, in order ("" = a digit timeout).
    digits: list[str] = field(default_factory=list)
    #: The caller hangs up while this command runs (e.g. "WAIT FOR DIGIT").
    hangup_during: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    #: Called with the first command before it is answered (e.g. a barrier).
    on_first_command: Callable[[], None] | None = None
    #: Never answer commands (for reply timeouts).
    silent: bool = False
    commands: list[bytes] = field(default_factory=list)
    argv: list[list[str]] = field(default_factory=list)
    closed_by_server: bool = False
    dead: bool = False
    #: Where the PBX connects from (another loopback address: 127.0.0.2) and to.
    source: str | None = None
    host: str = "127.0.0.1"

    def run(self, timeout: float = 15.0) -> FakeAsterisk:
        source = (self.source, 0) if self.source else None
        with socket.create_connection((self.host, self.port), timeout=timeout,
                                      source_address=source) as sock:
            try:
                self._converse(sock)
            except (ConnectionResetError, BrokenPipeError):  # the server hung up on us
                pass
            self.closed_by_server = True
        return self

    def _converse(self, sock: socket.socket) -> None:
        for chunk in self.env:
            sock.sendall(chunk)
            time.sleep(0.001)
        lines = LineSocket(sock)
        pending_hangup = announced = False
        while (raw := lines.readline()) is not None:
            self.commands.append(raw)
            args = asterisk_parse_args(raw.decode().rstrip("\n"))
            self.argv.append(args)
            if len(self.commands) == 1 and self.on_first_command:
                self.on_first_command()
            if self.silent:
                continue
            if pending_hangup:  # Asterisk's HANGUP notice, after the -1 reply
                sock.sendall(b"HANGUP\n")
                pending_hangup, announced = False, True
            reply = self.answer(args)
            for part in reply if isinstance(reply, list) else [reply]:
                sock.sendall(part)
                time.sleep(0.001)
            pending_hangup = self.dead and not announced

    def answer(self, argv: list[str]) -> bytes | list[bytes]:
        verb = " ".join(argv[:3] if argv[:1] == ["WAIT"] else argv[:2]).upper()
        if self.hangup_during and verb.startswith(self.hangup_during) and not self.dead:
            self.dead = True
            return b"200 result=-1\n"
        if verb == "GET VARIABLE" and len(argv) == 3:
            value = self.variables.get(argv[2])
            return b"200 result=0\n" if value is None else f"200 result=1 ({value})\n".encode()
        if verb == "SET VARIABLE":
            if len(argv) != 4:
                return [b"520-Invalid command syntax.  Proper usage follows:\n",
                        b"Sets a variable to the current channel.\n520 End of proper usage.\n"]
            self.variables[argv[2]] = argv[3]
            return b"200 result=1\n"
        if argv[:1] == ["VERBOSE"]:
            return b"200 result=1\n"
        if argv[:1] == ["ANSWER"]:
            return (b"511 Command Not Permitted on a dead channel or intercept routine\n"
                    if self.dead else b"200 result=0\n")
        if argv[:1] == ["EXEC"]:
            return b"200 result=0\n"
        if verb in ("STREAM FILE", "WAIT FOR DIGIT"):
            if self.dead:
                return b"200 result=-1\n"
            digit = self.digits.pop(0) if self.digits else ""
            if verb == "STREAM FILE" and digit and digit not in "".join(argv[3:4]):
                digit = ""
            code = ord(digit) if digit else 0
            return (f"200 result={code} endpos=8000\n" if verb == "STREAM FILE"
                    else f"200 result={code}\n").encode()
        if verb == "GET DATA" and len(argv) == 5:
            if self.dead:
                return b"200 result=-1\n"
            typed = ""
            while len(typed) < int(argv[4]):
                digit = self.digits.pop(0) if self.digits else ""
                if digit in ("", "#"):
                    suffix = " (timeout)" if not digit else ""
                    return f"200 result={typed}{suffix}\n".encode()
                typed += digit
            return f"200 result={typed}\n".encode()
        if argv == ["HANGUP"]:
            self.dead = True
            return b"200 result=1\n"
        return b"510 Invalid or unknown command\n"

    def set_commands(self) -> list[list[str]]:
        return [a for a in self.argv if a[:2] == ["SET", "VARIABLE"]]


def run_in_threads(fakes: list[FakeAsterisk], timeout: float = 60.0) -> list[BaseException]:
    """Run every fake call at once, each in its own thread; return their errors."""
    errors: list[BaseException] = []

    def target(fake: FakeAsterisk) -> None:
        try:
            fake.run()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(f,)) for f in fakes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return errors
