"""The shortcuts of streamcli.fastpath against the general path they stand in for.

Every recorded stream (and a set of awkward constructed ones) goes through the pump one
event per read and the whole stream in one read, with the shortcuts on and off, in every
output mode; stdout must be identical byte for byte, and so must the outcome. A spy
proves that the shortcuts really ran, so switching them off, or removing one of their
guards, fails here.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys

import pytest

from streamcli import fastpath, providers
from streamcli.errors import StreamcliError
from streamcli.pump import Progress, pump
from streamcli.sinks import make_sink
from streamcli.sse import SSEDecoder
from streamcli.ui import Stderr
from tests.helpers.paths import FIXTURE_DIRS, FIXTURES
from tests.helpers.sse import (anthropic_sse, before_data_lines, lines, openai_sse, per_event,
                               random_sizes)

# Every protocol's recordings: the Responses API has no shortcut (fastpath.shortcuts gives
# it none), so its streams check that the general path is the same in every framing.
RECORDED = sorted((kind, p) for kind in providers.KINDS
                  for p in (FIXTURES / FIXTURE_DIRS[kind]).glob("*.sse"))

# Text that a shortcut must decline (escapes, control characters, lone surrogates as
# escapes, quotes) beside text it may take, in one stream, so both paths interleave.
AWKWARD_TEXTS = ["plain", ' "quoted" ', "back\\slash", "new\nline", "tab\there", "\x00nul",
                 "\x1b[2Jesc", "é", "日本語", "😀", "\u2028sep", "", "trailing ", "<HI>",
                 "<LO>", "end."]


def with_surrogates(body: bytes) -> bytes:
    """<HI> and <LO> become the JSON escapes of a surrogate pair's halves (the builders
    cannot write lone surrogates themselves)."""
    return body.replace(b"<HI>", b"\\ud83d").replace(b"<LO>", b"\\ude00")


def constructed() -> list[tuple[str, str, bytes]]:
    cases = [
        ("anthropic", "awkward", with_surrogates(b"".join(anthropic_sse(AWKWARD_TEXTS)))),
        ("openai", "awkward", with_surrogates(b"".join(openai_sse(AWKWARD_TEXTS)))),
        ("anthropic", "thinking", b"".join(anthropic_sse(["a", "b"], thinking=["x", "y"]))),
    ]
    # Non-compact JSON (spaces after separators) must take the general path and agree.
    spaced = b"".join(anthropic_sse(["one", "two"])).replace(b'","text":"', b'", "text": "')
    cases.append(("anthropic", "spaced", spaced))
    # An openai stream whose chunks change id midway (a proxy joining two responses).
    first = openai_sse(["a", "b", "c"], done=False, usage=False)
    second = openai_sse(["d", "e"], chunk_id="chatcmpl-other")
    cases.append(("openai", "two-ids", b"".join(first[:-1] + second[1:])))
    # An id: field before text: the decoder's last event id persists; one_event keeps it.
    cases.append(("anthropic", "with-id", b"id: 7\n" + b"".join(anthropic_sse(["x", "y"]))))
    # A lone high surrogate, then plain text: the held half must come out first.
    cases.append(("anthropic", "held-then-plain",
                  with_surrogates(b"".join(anthropic_sse(["a", "<HI>", "plain", "b"])))))
    cases.append(("openai", "held-then-plain",
                  with_surrogates(b"".join(openai_sse(["a", "<HI>", "plain", "b"])))))
    # vLLM's continuous usage stats: every text chunk also carries usage (never plain).
    body = b"".join(openai_sse(["one", "two"])).replace(
        b'"finish_reason":null}]}', b'"finish_reason":null}],"usage":{"prompt_tokens":3,'
        b'"completion_tokens":1,"total_tokens":4}}')
    cases.append(("openai", "usage-in-every-chunk", body))
    # Continuous usage stats that start midway: plain chunks first (the head is learned),
    # then text chunks that also carry usage, and no final usage chunk.
    parts = openai_sse(["a", "b", "c", "d"], usage=False)
    parts[3:5] = [p.replace(b'"finish_reason":null}]}', b'"finish_reason":null}],"usage":'
                            b'{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}')
                  for p in parts[3:5]]
    cases.append(("openai", "usage-from-midway", b"".join(parts)))
    # A gateway that puts the type only in the event name.
    parts = anthropic_sse(["a"])
    parts[-1] = b"event: message_stop\ndata: {}\n\n"
    cases.append(("anthropic", "type-in-event-name", b"".join(parts)))
    # A CR inside the chunk the head would be learned from: the decoder ends the line
    # there, so the bytes after it are another field, not part of the data.
    parts = openai_sse(["a", "b", "c"])
    parts[1] = parts[1].replace(b'"choices"', b'"k":1}\r"choices"', 1)
    cases.append(("openai", "cr-in-learning-chunk", b"".join(parts[:2]) + b"".join(
        p.replace(b'"choices"', b'"k":1}\r"choices"', 1) for p in parts[2:4]) + parts[-1]))
    # A key after the text in a delta: the text ends at its own quote, not at the end.
    parts = anthropic_sse(["a", "extra", "b"])
    parts = [p.replace(b'"text":"extra"}}', b'"text":"extra","x":"y"}}') for p in parts]
    cases.append(("anthropic", "key-after-text", b"".join(parts)))
    # A raw control character inside a string is not JSON: malformed, never text.
    for kind, build in (("anthropic", anthropic_sse), ("openai", openai_sse)):
        body = b"".join(build(["a", "CTRL", "b"])).replace(b"CTRL", b"x\x01y")
        cases.append((kind, "raw-control-char", body))
    # A plain content chunk sent as an `error` event is an error, not text.
    parts = openai_sse(["a", "b", "c"])
    parts[3] = b"event: error\n" + parts[3]
    cases.append(("openai", "error-named-chunk", b"".join(parts)))
    # Keep-alive comments that look like chunks: never data, never text.
    parts = openai_sse(["a", "b"])
    fake = b": " + parts[1][6:]
    cases.append(("openai", "comment-lookalike", b"".join([parts[0], fake, fake, *parts[1:]])))
    # A data line split by a lone CR: two data lines to the decoder, one JSON object.
    parts = anthropic_sse(["x", "cr", "y"])
    split = [p.replace(b'{"type":"content_block_delta",', b'{"type":"content_block_delta",\rdata: ')
             if b'"cr"' in p else p for p in parts]
    cases.append(("anthropic", "cr-split-data", b"".join(split)))
    # A duplicate "type" key (the last one wins in JSON): not a text delta at all.
    dup = [p.replace(b'"index":1,"delta"', b'"index":1,"type":"x","delta"')
           if b'"dup"' in p else p for p in anthropic_sse(["a", "dup", "b"], thinking=["t"])]
    cases.append(("anthropic", "duplicate-type", b"".join(dup)))
    # An index that is no JSON number: leading zeros, or digits that are not ASCII (which
    # str.isdigit takes). The general path ends the stream as malformed; so must the
    # shortcuts, which once took the text.
    for name, index in (("index-leading-zero", "00"), ("index-arabic-digit", "\u0660"),
                        ("index-superscript", "\u00b2")):
        body = b"".join(anthropic_sse(["a", "mid", "b"])).decode().replace(
            '"index":0,"delta":{"type":"text_delta","text":"mid"',
            f'"index":{index},"delta":{{"type":"text_delta","text":"mid"', 1).encode()
        cases.append(("anthropic", name, body))
    # A stray `error:` field (old llama.cpp) whose value looks like a text event: the
    # mappers never parse it, so no shortcut may take it, or learn a head from it (a
    # stream without a role chunk then never started the mapper: a `start` of nulls).
    parts = anthropic_sse(["a", "b"])
    delta = next(p for p in parts if b'"text":"b"' in p)
    stray = b"error: " + delta.split(b"data: ", 1)[1]
    cases.append(("anthropic", "stray-error-lookalike", b"".join([*parts[:3], stray, *parts[3:]])))
    parts = openai_sse(["hello", "big", "world"])[1:]  # no role chunk
    stray = b"error: " + parts[0][6:]
    cases.append(("openai", "stray-error-first", b"".join([stray, *parts])))
    cases.append(("openai", "stray-error-lookalike", b"".join([*parts[:2], stray, *parts[2:]])))
    return cases


CASES = [(kind, path.stem, path.read_bytes()) for kind, path in RECORDED] + constructed()
IDS = [f"{kind}-{name}" for kind, name, _ in CASES]


class SpySink:
    """Counts the shortcut's writes, passing everything on."""

    def __init__(self, sink) -> None:
        self.sink = sink
        self.plain = 0

    def __getattr__(self, name):
        return getattr(self.sink, name)

    def write_plain_text(self, data: bytes) -> None:
        self.plain += 1
        self.sink.write_plain_text(data)


class Counted:
    """An event-level shortcut that counts the events it took."""

    def __init__(self, shortcut) -> None:
        self.shortcut = shortcut
        self.taken = 0

    def __call__(self, ev):
        text = self.shortcut(ev)
        self.taken += text is not None
        return text


def run(kind: str, reads: list[bytes], mode: str, shortcuts: bool):
    """stdout, the error, the mapper's end state, and how many reads and events the
    read-level and event-level shortcuts took."""
    out = io.BytesIO()
    spy = SpySink(make_sink(mode, out, Stderr(io.StringIO()), show_thinking=True))
    mapper = providers.load(kind).StreamMapper()
    read_text, event_text = fastpath.shortcuts(kind)
    counted = Counted(event_text) if event_text is not None else None
    real = fastpath.shortcuts
    fastpath.shortcuts = lambda protocol: (read_text, counted)
    try:
        pump(iter(reads), mapper, spy, Progress(), idle_timeout=1e9, raw_mode=mode == "raw",
             protocol=kind, shortcuts=shortcuts)
        error = None
    except StreamcliError as exc:
        error = (type(exc).__name__, exc.message)
    finally:
        fastpath.shortcuts = real
    state = (mapper.id, mapper.model, mapper.stop_raw, mapper.usage(), mapper.complete)
    return out.getvalue(), error, state, spy.plain, counted.taken if counted else 0


def framings(body: bytes) -> dict[str, list[bytes]]:
    return {"per-event": per_event(body), "whole": [body], "lines": lines(body),
            "before-data": before_data_lines(body), "random": random_sizes(body, len(body))}


@pytest.mark.parametrize("mode", ["text", "jsonl", "raw", "json"])
@pytest.mark.parametrize("kind,name,body", CASES, ids=IDS)
def test_shortcuts_give_the_general_paths_bytes(kind, name, body, mode):
    """Same framing, shortcuts on and off: the same bytes. And, but for --raw-sse (which
    copies each read as it comes, so a stream that fails midway shows where the reads
    ended), the same bytes whatever the framing."""
    reference = run(kind, per_event(body), mode, shortcuts=False)
    assert reference[3:] == (0, 0)
    for framing, reads in framings(body).items():
        general = run(kind, reads, mode, shortcuts=False)
        fast = run(kind, reads, mode, shortcuts=True)
        assert fast[:3] == general[:3], framing
        if mode != "raw":
            assert general[:3] == reference[:3], framing


def test_the_shortcuts_do_run_on_the_recorded_streams():
    """Without this, the comparison above could pass with the shortcuts switched off."""
    reads, events = {}, {}
    for kind, name, body in CASES:
        reads[f"{kind}-{name}"] = run(kind, per_event(body), "text", shortcuts=True)[3]
        events[f"{kind}-{name}"] = run(kind, [body], "text", shortcuts=True)[4]
    for used in (reads, events):
        assert used["anthropic-sdk_basic_response"] > 0
        assert used["openai-chat_text_basic"] > 0
        assert used["anthropic-awkward"] > 0 and used["openai-awkward"] > 0
        assert used["anthropic-spaced"] == 0  # spaced JSON never matches the pattern
        assert used["openai-responses-text_basic"] == 0  # no shortcut for this protocol


@pytest.mark.parametrize("mode", ["text", "jsonl"])
def test_reads_of_two_events_each_give_the_general_paths_bytes(mode):
    """A reasoning chunk and a content chunk in every read: the text shortcut must not
    learn a head that swallows the reasoning event."""
    parts = openai_sse(["a", "b", "c"])
    think = parts[1].replace(b'"content"', b'"reasoning_content"')
    reads = [parts[0]] + [think + p for p in parts[1:4]] + parts[4:]
    assert run("openai", reads, mode, True)[:3] == run("openai", reads, mode, False)[:3]


def test_a_whole_stream_in_one_read_takes_no_read_level_shortcut():
    for kind, name, body in CASES:
        assert run(kind, [body], "text", shortcuts=True)[3] == 0, name


# --------------------------------------------------------------------------- each shortcut


def general_text(chunk: bytes, kind: str) -> str | None:
    """What the general path makes of one read: the text of its one Text event."""
    from streamcli.events import Text
    mapper = providers.load(kind).StreamMapper()
    out: list = []
    for ev in SSEDecoder().feed(chunk):
        mapper.feed(ev, out)
    texts = [e.text for e in out if type(e) is Text]
    return texts[0] if len(texts) == 1 and len(out) == 1 else None


@pytest.mark.parametrize("seed", range(5))
def test_anthropic_text_is_the_general_text_or_declines(seed):
    rng = random.Random(seed)
    alphabet = ["a", "b", " ", '"', "\\", "\n", "\t", "\x00", "\x1b", "\x7f", "\x85", "é",
                "日", "😀", "\u2028", "<HI>"]
    taken = 0
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        chunk = with_surrogates(next(e for e in anthropic_sse([text]) if b"text_delta" in e))
        got = fastpath.anthropic_text(chunk)
        if got is not None:
            taken += 1
            assert got.decode("utf-8") == general_text(chunk, "anthropic") == text
    assert taken > 0


def test_json_index_is_what_json_reads_as_a_whole_number():
    for digits in ("0", "7", "12", "1234567890"):
        assert fastpath.json_index(digits) and fastpath.json_index(digits.encode())
        assert json.loads(digits) == int(digits)
    for digits in ("", "00", "01", "\u0660", "\u00b2", "1.0", "-1", "1e2", " 1"):
        assert not fastpath.json_index(digits), digits
        assert not fastpath.json_index(digits.encode()), digits


def test_one_digit_indexes_by_lookup_are_what_json_index_says():
    """The set lookup beside json_index (the commonest index, one digit): the same answer
    for every one- and two-character string, and for their UTF-8 bytes."""
    import itertools
    alphabet = ["0", "1", "9", "a", " ", "-", ".", "\u0660", "\u00b2", "\udcff"]
    for size in (0, 1, 2):
        for chars in itertools.product(alphabet, repeat=size):
            text = "".join(chars)
            assert (text in fastpath._ONE_DIGIT or fastpath.json_index(text)) \
                == fastpath.json_index(text), text
            data = text.encode("utf-8", "surrogatepass")
            assert (data in fastpath._ONE_DIGIT_BYTES or fastpath.json_index(data)) \
                == fastpath.json_index(data) == fastpath.json_index(text), data


def test_the_fast_path_compares_no_bytes_with_str():
    """Under `python -bb` such a comparison raises: the shortcuts must not."""
    code = ("from streamcli import fastpath\n"
            "for d in ('0', '00', '12', b'0', b'00', b'12'):\n"
            "    fastpath.json_index(d)\n"
            "assert b'0' in fastpath._ONE_DIGIT_BYTES and '0' in fastpath._ONE_DIGIT\n")
    r = subprocess.run([sys.executable, "-bb", "-c", code], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_plain_string_declines_what_needs_unescaping():
    assert fastpath.plain_string(b"hello world") == b"hello world"
    assert fastpath.plain_string("é日😀".encode()) == "é日😀".encode()
    for piece in (b'a"b', b"a\\nb", b"tab\tin", b"nl\nin", b"\x1b", b"\x7f", b"\xff",
                  "\u2028".encode(), "\x85".encode(), b"\xed\xa0\xbd"):
        assert fastpath.plain_string(piece) is None, piece


def test_one_event_equals_the_decoder():
    samples = [b"data: {}\n\n", b"event: x\ndata: {\"a\":1}\n\n", b"data: [DONE]\n\n",
               b"event: \ndata: y\n\n", b"data:y\n\n", b": ping\n\n", b"data: a\r\n\r\n",
               b"id: 3\ndata: a\n\n", b"data: a\ndata: b\n\n", b"event: a\nevent: b\ndata: c\n\n",
               b"retry: 5\ndata: a\n\n", b"data: \xff\xfe\n\n"]
    for chunk in samples:
        decoder = SSEDecoder()
        decoder.feed(b"\n")  # past the BOM check: the decoder is idle
        assert decoder.idle
        fast = fastpath.one_event(chunk, decoder.last_id)
        if fast is not None:
            assert [fast] == decoder.feed(chunk), chunk
            assert decoder.idle


def test_openai_text_learns_only_from_a_plain_chunk_and_checks_every_later_one():
    chunks = openai_sse(["Hel", "lo"])
    shortcut = fastpath.OpenAIText()
    assert shortcut(chunks[0]) is None and shortcut.head is None  # role chunk: not plain
    assert shortcut(chunks[1]) is None and shortcut.head is not None  # learned, not taken
    assert shortcut(chunks[2]) == b"lo"
    finish = chunks[3]
    assert shortcut(finish) is None
    other_id = openai_sse(["x"], chunk_id="chatcmpl-zzz")[1]
    assert shortcut(other_id) is None
    logprobs = chunks[2].replace(b'"logprobs":null', b'"logprobs":{"content":[]}')
    assert shortcut(logprobs) is None
    escaped = openai_sse(['a"b'])[1]
    assert shortcut(escaped) is None


def test_openai_text_gives_up_learning_after_a_few_chunks():
    shortcut = fastpath.OpenAIText()
    role = openai_sse(["x"])[0]
    for _ in range(20):
        shortcut(role)
    assert shortcut(openai_sse(["x", "y"])[1]) is None and shortcut.head is None


def test_decoder_idle_state():
    decoder = SSEDecoder()
    assert not decoder.idle  # a BOM may still come
    decoder.feed(b"data: a\n\n")
    assert decoder.idle
    decoder.feed(b"data: b")
    assert not decoder.idle  # a partial line
    decoder.feed(b"\n")
    assert not decoder.idle  # data pending, no blank line yet
    decoder.feed(b"\r")
    assert not decoder.idle  # a CR: an LF may follow as part of the same line end
    decoder.feed(b"\n")
    assert decoder.idle
    decoder.feed(b"event: x\n")
    assert not decoder.idle


def test_jsonl_plain_text_is_the_same_line_as_a_text_event():
    from streamcli.events import Start, Text
    a, b = io.BytesIO(), io.BytesIO()
    for out, write in ((a, "events"), (b, "plain")):
        sink = make_sink("jsonl", out, Stderr(io.StringIO()))
        sink.write([Start("anthropic", "m", "id")])
        if write == "events":
            sink.write([Text("héllo 😀")])
        else:
            sink.write_plain_text("héllo 😀".encode())
    assert a.getvalue() == b.getvalue()
    assert json.loads(a.getvalue().splitlines()[1]) == {"type": "text", "text": "héllo 😀"}
