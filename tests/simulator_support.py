"""Helpers for the simulator tests: the captures as reference, a bare AMI socket client."""

from __future__ import annotations

import socket
import threading
import time
from collections import defaultdict

from captures import CAPTURES  # noqa: E402,F401

Frame = list[tuple[str, str]]


def split_frames(data: bytes) -> list[Frame]:
    """AMI bytes -> messages (list of (key, value)); the banner line is dropped."""
    frames = []
    for block in data.split(b"\r\n\r\n"):
        text = block.decode("utf-8", "surrogateescape")
        pairs = []
        for line in text.split("\r\n"):
            if line.startswith("Asterisk Call Manager/"):
                continue
            key, sep, value = line.partition(": ")
            if not sep and line.endswith(":"):
                key, sep, value = line[:-1], ":", ""
            if sep:
                pairs.append((key, value))
        if pairs:
            frames.append(pairs)
    return frames


def header(frame: Frame, name: str) -> str | None:
    return next((v for k, v in frame if k == name), None)


def captured_field_sets() -> dict[str, set[tuple[str, ...]]]:
    """Event name -> the ordered field lists Asterisk 22 sent for it (all captures)."""
    result: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for path in sorted(CAPTURES.glob("*/ami.raw")) + sorted(CAPTURES.glob("*/actions.raw")):
        for frame in split_frames(path.read_bytes()):
            if frame[0][0] == "Event":
                result[frame[0][1]].add(tuple(k for k, _ in frame[1:]))
    return dict(result)


def captured_agi_env_keys() -> list[str]:
    """agi_* keys, in order, of the first environment in a captured fastagi.log."""
    for path in sorted(CAPTURES.glob("*/fastagi.log")):
        env = b""
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 4 and parts[2] == "RECV":
                env += eval(parts[3], {"__builtins__": {}})  # noqa: S307 - repr() of bytes
                if env.endswith(b"\n\n"):
                    return [ln.split(":", 1)[0] for ln in env.decode().splitlines() if ln]
    raise AssertionError("no AGI environment in the captures")


class AmiClient:
    """A plain blocking socket speaking AMI: what a test can check byte for byte."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=5)
        self.raw = b""
        self._buffer = b""
        self.banner = self._read_until(b"\r\n").decode()

    def _read_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {marker!r} within {timeout}s")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by server")
            self.raw += chunk
            self._buffer += chunk
        index = self._buffer.index(marker) + len(marker)
        data, self._buffer = self._buffer[:index], self._buffer[index:]
        return data

    def send(self, **headers: str) -> None:
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.sock.sendall((lines + "\r\n").encode())

    def frame(self, timeout: float = 5.0) -> Frame:
        return split_frames(self._read_until(b"\r\n\r\n", timeout))[0]

    def response(self, action_id: str, timeout: float = 5.0) -> Frame:
        """The next Response with this ActionID (events before it are kept in .seen)."""
        while True:
            frame = self.frame(timeout)
            if frame[0][0] == "Response" and header(frame, "ActionID") == action_id:
                return frame

    def login(self, secret: str = "bridgesecret", events: str = "on") -> Frame:  # noqa: S107
        self.send(Action="Login", ActionID="login-1", Username="bridge", Secret=secret,
                  Events=events)
        return self.frame()

    def collect(self, seconds: float) -> list[Frame]:
        """Every frame arriving within ``seconds``."""
        frames = []
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return frames
            try:
                frames.append(self.frame(remaining))
            except TimeoutError:
                return frames

    def is_closed(self, timeout: float = 2.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionError, OSError):
            return True

    def close(self) -> None:
        self.sock.close()


AGI_COMMANDS = [b"GET VARIABLE CALLERID(num)\n", b"SET VARIABLE CUSTOMER_ID 42\n",
                b'SET VARIABLE GREETING "hello world"\n', b"SET VARIABLE\n", b"FOO BAR\n"]


class FastAgiRecorder:
    """A minimal FastAGI server: records each environment and the replies it gets."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sessions: list[tuple[bytes, list[bytes]]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as stream:
            env = b""
            while not env.endswith(b"\n\n"):
                line = stream.readline()
                if not line:
                    return
                env += line
            replies = []
            for command in AGI_COMMANDS:
                conn.sendall(command)
                reply = stream.readline()
                if reply.startswith(b"520-"):
                    reply += stream.readline() + stream.readline()
                replies.append(reply)
            with self.lock:
                self.sessions.append((env, replies))

    def close(self) -> None:
        self.sock.close()


def originate_inbound(port: int, caller_id: str) -> None:
    """One inbound call, the way the captures' driver made them (Originate of
    Local/s@inbound running Wait), on a connection of its own."""
    client = AmiClient(port)
    try:
        assert client.login(events="off")[0] == ("Response", "Success")
        client.send(Action="Originate", ActionID="call-1", Channel="Local/s@inbound",
                    Application="Wait", Data="120", CallerID=caller_id, Async="true")
        assert header(client.response("call-1"), "Message") == "Originate successfully queued"
        client.send(Action="Logoff", ActionID="bye")
        client.response("bye")
    finally:
        client.close()
