"""The AMI frame reader against the real captures (counts from captures/INDEX.md)."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from captures import CAPTURES  # noqa: E402

from telephony.ami.frames import Frame, FrameReader, getlist

ASTERISK = CAPTURES.parent
CAPTURES = ASTERISK / "captures"


def index_tables() -> dict[tuple[str, str], tuple[Counter, Counter]]:
    """(scenario, file) -> (events per name, responses per kind), read from INDEX.md."""
    tables: dict[tuple[str, str], tuple[Counter, Counter]] = {}
    scenario = current = None
    for line in (ASTERISK / "INDEX.md").read_text().splitlines():
        if line.startswith("## ") and (CAPTURES / line[3:].strip()).is_dir():
            scenario = line[3:].strip()
        elif scenario and (m := re.match(r"\*\*(ami|actions)\.raw .*?\*\* - (\d+) events", line)):
            responses = Counter({k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)})
            current = (Counter(), responses, int(m.group(2)))
            tables[(scenario, f"{m.group(1)}.raw")] = current  # type: ignore[assignment]
        elif current and (m := re.match(r"\| (\w+) \| (\d+) \|", line)):
            current[0][m.group(1)] = int(m.group(2))
    for key, (events, _responses, total) in tables.items():
        assert sum(events.values()) == total, key
    return {k: (v[0], v[1]) for k, v in tables.items()}


TABLES = index_tables()


def feed_randomly(data: bytes, seed: int, max_chunk: int = 700, **kw) -> tuple[
        list[Frame], FrameReader]:
    reader = FrameReader(**kw)
    rnd = random.Random(seed)
    frames: list[Frame] = []
    pos = 0
    while pos < len(data):
        size = rnd.choice((1, 2, 3, rnd.randint(1, max_chunk), rnd.randint(1, 65536)))
        frames += reader.feed(data[pos:pos + size])
        pos += size
    frames += reader.feed_eof()
    return frames, reader


def tally(frames: list[Frame]) -> tuple[Counter, Counter]:
    events = Counter(f["Event"] for f in frames if "Event" in f)
    responses = Counter(f["Response"] for f in frames if "Event" not in f)
    return events, responses


def test_index_was_read():
    assert len(TABLES) == 12
    events, responses = TABLES[("02_ringall_10_calls", "ami.raw")]
    assert sum(events.values()) == 2020 and events["VarSet"] == 908
    assert events["AgentCalled"] == 13 and responses == Counter(Goodbye=1, Success=1)


@pytest.mark.parametrize("key", sorted(TABLES), ids="/".join)
@pytest.mark.parametrize("seed", [1, 2])
def test_capture_counts_match_index_in_random_chunks(key, seed):
    data = (CAPTURES / key[0] / key[1]).read_bytes()
    frames, reader = feed_randomly(data, seed)
    assert tally(frames) == TABLES[key]
    assert reader.banner == "Asterisk Call Manager/11.0.0"
    counters = reader.counters
    assert (counters.skipped_malformed, counters.skipped_oversized, counters.decode_errors,
            counters.truncated) == (0, 0, 0, 0)
    assert counters.frames == len(frames) and counters.bytes == len(data)


def test_whole_buffer_and_byte_by_byte_agree():
    data = (CAPTURES / "01_single_answered" / "ami.raw").read_bytes()
    whole = FrameReader().feed(data)
    one = FrameReader()
    single = [f for i in range(len(data)) for f in one.feed(data[i:i + 1])]
    assert whole == single and len(whole) == 271


def test_headers_values_and_utf8_names():
    data = (CAPTURES / "02_ringall_10_calls" / "ami.raw").read_bytes()
    frames = FrameReader().feed(data)
    assert frames[0] == {"Response": "Success", "ActionID": "rec-1",
                         "Message": "Authentication accepted"}
    called = [f for f in frames if f.get("Event") == "AgentCalled"]
    assert {f["Interface"] for f in called} >= {"Local/agent1@agents/n"}
    assert any(f.get("CallerIDName") == "张三" for f in frames)
    newchannel = next(f for f in frames if f.get("Event") == "Newchannel")
    assert newchannel["AccountCode"] == "" and newchannel["Linkedid"] == newchannel["Uniqueid"]
    assert list(newchannel)[:3] == ["Event", "Privilege", "Channel"]


def test_repeated_output_headers_are_kept_in_order():
    data = (CAPTURES / "00_protocol" / "actions.raw").read_bytes()
    frames, _ = feed_randomly(data, 5)
    show = next(f for f in frames if f.get("ActionID") == "drv-10")
    lines = getlist(show, "Output")
    assert len(lines) == 8 and lines[0].startswith("support has 0 calls")
    assert lines[1] == "   Members: " and lines[-1] == ""
    assert getlist(show, "Nope") == []


def test_bare_lf_stream_parses_like_crlf():
    data = (CAPTURES / "05_member_pause_add_remove" / "actions.raw").read_bytes()
    crlf, _ = feed_randomly(data, 3)
    lf, reader = feed_randomly(data.replace(b"\r\n", b"\n"), 3)
    assert lf == crlf and reader.banner == "Asterisk Call Manager/11.0.0"


def test_crlf_split_between_reads():
    reader = FrameReader(expect_banner=False)
    assert reader.feed(b"Event: A\r") == []
    assert reader.feed(b"\nX: 1\r\n\r") == []
    assert reader.feed(b"\n") == [{"Event": "A", "X": "1"}]
    assert reader.feed(b"Event: B\r\n\r\nEvent: C\r\n\r\n") == [{"Event": "B"}, {"Event": "C"}]


def test_garbage_lines_are_counted_and_skipped():
    reader = FrameReader()
    frames = reader.feed(
        b"Asterisk Call Manager/11.0.0\r\n"
        b"Event: Good\r\nthis line has no colon\r\nKey:NoSpace\r\nEmpty:\r\n\r\n"
        b"complete garbage\r\n\r\n\r\n\r\n"
        b"Event: Unknown2099Event\r\nFoo: bar: baz\r\n\r\n")
    assert frames == [{"Event": "Good", "Key": "NoSpace", "Empty": ""},
                      {"Event": "Unknown2099Event", "Foo": "bar: baz"}]
    assert reader.counters.skipped_malformed == 2 and reader.counters.frames == 2


def test_oversized_frame_is_skipped_and_stream_recovers():
    huge = b"Event: Huge\r\n" + b"X: " + b"y" * 200_000 + b"\r\n\r\n"
    data = b"Event: Before\r\n\r\n" + huge + b"Event: After\r\nA: 1\r\n\r\n"
    for seed in range(4):
        frames, reader = feed_randomly(data, seed, max_chunk=5000, expect_banner=False)
        assert frames == [{"Event": "Before"}, {"Event": "After", "A": "1"}]
        assert reader.counters.skipped_oversized == 1
        assert reader.buffered < 70_000
    # a complete oversized frame inside one read is dropped too
    reader = FrameReader(expect_banner=False, max_frame=100)
    assert reader.feed(b"Event: Big\r\nX: " + b"z" * 200 + b"\r\n\r\nEvent: Ok\r\n\r\n") == [
        {"Event": "Ok"}]
    assert reader.counters.skipped_oversized == 1


def test_non_utf8_is_replaced_and_counted():
    reader = FrameReader(expect_banner=False)
    frames = reader.feed(b"Event: Newchannel\r\nCallerIDName: Zh\xffng \xc3\r\n\r\n"
                         + "Event: Ok\r\nCallerIDName: 张三\r\n\r\n".encode())
    assert frames[0]["CallerIDName"] == "Zh\ufffdng \ufffd"
    assert frames[1]["CallerIDName"] == "张三"
    assert reader.counters.decode_errors == 1


def test_multibyte_character_split_between_reads():
    data = "Event: X\r\nName: 张三\r\n\r\n".encode()
    cut = data.index("张".encode()) + 1
    reader = FrameReader(expect_banner=False)
    assert reader.feed(data[:cut]) == []
    assert reader.feed(data[cut:]) == [{"Event": "X", "Name": "张三"}]
    assert reader.counters.decode_errors == 0


def test_truncated_stream_is_counted():
    data = (CAPTURES / "01_single_answered" / "ami.raw").read_bytes()
    cut = len(data) - 300
    frames, reader = feed_randomly(data[:cut], 9)
    complete = data[:cut].count(b"\r\n\r\n")
    assert len(frames) == complete and reader.counters.truncated == 1


def test_skip_events_drops_noise_but_keeps_list_replies():
    data = (CAPTURES / "00_protocol" / "actions.raw").read_bytes()
    frames, reader = feed_randomly(data, 4, skip_events=("DeviceStateChange",))
    assert sum(1 for f in frames if f.get("Event") == "DeviceStateChange") == 8  # ActionID
    ami = (CAPTURES / "02_ringall_10_calls" / "ami.raw").read_bytes()
    frames, reader = feed_randomly(ami, 4, skip_events=("VarSet", "Newexten"))
    events, _ = tally(frames)
    assert "VarSet" not in events and events["AgentCalled"] == 13
    assert reader.counters.filtered == 908 + 237


def test_reset_expects_a_new_banner():
    reader = FrameReader()
    reader.feed(b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n\r\nEvent: Half")
    reader.reset()
    assert reader.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: New\r\n\r\n") == [
        {"Event": "New"}]
    assert reader.banner == "Asterisk Call Manager/11.0.0"
