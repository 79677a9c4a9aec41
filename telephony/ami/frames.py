"""Incremental reader for Asterisk Manager Interface (AMI) frames.

AMI is a line protocol: ``Key: value`` lines ended by CRLF, messages ("frames") separated
by an empty line, and a banner line (``Asterisk Call Manager/11.0.0``) without a blank line
after it when the connection opens. :class:`FrameReader` takes bytes exactly as ``recv``
returns them (any split, mid-line or between CR and LF) and returns complete frames.

A frame is a plain ``dict[str, str]`` in header order. A header that repeats (``Output:``
of ``Command``, ``ChanVariable``, ``Variable``) keeps every value, joined by ``\\n`` (a value
can never contain a line break, so this is lossless); :func:`getlist` splits it again.

Bad input is counted and skipped, never fatal: a line without ``:`` (``skipped_malformed``),
a frame longer than ``max_frame`` bytes (``skipped_oversized``; the reader discards up to
the next blank line), bytes that are not UTF-8 (decoded with U+FFFD, ``decode_errors``),
an unfinished frame at end of stream (``truncated``). Streams with bare LF line ends are
recognised from their first line end and normalised.

Speed is the point of the design (the bridge must ingest far more than the ~7,000 events/s
a saturated PBX produced here): complete frames are cut out of the buffer in one
``rfind``, decoded in one call and split with ``str.split``; a frame is built with one
``dict()`` call and only falls to the slow per-line path when something is unusual.
``skip_events`` lets a consumer drop noisy events (VarSet, Newexten, ...) before they are
parsed at all.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass

Frame = dict[str, str]

CRLF = b"\r\n"
SEPARATOR = b"\r\n\r\n"
DEFAULT_MAX_FRAME = 64 * 1024
BANNER_PREFIX = "Asterisk Call Manager/"


def getlist(frame: Frame, key: str) -> list[str]:
    """All values of a header that may repeat (``Output``, ``ChanVariable``, ...)."""
    value = frame.get(key)
    return [] if value is None else value.split("\n")


@dataclass
class FrameCounters:
    """What the reader saw; exposed so the bridge can log and export it."""

    frames: int = 0
    skipped_malformed: int = 0
    skipped_oversized: int = 0
    decode_errors: int = 0
    truncated: int = 0
    filtered: int = 0
    bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class FrameReader:
    """Feed bytes, get frames. One reader per connection (or call :meth:`reset`)."""

    def __init__(
        self,
        *,
        max_frame: int = DEFAULT_MAX_FRAME,
        skip_events: Collection[str] = (),
        expect_banner: bool = True,
    ) -> None:
        self.max_frame = max_frame
        # Prefixes, so the check is one startswith() on the raw frame text.
        self._skip_prefixes = tuple(f"Event: {name}\r\n" for name in skip_events)
        self._expect_banner_default = expect_banner
        self.counters = FrameCounters()
        self.reset()

    def reset(self) -> None:
        """Forget buffered bytes and line-end mode (a new connection); counters stay."""
        self._buf = b""
        self._held_cr = False
        self._discarding = False
        self._lf_mode: bool | None = None  # None: not known until the first line end
        self._need_banner = self._expect_banner_default
        self.banner: str | None = None

    # -- bytes in -------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> list[Frame]:
        """Add bytes from the socket; return the frames they complete (possibly none)."""
        counters = self.counters
        counters.bytes += len(chunk)
        if self._lf_mode is not False:
            chunk = self._line_ends(chunk)
            if not chunk:
                return []
        elif self._held_cr or chunk[-1:] == b"\r":
            chunk = self._hold_cr(chunk)
        if self._discarding:
            chunk = self._discard(chunk)
            if not chunk:
                return []
        buf = self._buf + chunk if self._buf else chunk
        if self._need_banner:
            buf = self._take_banner(buf)
        end = buf.rfind(SEPARATOR)
        if end < 0:
            self._buf = buf
            if len(buf) > self.max_frame:
                self._start_discard()
            return []
        self._buf = buf[end + 4 :]
        if len(self._buf) > self.max_frame:
            self._start_discard()
        try:
            parts = buf[:end].decode("utf-8").split("\r\n\r\n")
        except UnicodeDecodeError:
            parts = self._decode_each(buf[:end])
        out: list[Frame] = []
        append = out.append
        skip = self._skip_prefixes
        limit = self.max_frame
        for text in parts:
            if len(text) > limit:
                counters.skipped_oversized += 1
                continue
            if skip and text.startswith(skip) and "\r\nActionID: " not in text:
                counters.filtered += 1
                continue
            lines = text.split("\r\n")
            try:
                frame = dict([line.split(": ", 1) for line in lines])
            except ValueError:
                frame = self._parse_slow(lines)
            else:
                if len(frame) != len(lines):
                    frame = self._parse_slow(lines)
            if frame:
                append(frame)
        counters.frames += len(out)
        return out

    def feed_eof(self) -> list[Frame]:
        """The peer closed: an unfinished frame is counted as truncated and dropped."""
        if self._held_cr:
            self._buf += b"\r"
            self._held_cr = False
        leftover = self._buf.strip(b"\r\n")
        if leftover and not self._discarding:
            self.counters.truncated += 1
        self._buf = b""
        self._discarding = False
        return []

    # -- helpers --------------------------------------------------------------------------
    def _hold_cr(self, chunk: bytes) -> bytes:
        # A CRLF split across two reads would otherwise look like CR + bare LF.
        if self._held_cr:
            chunk = b"\r" + chunk
            self._held_cr = False
        if chunk[-1:] == b"\r":
            self._held_cr = True
            chunk = chunk[:-1]
        return chunk

    def _line_ends(self, chunk: bytes) -> bytes:
        chunk = self._hold_cr(chunk)
        if self._lf_mode is None:
            seen = self._buf + chunk
            first = seen.find(b"\n")
            if first < 0:
                return chunk
            self._lf_mode = first == 0 or seen[first - 1 : first] != b"\r"
            if self._lf_mode and self._buf:
                self._buf = self._buf.replace(b"\r\n", b"\n").replace(b"\n", CRLF)
        if self._lf_mode:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\n", CRLF)
        return chunk

    def _take_banner(self, buf: bytes) -> bytes:
        newline = buf.find(CRLF)
        if newline < 0:
            return buf
        self._need_banner = False
        first = buf[:newline]
        if first and b":" not in first:
            self.banner = first.decode("utf-8", "replace")
            return buf[newline + 2 :]
        return buf

    def _start_discard(self) -> None:
        # Keep the last bytes: the blank line that ends this frame may be split across reads.
        self.counters.skipped_oversized += 1
        self._discarding = True
        self._buf = self._buf[-3:]

    def _discard(self, chunk: bytes) -> bytes:
        """Drop bytes up to the next blank line; keep a tail in case it is split."""
        data = self._buf + chunk
        end = data.find(SEPARATOR)
        if end < 0:
            self._buf = data[-3:]
            return b""
        self._discarding = False
        self._buf = b""
        return data[end + 4 :]

    def _decode_each(self, block: bytes) -> list[str]:
        parts = []
        for raw in block.split(SEPARATOR):
            try:
                parts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                self.counters.decode_errors += 1
                parts.append(raw.decode("utf-8", "replace"))
        return parts

    def _parse_slow(self, lines: list[str]) -> Frame:
        """Repeated headers, ``Key:value`` without a space, junk lines, empty lines."""
        frame: Frame = {}
        follows = bool(lines) and lines[0].replace(" ", "") == "Response:Follows"
        for line in lines:
            if not line:
                continue
            key, sep, value = line.partition(":")
            key = key.strip()
            if not sep or not key:
                if follows and line != "--END COMMAND--":
                    # Pre-13 ``Command`` output: raw lines until the end marker.
                    key, value = "Output", line
                else:
                    self.counters.skipped_malformed += 1
                    continue
            elif value[:1] == " ":
                value = value[1:]
            value = value.rstrip("\r")
            if key in frame:
                frame[key] = f"{frame[key]}\n{value}"
            else:
                frame[key] = value
        return frame

    # -- for tests and the benchmark ------------------------------------------------------
    @property
    def buffered(self) -> int:
        """Bytes waiting for the rest of their frame."""
        return len(self._buf)
