"""Units under -a: type and size detection (streamcli/filetypes.py), the streamed JSON
body (streamcli/body.py) and the Attachment's bytes (streamcli/attachments.py)."""

from __future__ import annotations

import base64
import io
import json

import pytest

from streamcli import attachments, filetypes, jsonbody
from streamcli.errors import UsageError
from streamcli.providers import anthropic, openai
from streamcli.request import Request
from tests.helpers import media


@pytest.mark.parametrize("data, mime, size", [
    (media.png(640, 480), "image/png", (640, 480)),
    (media.jpeg(1920, 1080), "image/jpeg", (1920, 1080)),
    (media.jpeg(33, 44, app_pad=200_000), "image/jpeg", (33, 44)),  # SOF past 3 APP1 segments
    (media.gif(300, 200), "image/gif", (300, 200)),
    (media.webp(4000, 3000, "VP8X"), "image/webp", (4000, 3000)),
    (media.webp(16383, 1, "VP8L"), "image/webp", (16383, 1)),
    (media.webp(99, 77, "VP8 "), "image/webp", (99, 77)),
])
def test_type_and_dimensions(data, mime, size):
    assert filetypes.sniff(data[:filetypes.SNIFF_BYTES]) == mime
    assert filetypes.dimensions(io.BytesIO(data), mime) == size


@pytest.mark.parametrize("data", [b"\xff\xd8\xff", media.jpeg(5, 5)[:24], b"\x89PNG\r\n\x1a\n",
                                  b"RIFF\x00\x00\x00\x00WEBPVP8Z", b"GIF89a"])
def test_truncated_headers_have_no_dimensions(data):
    mime = filetypes.sniff(data)
    assert filetypes.dimensions(io.BytesIO(data), mime) is None


def test_gif_frames():
    assert filetypes.gif_frames(io.BytesIO(media.gif(frames=1))) == 1
    assert filetypes.gif_frames(io.BytesIO(media.gif(frames=5))) == 2  # stops at 2
    assert filetypes.gif_frames(io.BytesIO(media.gif(frames=3)[:40])) <= 1  # damaged


def test_pdf_header_within_the_first_kilobyte():
    assert filetypes.sniff(b"\n" * 500 + b"%PDF-1.7\n") == "application/pdf"
    assert filetypes.sniff(b"\n" * 1100 + b"%PDF-1.7\n") is None


def test_text_head_may_end_inside_a_character():
    data = ("x" + "é" * 5000).encode()
    assert filetypes.is_text_head(data[:8192])  # cut in the middle of an é
    assert not filetypes.is_text_head(data[:8192], whole=True)


# --------------------------------------------------------------------------- body


def test_a_body_without_placeholders_is_the_json_bytes():
    obj = {"a": "ü", "b": [1, 2]}
    assert jsonbody.encode(obj) == json.dumps(obj, ensure_ascii=False).encode()


def test_a_streamed_body_equals_the_whole_one(tmp_path):
    data = media.png(7, 7, pad=1_000_003)
    path = media.write(tmp_path, "a.png", data)
    (att,) = attachments.load([str(path)], "openai")
    sneaky = "\ue000 quotes \" and the placeholder's shape \ue0000:1\ue000"
    req = Request("openai", "m", sneaky, "http://x", None, attachments=(att,))
    http = openai.build_request(req)
    whole = http.body.read_all()
    assert len(whole) == http.body.length
    sent = json.loads(whole)["messages"][0]["content"]
    assert sent[0]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(data).decode()
    assert sent[1]["text"] == sneaky
    assert http.body.read_all() == whole  # iterable again (a retry sends it again)


def test_pieces_are_bounded(tmp_path):
    path = media.write(tmp_path, "a.pdf", media.pdf(5 * 1024 * 1024))
    (att,) = attachments.load([str(path)], "anthropic")
    http = anthropic.build_request(Request("anthropic", "m", "q", "http://x", "k",
                                           attachments=(att,)))
    assert max(len(piece) for piece in http.body) <= attachments.CHUNK * 4 // 3 + 64


@pytest.mark.parametrize("change", ["shrunk", "grown"])
def test_a_file_that_changes_before_it_is_sent(tmp_path, change):
    path = media.write(tmp_path, "a.pdf", media.pdf(100_000))
    (att,) = attachments.load([str(path)], "anthropic")
    path.write_bytes(media.pdf(50_000 if change == "shrunk" else 150_000))
    with pytest.raises(UsageError, match="changed while it was being sent"):
        list(att.chunks())


def test_a_stream_is_read_no_further_than_its_type_may_weigh():
    class Endless(io.RawIOBase):
        """A PNG signature, then zeros for ever; counts what was read."""
        given = 0

        def readable(self):
            return True

        def readinto(self, b):
            n = len(b)
            data = (b"\x89PNG\r\n\x1a\n" + bytes(n))[:n] if self.given == 0 else bytes(n)
            b[:n] = data
            self.given += n
            return n

    raw = Endless()
    with pytest.raises(UsageError, match="more than the 3.8 MB"):
        attachments.load(["-"], "anthropic", stdin=io.BufferedReader(raw))
    assert raw.given <= 5 * 1024 * 1024  # not the whole 32 MB of a request


def test_attachment_names_from_a_non_utf8_file_name(tmp_path):
    path = tmp_path / b"caf\xe9.png".decode("utf-8", "surrogateescape")
    path.write_bytes(media.png())
    (att,) = attachments.load([str(path)], "openai")
    assert att.name == "caf\ufffd.png"
    http = openai.build_request(Request("openai", "m", "q", "http://x", None, attachments=(att,)))
    json.loads(http.body.read_all())


def test_a_silent_pipe_into_dash_gets_its_own_hint_then_is_read(monkeypatch):
    import os
    import threading

    from streamcli import prompt

    class Notices:
        def __init__(self):
            self.lines, self.seen = [], threading.Event()

        def notice(self, message):
            self.lines.append(message)
            self.seen.set()

    monkeypatch.setattr(prompt, "SILENT_STDIN_HINT_AFTER", 0.05)
    r, w = os.pipe()
    ui = Notices()
    data = media.png(6, 6, pad=3 * 1024 * 1024)  # several pieces through a raw pipe

    def writer():
        if ui.seen.wait(10):  # only after the hint: the read kept waiting
            with os.fdopen(w, "wb") as f:
                f.write(data)
        else:
            os.close(w)

    t = threading.Thread(target=writer)
    t.start()
    try:
        with os.fdopen(r, "rb", buffering=0) as stdin:  # raw: short reads
            (att,) = attachments.load(["-"], "openai", stdin=stdin, ui=ui)
    finally:
        t.join(10)
    assert ui.lines == ["waiting for the attachment on stdin (-a -)..."]
    assert (att.size, att.width, att.name) == (len(data), 6, "stdin.png")
    assert b"".join(att.chunks()) == data
    assert b"".join(att.chunks()) == data  # again, for a retry
    info = os.fstat(att.spooled.fileno())  # the copy: no name on disk, only ours to read
    assert info.st_nlink == 0 and info.st_mode & 0o777 == 0o600
