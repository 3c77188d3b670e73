"""-a/--attach and --attach-type (issue 12): the exact content blocks each attachment type
becomes on both protocols, as a local server records them (body and headers); the body
streamed from disk with its Content-Length; stdin as an attachment; and every bad input
(missing file, unknown type, over a limit, a URL a protocol cannot take) is exit 2 with
nothing sent: the server sees no connection at all."""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import media
from tests.helpers.fakeserver import Reply
from tests.helpers.sse import anthropic_sse, openai_sse

MIB = 1024 * 1024
MODEL = {"anthropic": "claude-test", "openai": "gpt-test"}




def run(net, server, provider, *args, stdin=None, reply=True):
    if reply:
        parts = anthropic_sse(["ok"]) if provider == "anthropic" else openai_sse(["ok"])
        server.enqueue(Reply(body=parts))
    url = server.url + ("" if provider == "anthropic" else "/v1")
    return net.run("-m", MODEL[provider], "--provider", provider, "--base-url", url,
                   "--retries", "0", *args, stdin=stdin)


def content(server):
    (req,) = server.requests
    return req.json["messages"][-1]["content"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --------------------------------------------------------------------------- the blocks

IMAGES = {
    "shot.png": (media.png(40, 30), "image/png"),
    "photo.jpg": (media.jpeg(64, 48, app_pad=70_000), "image/jpeg"),
    "anim.gif": (media.gif(8, 8), "image/gif"),
    "pic.webp": (media.webp(100, 50), "image/webp"),
}


@pytest.mark.parametrize("name", IMAGES)
def test_anthropic_image_block_from_a_file(net, server, tmp_path, name):
    data, mime = IMAGES[name]
    path = media.write(tmp_path, name, data)
    r = run(net, server, "anthropic", "-a", path, "what is this?")
    assert r.code == 0, r.err
    assert content(server) == [
        {"type": "image", "source": {"type": "base64", "media_type": mime, "data": b64(data)}},
        {"type": "text", "text": "what is this?"},
    ]


@pytest.mark.parametrize("name", IMAGES)
def test_openai_image_url_part_from_a_file(net, server, tmp_path, name):
    data, mime = IMAGES[name]
    path = media.write(tmp_path, name, data)
    r = run(net, server, "openai", "-a", path, "what is this?")
    assert r.code == 0, r.err
    assert content(server) == [
        {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{b64(data)}"}},
        {"type": "text", "text": "what is this?"},
    ]


def test_pdf_and_text_blocks_on_both_protocols_in_command_line_order(net, server, tmp_path):
    pdf = media.pdf(3000)
    doc = media.write(tmp_path, "report.pdf", pdf)
    notes = media.write(tmp_path, "notes.md", "# Notes\nünïcode, \"quotes\" and \\ too\n")
    r = run(net, server, "anthropic", "-a", notes, "-a", doc, "summarize")
    assert r.code == 0, r.err
    assert content(server) == [
        {"type": "document", "title": "notes.md",
         "source": {"type": "text", "media_type": "text/plain",
                    "data": "# Notes\nünïcode, \"quotes\" and \\ too\n"}},
        {"type": "document", "title": "report.pdf",
         "source": {"type": "base64", "media_type": "application/pdf", "data": b64(pdf)}},
        {"type": "text", "text": "summarize"},
    ]
    server.requests.clear()
    r = run(net, server, "openai", "-a", doc, "-a", notes, "summarize")
    assert r.code == 0, r.err
    assert content(server) == [
        {"type": "file", "file": {"filename": "report.pdf",
                                  "file_data": f"data:application/pdf;base64,{b64(pdf)}"}},
        {"type": "text", "text": "notes.md:\n\n# Notes\nünïcode, \"quotes\" and \\ too\n"},
        {"type": "text", "text": "summarize"},
    ]


def test_urls_are_sent_as_references(net, server):
    r = run(net, server, "anthropic", "-a", "https://example.com/a/cat.JPG?size=big",
            "-a", "https://example.com/paper.pdf", "compare")
    assert r.code == 0, r.err
    assert content(server) == [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a/cat.JPG?size=big"}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/paper.pdf"}},
        {"type": "text", "text": "compare"},
    ]
    server.requests.clear()
    r = run(net, server, "openai", "-a", "https://example.com/img", "--attach-type", "image/webp",
            "look")
    assert r.code == 0, r.err
    assert content(server) == [
        {"type": "image_url", "image_url": {"url": "https://example.com/img"}},
        {"type": "text", "text": "look"},
    ]


def test_the_type_comes_from_the_content_not_the_name(net, server, tmp_path):
    data = media.png(5, 5)
    path = media.write(tmp_path, "really-a-png.pdf", data)
    text = media.write(tmp_path, "data.bin", "plain words\n")
    r = run(net, server, "anthropic", "-a", path, "-a", text, "q")
    assert r.code == 0, r.err
    blocks = content(server)
    assert blocks[0]["source"]["media_type"] == "image/png"
    assert blocks[1]["source"] == {"type": "text", "media_type": "text/plain",
                                   "data": "plain words\n"}


def test_attach_type_overrides_the_nth_attachment(net, server, tmp_path):
    png = media.write(tmp_path, "a.png", media.png())
    tutorial = media.write(tmp_path, "pdf-syntax.txt", "%PDF-1.7 starts every PDF file\n")
    r = run(net, server, "anthropic", "-a", png, "-a", tutorial, "--attach-type", "auto",
            "--attach-type", "text/plain", "q")
    assert r.code == 0, r.err
    blocks = content(server)
    assert blocks[0]["type"] == "image"
    assert blocks[1]["source"] == {"type": "text", "media_type": "text/plain",
                                   "data": "%PDF-1.7 starts every PDF file\n"}


def test_the_body_streams_with_a_content_length_not_chunked(net, server, tmp_path):
    pdf = media.pdf(2 * MIB + 7)  # several read pieces, and a size not a multiple of 3
    path = media.write(tmp_path, "big.pdf", pdf)
    r = run(net, server, "anthropic", "-a", path, "read it")
    assert r.code == 0, r.err
    (req,) = server.requests
    assert "transfer-encoding" not in req.headers
    assert int(req.headers["content-length"]) == len(req.body)
    assert base64.b64decode(req.json["messages"][0]["content"][0]["source"]["data"]) == pdf


def test_a_retry_sends_the_attachment_again_whole(net, server, tmp_path):
    data = media.png(10, 10, pad=300_000)
    path = media.write(tmp_path, "x.png", data)
    server.enqueue(Reply.json(529, {"type": "error", "error": {"type": "overloaded_error",
                                                               "message": "busy"}},
                              headers={"retry-after": "0"}))
    r = run(net, server, "anthropic", "-a", path, "--retries", "1", "q")
    assert r.code == 0, r.err
    assert len(server.requests) == 2
    for req in server.requests:
        assert req.json["messages"][0]["content"][0]["source"]["data"] == b64(data)


def test_attachments_alone_need_no_prompt(net, server, tmp_path):
    path = media.write(tmp_path, "a.png", media.png())
    r = run(net, server, "openai", "-a", path)
    assert r.code == 0, r.err
    assert [p["type"] for p in content(server)] == ["image_url"]


def test_no_attachment_keeps_the_plain_string_content(net, server):
    r = run(net, server, "anthropic", "hello")
    assert r.code == 0, r.err
    assert content(server) == "hello"


# --------------------------------------------------------------------------- stdin


def test_dash_reads_the_attachment_from_stdin_and_the_prompt_from_the_arguments(net, server):
    data = media.pdf(5000)
    r = run(net, server, "anthropic", "-a", "-", "what is in it?", stdin=data)
    assert r.code == 0, r.err
    assert content(server) == [
        {"type": "document", "title": "stdin.pdf",
         "source": {"type": "base64", "media_type": "application/pdf", "data": b64(data)}},
        {"type": "text", "text": "what is in it?"},
    ]


def test_stdin_text_attachment_with_a_forced_type(net, server):
    r = run(net, server, "openai", "-a", "-", "--attach-type", "text/plain", "count words",
            stdin=b"one two three")
    assert r.code == 0, r.err
    assert content(server) == [{"type": "text", "text": "stdin.txt:\n\none two three"},
                               {"type": "text", "text": "count words"}]


def test_without_dash_piped_stdin_is_still_the_prompts_context(net, server, tmp_path):
    path = media.write(tmp_path, "a.png", media.png())
    r = run(net, server, "anthropic", "-a", path, "explain", stdin=b"context\n")
    assert r.code == 0, r.err
    assert content(server)[-1] == {"type": "text", "text": "context\n\nexplain"}


# --------------------------------------------------------------------------- bad inputs: exit 2, nothing sent


def _bad(net, server, provider, *args, stdin=None):
    r = run(net, server, provider, *args, stdin=stdin, reply=False)
    assert r.code == 2, r.err
    assert server.connections == 0 and server.requests == []
    assert r.out == b""
    return r.err


def test_missing_file(net, server, tmp_path):
    err = _bad(net, server, "anthropic", "-a", tmp_path / "nope.png", "q")
    assert "nope.png: no such file" in err


def test_a_directory(net, server, tmp_path):
    assert "is a directory" in _bad(net, server, "openai", "-a", tmp_path, "q")


def test_unreadable_file(net, server, tmp_path):
    import os
    path = media.write(tmp_path, "secret.png", media.png())
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: make it unreadable another way
        path.chmod(0o644)
        path = tmp_path / "dangling.png"
        path.symlink_to(tmp_path / "gone")
        assert "no such file" in _bad(net, server, "openai", "-a", path, "q")
        return
    assert "cannot read it" in _bad(net, server, "openai", "-a", path, "q")


@pytest.mark.parametrize("data, why", [
    (b"\x00\x01\x02binary" * 10, "unknown type"),
    (b"BM" + b"\x00" * 60, "unknown type"),  # a BMP: an image, but not one the APIs take
    ("latin-1 caf\xe9\n".encode("latin-1"), "another encoding? convert it, e.g. with iconv"),
    ("caf\xe9".encode("latin-1"), "iconv"),  # cut short at the very end of the file
], ids=["binary", "bmp", "not-utf8", "cut-utf8"])
def test_unknown_type(net, server, tmp_path, data, why):
    path = media.write(tmp_path, "thing.png", data)
    assert why in _bad(net, server, "anthropic", "-a", path, "q")


def test_empty_file(net, server, tmp_path):
    path = media.write(tmp_path, "empty.txt", b"")
    assert "empty" in _bad(net, server, "anthropic", "-a", path, "q")


def test_unsupported_attach_type(net, server, tmp_path):
    path = media.write(tmp_path, "a.png", media.png())
    err = _bad(net, server, "anthropic", "-a", path, "--attach-type", "image/bmp", "q")
    assert "image/bmp" in err and "not supported" in err


def test_more_attach_types_than_attachments(net, server, tmp_path):
    path = media.write(tmp_path, "a.png", media.png())
    err = _bad(net, server, "anthropic", "-a", path, "--attach-type", "image/png",
               "--attach-type", "image/png", "q")
    assert "2 --attach-type for 1 -a" in err


def test_image_over_anthropics_5_mb_base64(net, server, tmp_path):
    # 3.9 MiB raw is 5.2 MiB as base64: the limit counts the encoded string.
    path = media.write(tmp_path, "huge.png", media.png(100, 100, pad=int(3.9 * MIB)))
    err = _bad(net, server, "anthropic", "-a", path, "q")
    assert "huge.png" in err and "5 MB per image" in err


def test_the_same_image_is_fine_for_openai(net, server, tmp_path):
    path = media.write(tmp_path, "huge.png", media.png(100, 100, pad=int(3.9 * MIB)))
    assert run(net, server, "openai", "-a", path, "q").code == 0


def test_image_over_anthropics_8000_pixels(net, server, tmp_path):
    path = media.write(tmp_path, "wide.jpg", media.jpeg(8001, 10))
    err = _bad(net, server, "anthropic", "-a", path, "q")
    assert "8001x10 pixels" in err and "8000x8000" in err


def test_over_20_images_each_must_fit_2000_pixels(net, server, tmp_path):
    small = [media.write(tmp_path, f"s{i}.png", media.png(10, 10)) for i in range(20)]
    big = media.write(tmp_path, "big.webp", media.webp(2001, 5))
    args = [x for p in small for x in ("-a", p)]
    assert run(net, server, "anthropic", *args, "-a", big, "q").code == 2
    assert server.connections == 0
    assert run(net, server, "anthropic", *args[2:], "-a", big, "q").code == 0  # 20 images


def test_animated_gif_is_refused_for_openai_only(net, server, tmp_path):
    path = media.write(tmp_path, "anim.gif", media.gif(4, 4, frames=3))
    assert "animated GIF" in _bad(net, server, "openai", "-a", path, "q")
    assert run(net, server, "anthropic", "-a", path, "q").code == 0


def test_pdfs_over_openais_32_mb(net, server, tmp_path):
    a = media.write(tmp_path, "a.pdf", media.pdf(17 * MIB))
    b = media.write(tmp_path, "b.pdf", media.pdf(16 * MIB))
    err = _bad(net, server, "openai", "-a", a, "-a", b, "q")
    assert "33 MB" in err and "32 MB of PDF content" in err


def test_request_over_anthropics_32_mb(net, server, tmp_path):
    path = media.write(tmp_path, "a.pdf", media.pdf(25 * MIB))  # 33.3 MiB as base64
    err = _bad(net, server, "anthropic", "-a", path, "q")
    assert "32 MB per request" in err


@pytest.mark.parametrize("provider, url, why", [
    ("openai", "https://example.com/doc.pdf", "takes no pdf by URL"),
    ("anthropic", "https://example.com/notes.txt", "takes no text by URL"),
    ("openai", "https://example.com/image", "cannot tell the type of a URL"),
    ("anthropic", "https://example.com/a b.png", "spaces or control characters"),
])
def test_urls_a_protocol_cannot_take(net, server, provider, url, why):
    assert why in _bad(net, server, provider, "-a", url, "q")


@pytest.mark.parametrize("args, stdin, why", [
    (["-a", "-", "-a", "-", "q"], b"x", "once"),
    (["-a", "-", "-"], b"x", "the prompt '-'"),
    (["-a", "-", "--no-stdin", "q"], b"x", "--no-stdin"),
    (["-a", "-", "--tools", "-", "q"], b"[]", "--tools -"),
    (["-a", "-", "q"], None, "stdin is a terminal"),
])
def test_stdin_conflicts(net, server, args, stdin, why):
    assert why in _bad(net, server, "anthropic", *args, stdin=stdin)


def test_a_bad_attachment_fails_before_the_editor_opens(net, server, tmp_path, fp):
    net.env(EDITOR="true")
    err = _bad(net, server, "anthropic", "-e", "-a", tmp_path / "missing.pdf")
    assert "no such file" in err
    assert fp.call_count(["true", fp.any()]) == 0


@pytest.mark.parametrize("mode", [["--jsonl"], ["--no-stream"]])
def test_bad_attachments_end_in_the_modes_own_output(net, server, tmp_path, mode):
    r = run(net, server, "anthropic", *mode, "-a", tmp_path / "nope.png", "q", reply=False)
    assert r.code == 2 and server.connections == 0
    if mode == ["--jsonl"]:
        error = r.events[-2]
        assert (error["type"], error["kind"]) == ("error", "usage")
        assert "no such file" in error["message"]
    else:
        assert r.result["error"]["kind"] == "usage"


def test_a_real_pipe_into_dash(run_cli, fake_keys, server, tmp_path):
    data = media.jpeg(20, 10, app_pad=300_000)
    server.enqueue(Reply(body=openai_sse(["a cat"])))
    r = run_cli(["-m", "gpt-test", "--provider", "openai", "--base-url", server.url + "/v1",
                 "-a", "-", "what is it?"], input=data, env=fake_keys)
    assert (r.returncode, r.stdout) == (0, b"a cat\n"), r.stderr
    (req,) = server.requests
    assert req.json["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{b64(data)}"}},
        {"type": "text", "text": "what is it?"}]
    assert int(req.headers["content-length"]) == len(req.body)


@pytest.mark.parametrize("mode", [(), ("--jsonl",), ("--raw-sse",), ("--no-stream",)])
@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_attachments_in_every_mode(net, server, tmp_path, mode, provider):
    data = media.gif(3, 3)
    path = media.write(tmp_path, "dot.gif", data)
    if "--no-stream" in mode:
        from tests.helpers.sse import message
        server.enqueue(Reply.json(200, message(provider, "a dot")))
    r = run(net, server, provider, *mode, "-a", path, "q", reply="--no-stream" not in mode)
    assert r.code == 0, r.err
    (req,) = server.requests
    assert int(req.headers["content-length"]) == len(req.body)
    assert b64(data) in json.dumps(req.json)


# --------------------------------------------------------------------------- the Responses API


def test_responses_api_parts(net, server, tmp_path):
    from tests.helpers.sse import responses_sse
    png, pdf = media.png(9, 9), media.pdf(4000)
    a = media.write(tmp_path, "a.png", png)
    b = media.write(tmp_path, "b.pdf", pdf)
    c = media.write(tmp_path, "c.txt", "plain\n")
    server.enqueue(Reply(body=responses_sse(["ok"])))
    r = net.run("-m", "gpt-test", "--provider", "openai", "--api", "responses", "--base-url",
                server.url + "/v1", "--retries", "0", "-a", a, "-a", b, "-a", c,
                "-a", "https://example.com/x.webp", "-a", "https://example.com/y.pdf", "go")
    assert r.code == 0, r.err
    (req,) = server.requests
    assert req.path == "/v1/responses"
    assert req.json["input"] == [{"role": "user", "content": [
        {"type": "input_image", "image_url": f"data:image/png;base64,{b64(png)}", "detail": "auto"},
        {"type": "input_file", "filename": "b.pdf",
         "file_data": f"data:application/pdf;base64,{b64(pdf)}"},
        {"type": "input_text", "text": "c.txt:\n\nplain\n"},
        {"type": "input_image", "image_url": "https://example.com/x.webp", "detail": "auto"},
        {"type": "input_file", "file_url": "https://example.com/y.pdf"},
        {"type": "input_text", "text": "go"},
    ]}]
    assert int(req.headers["content-length"]) == len(req.body)


def test_responses_api_limits_are_openais(net, server, tmp_path):
    path = media.write(tmp_path, "anim.gif", media.gif(frames=2))
    r = net.run("-m", "gpt-test", "--provider", "openai", "--api", "responses", "--base-url",
                server.url + "/v1", "-a", path, "q")
    assert r.code == 2 and "the OpenAI Responses API takes no animated GIF" in r.err
    assert server.connections == 0
