"""Unit tests for the incremental SSE decoder (streamcli/sse.py).

The corpus cases in tests/fixtures/sse/ (provenance: tests/fixtures/SOURCES.md and
tests/fixtures/sse/MANIFEST.json) expect the events a WHATWG "event stream interpretation"
parser produces. Where the official SDK decoders (openai-python, anthropic-sdk-python,
httpx-sse) produce something else (recorded in tests/fixtures/sse/SDK_DECODER_DIVERGENCES.txt
and in the manifest's `divergence` entries), the spec wins and these tests expect the spec.

Every case is decoded whole, one byte per read, split in two at every position, with the
read sizes of the original test (NAME.chunks.json) when there are any, and at seeded random
multi-way splits: how the body is cut into reads must never change the result.
"""

from __future__ import annotations

import json
import random

import pytest

from streamcli.sse import MAX_EVENT_BYTES, SSEDecoder, SSEError, SSEEvent
from tests.helpers.paths import FIXTURES
from tests.helpers.sse import bytewise, split_at

SSE_DIR = FIXTURES / "sse"
CASES = sorted(p.name[: -len(".sse")] for p in SSE_DIR.glob("*.sse"))
MANIFEST = {entry["name"]: entry for entry in json.loads((SSE_DIR / "MANIFEST.json").read_text())}
CHUNKED_CASES = [name for name in CASES if (SSE_DIR / f"{name}.chunks.json").exists()]

# Above this size a case is split in two at a sample of positions instead of at every one
# (only sseclient-huge-line, 10,008 bytes: all positions in its first and last 512 bytes,
# where the line ends and field names are, plus every 61st position in between).
EVERY_POSITION_LIMIT = 8192

MiB = 2**20


def load(name: str) -> tuple[bytes, list[SSEEvent]]:
    body = (SSE_DIR / f"{name}.sse").read_bytes()
    expected = json.loads((SSE_DIR / f"{name}.expected.json").read_text(encoding="utf-8"))
    return body, [SSEEvent(e["event"], e["data"], e["id"]) for e in expected]


def expected_retry(name: str) -> int | None:
    """The reconnection time the case leaves behind (cases without a valid `retry:` have none)."""
    return MANIFEST[name].get("retry_ms")


def decode(reads) -> tuple[list[SSEEvent], SSEDecoder]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for read in reads:
        got = decoder.feed(read)
        assert isinstance(got, list)
        events.extend(got)
    events.extend(decoder.finish())
    assert all(type(event) is SSEEvent for event in events)
    return events, decoder


def two_way_positions(body: bytes) -> list[int]:
    n = len(body)
    if n <= EVERY_POSITION_LIMIT:
        return list(range(n + 1))
    return sorted({*range(513), *range(n - 512, n + 1), *range(0, n + 1, 61)})


def check(name: str, reads: list[bytes], how: str) -> None:
    body, expected = load(name)
    assert b"".join(reads) == body  # the reads really are the case's body
    events, decoder = decode(reads)
    assert events == expected, how
    assert decoder.retry == expected_retry(name), how


# --- the corpus -------------------------------------------------------------------------


def test_corpus_is_complete():
    assert len(CASES) >= 70  # the copied corpus has 73 cases; an empty glob must not pass
    assert set(CASES) == set(MANIFEST)
    for name in CASES:
        body, expected = load(name)
        assert MANIFEST[name]["bytes"] == len(body), name
        assert MANIFEST[name]["events"] == len(expected), name
    for name in CHUNKED_CASES:
        sizes = json.loads((SSE_DIR / f"{name}.chunks.json").read_text())
        assert sum(sizes) == len(SSE_DIR.joinpath(f"{name}.sse").read_bytes()), name


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_case_whole(name):
    body, _ = load(name)
    check(name, [body], "whole")


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_case_one_byte_per_read(name):
    body, _ = load(name)
    check(name, bytewise(body), "one byte per read")


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_case_two_reads_at_every_position(name):
    body, _ = load(name)
    for i in two_way_positions(body):
        check(name, [body[:i], body[i:]], f"split at {i}")


@pytest.mark.parametrize("name", CHUNKED_CASES, ids=CHUNKED_CASES)
def test_case_original_chunks(name):
    body, _ = load(name)
    sizes = json.loads((SSE_DIR / f"{name}.chunks.json").read_text())
    reads = split_at(body, [sum(sizes[:k]) for k in range(1, len(sizes))])
    check(name, reads, f"reads of {sizes}")
    # Where the manifest says after which read the events must come out, check that too:
    # an event is returned by the read that completes it, not held back until a later one.
    after = MANIFEST[name].get("dispatch_after_read")
    if after is not None:
        decoder = SSEDecoder()
        per_read = [decoder.feed(read) for read in reads]
        assert [k for k, got in enumerate(per_read) if got] == after


@pytest.mark.parametrize("seed", range(3), ids=lambda seed: f"seed{seed}")
@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_case_random_multiway_split(name, seed):
    body, _ = load(name)
    rng = random.Random(f"{name}/{seed}")
    # Cut points drawn with replacement, so some reads are empty (b"" must be harmless too).
    count = rng.randint(2, max(2, min(len(body), 40)))
    cuts = sorted(rng.randint(0, len(body)) for _ in range(count))
    check(name, split_at(body, cuts), f"cuts {cuts}")


# --- line ends ---------------------------------------------------------------------------


def test_cr_then_lf_in_next_read_is_one_line_end():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # Were the LF a second line end, the empty line would dispatch "a" on its own here.
    assert decoder.feed(b"\ndata: b\r\n\r\n") == [SSEEvent("message", "a\nb", "")]
    assert not decoder.pending


def test_cr_lf_split_survives_empty_reads_in_between():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"data: b\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\r\n") == [SSEEvent("message", "a\nb", "")]
    assert decoder.feed(b"data: c\n\n") == [SSEEvent("message", "c", "")]


def test_lone_cr_is_a_line_end():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\rdata: b\r\rdata: c\r\r") == [
        SSEEvent("message", "a\nb", ""),
        SSEEvent("message", "c", ""),
    ]


def test_cr_cr_dispatches_without_waiting_for_the_next_read():
    decoder = SSEDecoder()
    # The read ends in CR: a possible LF in the next read must not delay this event.
    assert decoder.feed(b"data: a\r\r") == [SSEEvent("message", "a", "")]
    assert not decoder.pending
    # ...and that LF, when it comes, is the end of the same (blank) line, not another one.
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: b\n\n") == [SSEEvent("message", "b", "")]


def test_event_is_returned_by_the_read_that_completes_it():
    decoder = SSEDecoder()
    assert decoder.feed(b"event: e\nid: 1\ndata: a\n") == []
    assert decoder.feed(b"\n") == [SSEEvent("e", "a", "1")]
    assert decoder.feed(b"data: b\n\ndata: c") == [SSEEvent("message", "b", "1")]
    assert decoder.feed(b"\n\n") == [SSEEvent("message", "c", "1")]


def test_unicode_line_separators_are_not_line_ends():
    # bytes.splitlines() splits on CR/LF only; str.splitlines() would also split these.
    body = "data: a\u2028b\u2029c\x85d\x0be\x0cf\x1cg\n\n".encode()
    assert decode([body])[0] == [SSEEvent("message", "a\u2028b\u2029c\x85d\x0be\x0cf\x1cg", "")]


# --- BOM ---------------------------------------------------------------------------------


def test_leading_bom_split_across_reads_is_stripped():
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb") == []
    assert decoder.feed(b"\xbfdata: x\n\n") == [SSEEvent("message", "x", "")]


def test_leading_bom_alone_in_first_read_is_stripped():
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\xef\xbb\xbf") == []
    assert decoder.feed(b"data: x\n\n") == [SSEEvent("message", "x", "")]


def test_bom_not_at_stream_start_is_not_stripped():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n") == [SSEEvent("message", "a", "")]
    # The field name is now "\ufeffdata", an unknown field: nothing is dispatched.
    assert decoder.feed(b"\xef\xbb\xbfdata: b\n\n") == []
    assert decode([b"\n\xef\xbb\xbfdata: b\n\n"])[0] == []
    assert decode([b"data: \xef\xbb\xbfb\n\n"])[0] == [SSEEvent("message", "\ufeffb", "")]


def test_only_one_leading_bom_is_stripped():
    assert decode([b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n"])[0] == [
        SSEEvent("message", "y", "")
    ]


def test_bytes_held_back_as_a_possible_bom_are_not_lost():
    # b"\xef" could start a BOM; when the next read shows it does not, it belongs to the line.
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"data: x\n\n") == []  # field name "\ufffddata": unknown
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef\xbb") == []
    assert decoder.feed(b"\n") == []  # a line "\ufffd" (no colon): an unknown field
    assert decoder.feed(b"data: x\n\n") == [SSEEvent("message", "x", "")]


# --- UTF-8 -------------------------------------------------------------------------------


def test_invalid_utf8_becomes_replacement_character():
    decoder = SSEDecoder()
    events = decoder.feed(b"event: e\xff\nid: i\xc3\ndata: a\xffb\xc3\n\n")
    assert events == [SSEEvent("e\ufffd", "a\ufffdb\ufffd", "i\ufffd")]


def test_truncated_utf8_sequence_at_dispatch_becomes_one_replacement_character():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: \xe2\x82") == []
    assert decoder.feed(b"\n\n") == [SSEEvent("message", "\ufffd", "")]


def test_four_byte_character_split_at_every_position():
    emoji = "\U0001F600"  # 4 bytes in UTF-8
    body = b"data: <" + emoji.encode() + b">\n\n"
    start = len(b"data: <")
    for i in range(start, start + 5):
        for j in range(i, start + 5):
            events, _ = decode([body[:i], body[i:j], body[j:]])
            assert events == [SSEEvent("message", f"<{emoji}>", "")], (i, j)
    # ...and each of its bytes in a read of its own.
    reads = [body[:start], *(bytes([b]) for b in emoji.encode()), body[start + 4 :]]
    assert decode(reads)[0] == [SSEEvent("message", f"<{emoji}>", "")]


# --- size limit --------------------------------------------------------------------------


def test_event_of_16_mib_plus_one_is_dispatched_whole():
    size = 16 * MiB + 1
    assert MAX_EVENT_BYTES > size
    body = b"data: " + b"x" * size + b"\n\n"
    decoder = SSEDecoder()
    events = []
    for offset in range(0, len(body), 64 * 1024):
        events.extend(decoder.feed(body[offset : offset + 64 * 1024]))
    assert len(events) == 1
    assert len(events[0].data) == size
    assert events[0].data == "x" * size
    assert not decoder.pending


def test_single_line_event_above_max_event_bytes_raises():
    chunk = b"x" * MiB
    decoder = SSEDecoder()
    decoder.feed(b"data: ")
    reads = 0
    with pytest.raises(SSEError):
        while reads <= MAX_EVENT_BYTES // MiB + 1:
            reads += 1
            decoder.feed(chunk)
    # It raised at the read that took the line (b"data: " + reads MiB) over the limit.
    assert (reads - 1) * MiB <= MAX_EVENT_BYTES < reads * MiB + len(b"data: ")


def test_many_line_event_above_max_event_bytes_raises():
    line = b"data: " + b"x" * (MiB - 1) + b"\n"  # each line adds 1 MiB (data + LF joiner)
    decoder = SSEDecoder()
    reads = 0
    with pytest.raises(SSEError):
        while reads <= MAX_EVENT_BYTES // MiB + 1:
            reads += 1
            decoder.feed(line)
    assert reads * MiB > MAX_EVENT_BYTES
    assert (reads - 1) * MiB <= MAX_EVENT_BYTES


def test_limit_is_per_event_not_per_stream():
    event = b"data: " + b"x" * (MiB - 1) + b"\n\n"
    decoder = SSEDecoder()
    count = 0
    for _ in range(MAX_EVENT_BYTES // MiB + 4):
        count += len(decoder.feed(event))
    assert count == MAX_EVENT_BYTES // MiB + 4


# --- fields, state -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [b"12a", b"-5", b"+5", b"1.5", b"1e3", b" 100", b"", b"\xd9\xa3", b"\xef\xbc\x91", b"0x10"],
    ids=repr,
)
def test_retry_with_non_digits_is_ignored(value):
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 1000\n\n") == []
    assert decoder.retry == 1000
    decoder.feed(b"retry: " + value + b"\ndata: x\n\n")
    assert decoder.retry == 1000


def test_retry_digits_are_taken():
    decoder = SSEDecoder()
    assert decoder.retry is None
    decoder.feed(b"retry:0\n")
    assert decoder.retry == 0
    decoder.feed(b"retry: 0042\n")
    assert decoder.retry == 42
    decoder.feed(b"retry: 123456789012\n\n")
    assert decoder.retry == 123456789012


def test_pending():
    decoder = SSEDecoder()
    assert not decoder.pending
    decoder.feed(b"data: a")  # unterminated line
    assert decoder.pending
    decoder.feed(b"\n")  # terminated line, but the block is not
    assert decoder.pending
    assert decoder.feed(b"\n") == [SSEEvent("message", "a", "")]
    assert not decoder.pending
    decoder.feed(b"data: b\r\ndata: c\r\n")
    assert decoder.pending
    assert decoder.feed(b"\r\n") == [SSEEvent("message", "b\nc", "")]
    assert not decoder.pending
    decoder.feed(b"data: d\n")
    assert decoder.pending
    assert decoder.finish() == []  # an unterminated final block is dropped


def test_finish_drops_unterminated_final_block():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: b\n") == [SSEEvent("message", "a", "")]
    assert decoder.finish() == []
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a") == []
    assert decoder.finish() == []


def test_many_one_byte_reads_of_one_long_line():
    # 200,000 one-byte reads of a single data line: must complete (and stay linear; a
    # decoder that re-joins or re-scans its partial line on each read would take minutes).
    n = 200_000
    body = b"data: " + b"y" * (n - len(b"data: \n\n")) + b"\n\n"
    assert len(body) == n
    decoder = SSEDecoder()
    events = []
    for i in range(n):
        events.extend(decoder.feed(body[i : i + 1]))
    assert events == [SSEEvent("message", "y" * (n - 8), "")]
    assert not decoder.pending
