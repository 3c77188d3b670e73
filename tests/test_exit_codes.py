"""The exit-status contract (DESIGN.md table, issue 4) and retries, against the real
`python -m streamcli` process and the local FakeServer.

Every failure row runs in each output mode it applies to (text, --raw-sse, --jsonl,
--no-stream); where a row applies to every wire protocol (Anthropic Messages, OpenAI Chat
Completions, OpenAI Responses through `--api responses`), the protocol rotates from mode to
mode (and the pattern shifts from row to row), so every row meets every protocol and every
mode meets every protocol, without the full product (each run costs ~0.2 s of CPU for
start-up).
The runs of one row start at once, each against its own FakeServer. For each run the
checks are: the exit status; stderr is one readable line with the provider's message
(and the request id when the reply carried one), no traceback; text already printed
stays printed; --raw-sse prints nothing for a non-2xx; --jsonl starts with `start` and
ends with `end` (exit_code, status); --no-stream prints exactly one JSON object with
`error` filled. The `start_cli` fixture checks on every run that the fake API keys
appear in neither stdout nor stderr.

--no-stream sends a non-streaming request, so each row there is the failure as a JSON
request meets it: HTTP errors are the same JSON error bodies; an in-stream error is a 200
whose body is the error object; a drop, reset or stall cuts a JSON body short; "no
terminal event", "invalid JSON" and "not SSE" are a body that is not valid JSON.
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from dataclasses import dataclass, field
from typing import Callable

import pytest

from tests.helpers.fakeserver import FakeServer, Pause, Reply
from tests.helpers.schema import jsonl_events
from tests.helpers.schema import result_object as checked_result_object
from tests.helpers.sse import (
    anthropic_error_body,
    anthropic_error_event,
    anthropic_event,
    anthropic_sse,
    openai_error_body,
    openai_sse,
    partial_sse,
    provider_sse,
    response_object,
    responses_error_event,
    responses_failed_event,
    responses_sse,
    sse_event,
)
from tests.helpers.sse import message as api_message

PROVIDERS = ("anthropic", "openai", "openai-responses")
MODES = ("text", "raw", "jsonl", "json")  # "json" is --no-stream
MODE_FLAGS = {"text": [], "raw": ["--raw-sse"], "jsonl": ["--jsonl"], "json": ["--no-stream"]}
PROVIDER_ARGS = {
    "anthropic": ["-m", "claude-test", "--provider", "anthropic"],
    "openai": ["-m", "gpt-test", "--provider", "openai"],
    "openai-responses": ["-m", "gpt-test", "--provider", "openai", "--api", "responses"],
}
REQUEST_ID_HEADER = {"anthropic": "request-id", "openai": "x-request-id",
                     "openai-responses": "x-request-id"}
REQUEST_ID = "req_fake0123456789"
MESSAGE_ID = {"anthropic": "msg_test", "openai": "chatcmpl-test", "openai-responses": "resp_test"}
TEXT = "Hello"  # what the partial streams print before they fail
PREFIX = object()  # "some prefix of TEXT": the run was cut at a time, not at a part


# --------------------------------------------------------------------------- building replies


def without_terminal(provider: str) -> list[bytes]:
    if provider == "anthropic":
        return anthropic_sse(["Hel", "lo"], terminal=False)  # stop_reason, no message_stop
    if provider == "openai-responses":
        return responses_sse(["Hel", "lo"], terminal=False)  # the message item done, no end
    return openai_sse(["Hel", "lo"], finish_reason=None, usage=False, done=False)


def message(provider: str, text: str = TEXT) -> dict:
    """A complete non-streaming response."""
    return api_message(provider, text)


def success(provider: str, mode: str) -> Reply:
    if mode == "json":
        return Reply.json(200, message(provider))
    return Reply(body=provider_sse(provider))


def not_json_body(text: str, framing: str = "length") -> Reply:
    return Reply(200, body=[text], content_type="application/json", framing=framing)


def body_bytes(reply: Reply) -> bytes:
    return b"".join(p for p in reply.body if isinstance(p, bytes))


# --------------------------------------------------------------------------- running


@dataclass
class Job:
    provider: str
    mode: str
    replies: list[Reply] | None  # None: connect to a closed port
    args: list[str] = field(default_factory=list)
    # filled by run_jobs
    server: FakeServer | None = None
    result: object = None

    @property
    def where(self) -> str:
        return f"[{self.provider} {self.mode} {' '.join(self.args)}]"


def run_jobs(start_cli, env: dict, jobs: list[Job], retries: int = 0) -> list[Job]:
    """Start every job at once, each against its own FakeServer, and wait for them all."""
    with contextlib.ExitStack() as stack:
        running = []
        for job in jobs:
            if job.replies is None:
                url = f"http://127.0.0.1:{FakeServer.closed_port()}"
            else:
                job.server = stack.enter_context(FakeServer())
                job.server.enqueue(*job.replies)
                url = job.server.url
            # A backstop: a missed failure fails in 5 s, not after the default 120.
            backstop = [] if "--idle-timeout" in job.args else ["--idle-timeout", "5"]
            args = [*PROVIDER_ARGS[job.provider], "--base-url", url, "--retries", str(retries),
                    *backstop, *MODE_FLAGS[job.mode], *job.args, "what is up?"]
            running.append((job, start_cli(args, env=env)))
        for job, proc in running:
            job.result = proc.finish(timeout=20)
    return jobs


def stderr_lines(job: Job) -> list[str]:
    err = job.result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, f"{job.where} traceback on stderr:\n{err}"
    return err.splitlines()


def jsonl_lines(job: Job) -> list[dict]:
    """The --jsonl lines, schema-valid, `start` first and `end` last."""
    out = job.result.stdout.decode("utf-8")
    assert out.endswith("\n"), f"{job.where} --jsonl output does not end with a newline: {out!r}"
    return jsonl_events(job.result.stdout)


def result_object(job: Job) -> dict:
    """The --no-stream object, schema-valid."""
    out = job.result.stdout
    assert out.count(b"\n") == 1 and out.endswith(b"\n"), f"{job.where} not one JSON line: {out!r}"
    return checked_result_object(out)


# --------------------------------------------------------------------------- the failure rows


@dataclass
class Case:
    id: str
    code: int
    stream: Callable[[str], list[Reply] | None]  # provider -> replies (streaming modes)
    single: Callable[[str], list[Reply] | None]  # provider -> replies (--no-stream)
    message: Callable[[str, str], str]  # (provider, mode) -> a piece of the stderr line
    printed: object = ""  # text printed before the failure (streaming modes), or PREFIX
    started: bool | None = False  # a stream began: --jsonl `start` carries its id (None: either)
    raw: str = "empty"  # --raw-sse stdout: "empty", "body" (every body byte), "prefix"
    args: tuple = ()
    status: int | None = None  # HTTP status in the error object
    request_id: bool = False  # the reply carried a request id the message must show
    requests: tuple = (1,)  # how many requests the server may see
    modes: tuple = MODES

    def jobs(self, combos) -> list[Job]:
        return [Job(p, m, (self.single if m == "json" else self.stream)(p), list(self.args))
                for p, m in combos]


def alternating(i: int, modes=MODES) -> list[tuple[str, str]]:
    """Every mode once, the protocol rotating from mode to mode and from row i to row
    i + 1: each row of four modes meets every protocol, each mode meets every protocol
    across rows."""
    return [(PROVIDERS[(i + k) % len(PROVIDERS)], mode) for k, mode in enumerate(modes)]


def every_mode(provider: str, modes=MODES) -> list[tuple[str, str]]:
    return [(provider, mode) for mode in modes]


def const(text: str) -> Callable[[str, str], str]:
    return lambda provider, mode: text


def check_failure(job: Job, case: Case) -> None:
    r, where = job.result, job.where
    expected = case.message(job.provider, job.mode)
    assert r.returncode == case.code, (
        f"{where} exit status {r.returncode}, expected {case.code}; stderr {r.stderr!r}")
    lines = stderr_lines(job)
    assert len(lines) == 1, f"{where} expected one stderr line, got {lines!r}"
    line = lines[0]
    assert line.startswith("streamcli: error: "), f"{where} {line!r}"
    assert expected in line, f"{where} {expected!r} not in {line!r}"
    assert '\\"' not in line, f"{where} escaped JSON in the message: {line!r}"
    if case.request_id:
        assert REQUEST_ID in line, f"{where} no request id in {line!r}"
    if job.server is not None:
        count = len(job.server.requests)
        assert count in case.requests, f"{where} {count} requests"

    printed = TEXT if case.printed is PREFIX else case.printed
    if job.mode == "text":
        out = r.stdout.decode("utf-8")
        if case.printed is PREFIX:
            assert TEXT.startswith(out.rstrip("\n")), f"{where} {out!r}"
            assert out == "" or out.endswith("\n"), f"{where} {out!r}"
        else:
            assert out == (printed + "\n" if printed else ""), f"{where} stdout {out!r}"
    elif job.mode == "raw":
        body = b"".join(body_bytes(reply) for reply in job.replies or [])
        if case.raw == "empty":
            assert r.stdout == b"", f"{where} stdout {r.stdout!r}"
        elif case.raw == "body":
            assert r.stdout == body, f"{where} stdout {r.stdout!r}"
        else:
            assert body.startswith(r.stdout), f"{where} stdout {r.stdout!r}"
    elif job.mode == "jsonl":
        events = jsonl_lines(job)
        start, end = events[0], events[-1]
        assert start["type"] == "start" and end["type"] == "end", f"{where} {events!r}"
        assert end["exit_code"] == case.code and end["status"] == "error", f"{where} {end!r}"
        if case.started is not None:
            assert start["id"] == (MESSAGE_ID[job.provider] if case.started else None), (
                f"{where} {start!r}")
        errors = [e for e in events if e["type"] == "error"]
        assert len(errors) == 1 and expected in errors[0]["message"], f"{where} {events!r}"
        if case.status is not None:
            assert errors[0]["status"] == case.status, f"{where} {errors!r}"
        if case.request_id:
            assert errors[0]["request_id"] == REQUEST_ID, f"{where} {errors!r}"
        text = "".join(e["text"] for e in events if e["type"] == "text")
        if case.printed is PREFIX:
            assert TEXT.startswith(text), f"{where} {events!r}"
        else:
            assert text == printed, f"{where} text {text!r}, expected {printed!r}"
        assert [e["type"] for e in events].count("end") == 1
    else:
        obj = result_object(job)
        assert obj["exit_code"] == case.code and obj["status"] == "error", f"{where} {obj!r}"
        error = obj["error"]
        assert error and expected in error["message"], f"{where} {obj!r}"
        if case.status is not None:
            assert error["status"] == case.status, f"{where} {obj!r}"
        if case.request_id:
            assert error["request_id"] == REQUEST_ID, f"{where} {obj!r}"
        assert obj["text"] == "", f"{where} {obj!r}"


def run_case(start_cli, fake_keys, case: Case, combos) -> None:
    jobs = run_jobs(start_cli, fake_keys, case.jobs(combos))
    for job in jobs:
        check_failure(job, case)
        if job.mode == "json" and job.server is not None and job.server.requests:
            assert job.server.requests[0].json.get("stream") in (None, False), job.where
        if job.provider == "openai-responses" and job.server is not None and job.server.requests:
            assert job.server.requests[0].path == "/responses", job.where  # the Responses API


# HTTP status errors: realistic bodies per provider -> exit status.
ANTHROPIC_HTTP = {
    400: ("invalid_request_error", 3),
    401: ("authentication_error", 4),
    403: ("permission_error", 4),
    404: ("not_found_error", 3),
    413: ("request_too_large", 3),
    429: ("rate_limit_error", 5),
    500: ("api_error", 6),
    503: (None, 6),  # an HTML page from a proxy, not a JSON error
    529: ("overloaded_error", 6),
}
OPENAI_HTTP = {
    400: ("invalid_request_error", None, 3),
    401: ("invalid_request_error", "invalid_api_key", 4),
    403: ("request_forbidden", "unsupported_country_region_territory", 4),
    404: ("invalid_request_error", "model_not_found", 3),
    413: ("invalid_request_error", None, 3),
    429: ("requests", "rate_limit_exceeded", 5),
    500: ("server_error", None, 6),
    503: ("server_error", None, 6),
    529: (None, None, 6),  # a compatible server's plain-text error page
}
HTML_503 = "<html><body><h1>503 Service Unavailable</h1></body></html>"


def http_error_reply(provider: str, status: int) -> Reply:
    headers = {REQUEST_ID_HEADER[provider]: REQUEST_ID}
    if provider == "anthropic":
        etype = ANTHROPIC_HTTP[status][0]
        if etype is None:
            return Reply(status, headers, [HTML_503], content_type="text/html", framing="length")
        body = anthropic_error_body(etype, f"fake-{status} from anthropic")
        return Reply.json(status, body, headers)
    etype, code, _ = OPENAI_HTTP[status]
    if etype is None:
        return Reply(status, headers, [f"fake-{status} overloaded"], content_type="text/plain",
                     framing="length")
    return Reply.json(status, openai_error_body(f"fake-{status} from openai", etype, code), headers)


def http_message(status: int) -> Callable[[str, str], str]:
    def message(provider: str, mode: str) -> str:
        if provider == "anthropic" and status == 503:
            return "Service Unavailable"
        return f"fake-{status}"
    return message


@pytest.mark.parametrize("status", sorted(ANTHROPIC_HTTP))
def test_http_error_status(start_cli, fake_keys, status):
    """Each status in every mode; the provider alternates (both see every status)."""
    code = ANTHROPIC_HTTP[status][1]
    assert OPENAI_HTTP[status][2] == code
    case = Case(
        id=f"http-{status}", code=code,
        stream=lambda p: [http_error_reply(p, status)],
        single=lambda p: [http_error_reply(p, status)],
        message=http_message(status), status=status, request_id=True,
    )
    run_case(start_cli, fake_keys, case, alternating(sorted(ANTHROPIC_HTTP).index(status)))


def test_openai_insufficient_quota_is_billing(start_cli, fake_keys):
    def reply(provider):
        body = openai_error_body("fake-quota: You exceeded your current quota",
                                 "insufficient_quota", "insufficient_quota")
        return [Reply.json(429, body, {"x-request-id": REQUEST_ID})]

    case = Case(id="quota", code=4, stream=reply, single=reply, message=const("fake-quota"),
                status=429, request_id=True)
    run_case(start_cli, fake_keys, case, every_mode("openai"))


ANTHROPIC_STREAM_ERRORS = [
    ("overloaded_error", 6),
    ("api_error", 6),
    ("rate_limit_error", 5),
    ("invalid_request_error", 3),
    ("authentication_error", 4),
    ("billing_error", 4),
]


@pytest.mark.parametrize("etype,code", ANTHROPIC_STREAM_ERRORS)
def test_anthropic_in_stream_error_on_http_200(start_cli, fake_keys, etype, code):
    """Classified by the error's type, not the HTTP status (200). overloaded_error runs in
    every mode; the other types in two modes each, in rotation."""
    i = [t for t, _ in ANTHROPIC_STREAM_ERRORS].index(etype)
    modes = MODES if i == 0 else (MODES[i % 4], MODES[(i + 2) % 4])
    msg = f"fake-{etype} in the stream"
    case = Case(
        id=etype, code=code,
        stream=lambda p: [Reply(body=[*partial_sse(p), anthropic_error_event(etype, msg)])],
        single=lambda p: [Reply.json(200, anthropic_error_body(etype, msg))],
        message=const(msg), printed=TEXT, started=True, raw="body",
    )
    run_case(start_cli, fake_keys, case, every_mode("anthropic", modes))


OPENAI_STREAM_ERRORS = {
    # OpenAI's own mid-stream error object
    "openai-error-object": ({"error": {"message": "fake-openai-stream: The server had an error",
                                       "type": "server_error", "param": None, "code": None}}, 6),
    # vLLM: the HTTP status as an integer `code`
    "vllm-integer-code-400": ({"error": {"object": "error", "type": "BadRequestError",
                                         "message": "fake-vllm: maximum context length is 4096",
                                         "param": None, "code": 400}}, 3),
}


@pytest.mark.parametrize("name", sorted(OPENAI_STREAM_ERRORS))
def test_openai_in_stream_error_object(start_cli, fake_keys, name):
    obj, code = OPENAI_STREAM_ERRORS[name]
    case = Case(
        id=name, code=code,
        stream=lambda p: [Reply(body=[*partial_sse(p), sse_event(obj)])],
        single=lambda p: [Reply.json(200, obj)],
        message=const(obj["error"]["message"]), printed=TEXT, started=True, raw="body",
    )
    modes = MODES if name == "openai-error-object" else ("text", "json")
    run_case(start_cli, fake_keys, case, every_mode("openai", modes))


def failed_response(code: str, message: str) -> dict:
    """A non-streaming Response that failed, with its error object."""
    return {**response_object(status="failed"), "error": {"code": code, "message": message}}


RESPONSES_STREAM_ERRORS = {
    # The documented `error` event: code and message at the top.
    "error-event-flat": (
        responses_error_event("invalid_prompt", "fake-invalid-prompt: flagged"),
        {"error": {"message": "fake-invalid-prompt: flagged", "type": "invalid_request_error",
                   "code": "invalid_prompt", "param": None}}, 3),
    # The `error` event as the API has been seen to send it: nested under `error`.
    "error-event-nested": (
        responses_error_event("rate_limit_exceeded", "fake-rate-limit: TPM", nested=True,
                              etype="tokens"),
        failed_response("rate_limit_exceeded", "fake-rate-limit: TPM"), 5),
    "response-failed": (
        responses_failed_event("server_error", "fake-failed: the model failed"),
        failed_response("server_error", "fake-failed: the model failed"), 6),
}


@pytest.mark.parametrize("name", list(RESPONSES_STREAM_ERRORS))
def test_responses_in_stream_error_by_code(start_cli, fake_keys, name):
    """Classified by the error's code on an HTTP 200, in every mode: streamed, after the
    partial text; --no-stream, as a 200 whose body is the failure."""
    event, whole, code = RESPONSES_STREAM_ERRORS[name]
    message = (whole.get("error") or {}).get("message")
    case = Case(
        id=name, code=code,
        stream=lambda p: [Reply(body=[*partial_sse(p), event])],
        single=lambda p: [Reply.json(200, whole)],
        message=const(message), printed=TEXT, started=True, raw="body",
    )
    run_case(start_cli, fake_keys, case, every_mode("openai-responses"))


_BUG_IN_THE_MAPPER = """
import sys
from streamcli import entry
from streamcli.providers import responses
def bug(*args):
    raise RuntimeError("a bug in the mapper")
responses.StreamMapper.feed = bug
responses.parse_message = bug
entry.main(sys.argv[1:])
"""


@pytest.mark.parametrize("mode", MODES)
def test_responses_usage_and_internal_errors(run_cli, fake_keys, mode):
    """The two rows that need no server error: a usage error (--stop, which the
    Responses API does not have; nothing is sent) and a bug (exit 1, one line, no
    traceback), each in its mode's output."""
    from tests.helpers.cli import python_code_command
    with FakeServer() as srv:
        srv.enqueue(Reply.json(200, message("openai-responses")) if mode == "json"
                    else Reply(body=provider_sse("openai-responses")))
        base = [*PROVIDER_ARGS["openai-responses"], "--base-url", srv.url, "--retries", "0",
                *MODE_FLAGS[mode]]
        usage = run_cli([*base, "--stop", "END", "hi"], env=fake_keys)
        assert srv.requests == []
        bug = run_cli([*base, "hi"], env=fake_keys,
                      command=python_code_command(_BUG_IN_THE_MAPPER))
    for r, code, words in ((usage, 2, "--stop"), (bug, 1, "internal error")):
        err = r.stderr.decode()
        assert r.returncode == code, (mode, err)
        assert "Traceback" not in err and err.count("\n") == 1 and words in err, err
        if mode == "jsonl":
            assert jsonl_events(r.stdout)[-1]["exit_code"] == code
        elif mode == "json":
            assert checked_result_object(r.stdout)["exit_code"] == code
        elif mode == "raw" and code == 1:
            assert r.stdout == b"".join(provider_sse("openai-responses"))[:len(r.stdout)]


def slow_stream(provider: str) -> list[Reply]:
    """Starts at once, then takes 3 s per part: far beyond --timeout 0.5."""
    parts = provider_sse(provider, texts=("Hel", "lo", " slow", " stream"))
    head = partial_sse(provider)
    body: list = list(head)
    for part in parts[len(head):]:
        body += [Pause(3), part]
    return [Reply(body=body)]


def pings_only(provider: str) -> list[Reply]:
    """A stream that starts, then only keeps the socket busy: Anthropic `ping` events,
    SSE comments for OpenAI-compatible servers. If the pings were taken for progress the
    body would end without a terminal event (exit 9), not stall (exit 8)."""
    first = provider_sse(provider)[0]
    if provider == "anthropic":
        keepalive = anthropic_event({"type": "ping"})
    else:
        keepalive = b": keep-alive\n\n"
    body: list = [first]
    for _ in range(40):
        body += [Pause(0.1), keepalive]
    return [Reply(body=body)]


def invalid_json(provider: str) -> list[Reply]:
    bad = {"anthropic": b"event: content_block_delta\ndata: {not json\n\n",
           "openai": b"data: {not json\n\n",
           "openai-responses": b"event: response.output_text.delta\ndata: {not json\n\n"}[provider]
    rest = provider_sse(provider)[len(partial_sse(provider)):]
    return [Reply(body=[*partial_sse(provider), bad, *rest])]


def no_terminal_message(provider: str, mode: str) -> str:
    if mode == "json":
        return "not JSON"
    return {"anthropic": "message_stop", "openai": "[DONE]",
            "openai-responses": "response.completed"}[provider]


def malformed(what: str) -> Callable[[str, str], str]:
    return lambda provider, mode: "not JSON" if mode == "json" else what


TRUNCATED_JSON = '{"id": "msg_test", "type": "message", "content": [{"type": "te'

STREAM_FAILURES = [
    Case("connection-refused", 7, stream=lambda p: None, single=lambda p: None,
         message=const("connect")),
    Case("dropped-mid-stream", 7,
         stream=lambda p: [Reply(body=partial_sse(p), end="drop")],  # chunked, no last chunk
         single=lambda p: [Reply.json(200, message(p), end="drop")],  # short of Content-Length
         message=const("connection"), printed=TEXT, started=True, raw="body"),
    Case("reset-mid-stream", 7,
         stream=lambda p: [Reply(body=partial_sse(p), end="reset")],
         single=lambda p: [Reply.json(200, message(p), end="reset")],
         message=const("connection"), printed=TEXT, started=True, raw="body"),
    Case("stall", 8,
         stream=lambda p: [Reply(body=partial_sse(p), end="hang")],
         single=lambda p: [Reply.json(200, message(p), end="hang")],
         message=const("--idle-timeout"), printed=TEXT, started=True, raw="body",
         args=("--idle-timeout", "0.5")),
    Case("pings-only", 8, stream=pings_only, single=lambda p: None,
         message=const("--idle-timeout"), started=True, raw="prefix",
         args=("--idle-timeout", "0.5"), modes=("text", "raw", "jsonl")),
    Case("total-timeout", 8, stream=slow_stream,
         single=lambda p: [Reply.json(200, message(p), before=[Pause(5)])],
         message=const("--timeout"), printed=PREFIX, started=None, raw="prefix",
         args=("--timeout", "0.5"), requests=(0, 1)),  # 0: it fired before the request left
    Case("no-terminal-event-close-framing", 9,
         stream=lambda p: [Reply(body=without_terminal(p), framing="close")],
         single=lambda p: [not_json_body(TRUNCATED_JSON, framing="close")],
         message=no_terminal_message, printed=TEXT, started=True, raw="body"),
    Case("no-terminal-event-chunked", 9,
         stream=lambda p: [Reply(body=without_terminal(p))],  # a complete chunked body
         single=lambda p: [not_json_body(TRUNCATED_JSON)],
         message=no_terminal_message, printed=TEXT, started=True, raw="body"),
    Case("invalid-json-in-data", 9, stream=invalid_json,
         single=lambda p: [not_json_body("this is not json")],
         message=malformed("invalid JSON"), printed=TEXT, started=True, raw="prefix"),
    Case("200-text-html", 9,
         stream=lambda p: [Reply(200, body=["<html><body>fake login page</body></html>"],
                                 content_type="text/html", framing="length")],
         single=lambda p: [Reply(200, body=["<html><body>fake login page</body></html>"],
                                 content_type="text/html", framing="length")],
         # --raw-sse writes a 2xx body as it came, whatever it is, as a replay of it
         # does (issue 10: --replay agrees with live HTTP); the exit status says 9.
         message=malformed("text/html"), raw="body"),
]


@pytest.mark.parametrize("case", STREAM_FAILURES, ids=lambda c: c.id)
def test_connection_timeout_and_malformed_stream(start_cli, fake_keys, case):
    """Each row in every mode it applies to; the provider alternates."""
    run_case(start_cli, fake_keys, case, alternating(STREAM_FAILURES.index(case), case.modes))


# --------------------------------------------------------------------------- edge cases


def test_request_id_header_is_reported_for_errors_after_the_headers(start_cli, fake_keys):
    """An in-stream error (or a 200 whose JSON body is an error) carries no request id of
    its own: the one in the response headers is reported."""
    headers = {"anthropic": {"request-id": REQUEST_ID}, "openai": {"x-request-id": REQUEST_ID}}
    jobs = [
        Job("anthropic", "text", [Reply(200, headers["anthropic"], [*partial_sse("anthropic"),
            anthropic_error_event("overloaded_error", "fake-overloaded")])]),
        Job("openai", "jsonl", [Reply(200, headers["openai"], [*partial_sse("openai"),
            sse_event(openai_error_body("fake-server-error"))])]),
        Job("anthropic", "json", [Reply.json(200, anthropic_error_body("api_error", "fake-api"),
                                             headers["anthropic"])]),
    ]
    for job in run_jobs(start_cli, fake_keys, jobs):
        assert job.result.returncode == 6, job.where
        lines = stderr_lines(job)
        assert len(lines) == 1 and REQUEST_ID in lines[0], f"{job.where} {lines!r}"
        if job.mode == "jsonl":
            errors = [e for e in jsonl_lines(job) if e["type"] == "error"]
            assert errors[0]["request_id"] == REQUEST_ID
        if job.mode == "json":
            assert result_object(job)["error"]["request_id"] == REQUEST_ID


@pytest.mark.parametrize("status,message", [
    (401, "fake-401: You didn't provide an API key."),
    (403, "fake-403: You are not allowed to sample from this model"),
], ids=["401", "403"])
def test_openai_auth_status_wins_over_invalid_request_type(run_cli, fake_keys, status, message):
    """OpenAI sends some auth failures with type invalid_request_error and no code: the
    HTTP status decides (4), not the type (3)."""
    with FakeServer() as srv:
        srv.enqueue(Reply.json(status, openai_error_body(message, "invalid_request_error")))
        r = run_cli([*PROVIDER_ARGS["openai"], "--base-url", srv.url, "--retries", "0", "hi"],
                    env=fake_keys)
    assert "fake-" in r.stderr.decode()
    assert r.returncode == 4, r.stderr


@pytest.mark.parametrize("provider,body", [
    ("anthropic", sse_event({"type": "content_block_delta", "index": 0, "delta": "oops"},
                            "content_block_delta")),
    ("openai", sse_event({"id": "chatcmpl-test", "choices": "oops"})),
], ids=["anthropic-delta-is-a-string", "openai-choices-is-a-string"])
def test_wrong_shaped_json_is_a_malformed_stream(run_cli, fake_keys, provider, body):
    """Valid JSON of a shape the provider never sends is a malformed stream, not a crash."""
    parts = provider_sse(provider)
    with FakeServer() as srv:
        srv.enqueue(Reply(body=[*parts[:1], body, *parts[1:]]))
        r = run_cli([*PROVIDER_ARGS[provider], "--base-url", srv.url, "--retries", "0", "hi"],
                    env=fake_keys)
    assert "Traceback" not in r.stderr.decode()
    assert r.returncode == 9, r.stderr


# --------------------------------------------------------------------------- retries

FAST = ["--max-retry-wait", "0.05"]  # caps the exponential backoff: retries stay fast


def retry_notices(job: Job) -> list[str]:
    return [line for line in stderr_lines(job) if line.startswith("streamcli: retry ")]


def check_success(job: Job, requests: int) -> None:
    r, where = job.result, job.where
    assert r.returncode == 0, f"{where} exit {r.returncode}; stderr {r.stderr!r}"
    assert len(job.server.requests) == requests, f"{where} {len(job.server.requests)} requests"
    final = job.replies[-1]
    if job.mode == "text":
        assert r.stdout == b"Hello\n", where
    elif job.mode == "raw":
        assert r.stdout == body_bytes(final), f"{where} {r.stdout!r}"
    elif job.mode == "jsonl":
        events = jsonl_lines(job)
        types = [e["type"] for e in events]
        assert types[0] == "start" and types.count("start") == 1, f"{where} {types}"
        assert types[-1] == "end" and events[-1]["status"] == "ok", f"{where} {events[-1]}"
        assert events[-1]["exit_code"] == 0
        assert "".join(e["text"] for e in events if e["type"] == "text") == TEXT, where
    else:
        obj = result_object(job)
        assert obj["error"] is None and obj["text"] == TEXT and obj["exit_code"] == 0, obj


def test_retry_after_an_overload_then_success(start_cli, fake_keys):
    """A 529 (Anthropic) or 503 (OpenAI) before any output is retried once: exit 0, one
    notice on stderr, one `retry` event in --jsonl, the answer printed once."""
    def replies(provider, mode):
        if provider == "anthropic":
            error = Reply.json(529, anthropic_error_body("overloaded_error", "fake-overloaded"))
        else:
            error = Reply.json(503, openai_error_body("fake-unavailable"))
        return [error, success(provider, mode)]

    jobs = [Job("anthropic", m, replies("anthropic", m), FAST) for m in MODES]
    jobs.append(Job("openai", "jsonl", replies("openai", "jsonl"), FAST))
    for job in run_jobs(start_cli, fake_keys, jobs, retries=2):
        check_success(job, requests=2)
        notices = retry_notices(job)
        assert len(notices) == 1 and notices[0].startswith("streamcli: retry 1/2 in "), job.where
        # short (issue 10 #23): status and type, not the server's whole message
        assert notices[0].endswith((" s: HTTP 529 overloaded_error", " s: HTTP 503 server_error")), notices
        assert len(stderr_lines(job)) == 1, f"{job.where} {job.result.stderr!r}"
        if job.mode == "jsonl":
            retries = [e for e in jsonl_lines(job) if e["type"] == "retry"]
            status = 529 if job.provider == "anthropic" else 503
            assert len(retries) == 1 and retries[0]["attempt"] == 1, retries
            assert retries[0]["status"] == status, retries


def _http_date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


@pytest.mark.parametrize("headers,delay", [
    ({"retry-after": "0"}, 0.0),
    ({"retry-after-ms": "20"}, 0.02),
    ({"retry-after": _http_date(-5)}, 0.0),  # an HTTP date already past
], ids=["retry-after-0", "retry-after-ms-20", "retry-after-http-date"])
def test_retry_after_headers_are_honoured(start_cli, fake_keys, headers, delay):
    """Without the header the backoff would be 0.375-0.5 s (--max-retry-wait is 5 here)."""
    error = Reply.json(429, anthropic_error_body("rate_limit_error", "fake-slow-down"), headers)
    job = Job("anthropic", "jsonl", [error, success("anthropic", "jsonl")],
              ["--max-retry-wait", "5"])
    run_jobs(start_cli, fake_keys, [job], retries=2)
    check_success(job, requests=2)
    retries = [e for e in jsonl_lines(job) if e["type"] == "retry"]
    assert len(retries) == 1 and retries[0]["delay_s"] == pytest.approx(delay, abs=0.001), retries
    assert retries[0]["status"] == 429


def test_retry_after_longer_than_max_retry_wait_fails_at_once(start_cli, fake_keys):
    """The server asks for 100 s, --max-retry-wait is 1: exit 5 without waiting (the run is
    bounded to 20 s), saying how long it asked."""
    def replies(provider, mode):
        error = Reply.json(429, anthropic_error_body("rate_limit_error", "fake-slow-down"),
                           {"retry-after": "100"})
        return [error, success(provider, mode)]

    jobs = [Job("anthropic", "jsonl", replies("anthropic", "jsonl"), ["--max-retry-wait", "1"])]
    for job in run_jobs(start_cli, fake_keys, jobs, retries=2):
        assert job.result.returncode == 5, f"{job.where} {job.result.stderr!r}"
        assert len(job.server.requests) == 1, job.where
        lines = stderr_lines(job)
        assert len(lines) == 1 and "fake-slow-down" in lines[0], lines
        assert "100" in lines[0] and "--max-retry-wait" in lines[0], lines
        if job.mode == "jsonl":
            events = jsonl_lines(job)
            assert events[-1]["exit_code"] == 5 and "retry" not in [e["type"] for e in events]


def anthropic_error(status: int, etype: str, headers=None) -> Reply:
    return Reply.json(status, anthropic_error_body(etype, f"fake-{etype}"), headers)


def openai_error(status: int, etype: str, code: str | None) -> Reply:
    return Reply.json(status, openai_error_body(f"fake-{code or etype}", etype, code))


NOT_RETRIED = [
    ("anthropic-400", "anthropic", anthropic_error(400, "invalid_request_error"), 3),
    ("anthropic-401", "anthropic", anthropic_error(401, "authentication_error"), 4),
    ("anthropic-403", "anthropic", anthropic_error(403, "permission_error"), 4),
    ("anthropic-404", "anthropic", anthropic_error(404, "not_found_error"), 3),
    ("anthropic-413", "anthropic", anthropic_error(413, "request_too_large"), 3),
    ("openai-401", "openai", openai_error(401, "invalid_request_error", "invalid_api_key"), 4),
    ("openai-insufficient-quota", "openai",
     openai_error(429, "insufficient_quota", "insufficient_quota"), 4),
    ("anthropic-billing-in-stream-before-text", "anthropic",
     Reply(body=[anthropic_sse(["x"])[0],
                 anthropic_error_event("billing_error", "fake-billing")]), 4),
    ("anthropic-500-x-should-retry-false", "anthropic",
     anthropic_error(500, "api_error", {"x-should-retry": "false"}), 6),
]


@pytest.mark.parametrize("name,provider,error,code", NOT_RETRIED, ids=[c[0] for c in NOT_RETRIED])
def test_errors_that_are_never_retried(start_cli, fake_keys, name, provider, error, code):
    """--retries 2 and a success queued behind the error: a retry would show as exit 0."""
    job = Job(provider, "text", [error, success(provider, "text")], FAST)
    run_jobs(start_cli, fake_keys, [job], retries=2)
    assert job.result.returncode == code, f"{job.where} {job.result.stderr!r}"
    assert len(job.server.requests) == 1
    assert retry_notices(job) == [] and len(stderr_lines(job)) == 1


def test_in_stream_overload_after_text_is_not_retried(start_cli, fake_keys):
    """Text already on stdout: a retry would print it twice. One request, text kept, 6."""
    def replies(mode):
        failing = Reply(body=[*partial_sse("anthropic"),
                              anthropic_error_event("overloaded_error", "fake-overloaded")])
        return [failing, success("anthropic", mode)]

    jobs = [Job("anthropic", m, replies(m), FAST) for m in ("text", "jsonl")]
    for job in run_jobs(start_cli, fake_keys, jobs, retries=2):
        assert job.result.returncode == 6, f"{job.where} {job.result.stderr!r}"
        assert len(job.server.requests) == 1, job.where
        assert retry_notices(job) == [], job.where
        if job.mode == "text":
            assert job.result.stdout == b"Hello\n"
        else:
            events = jsonl_lines(job)
            assert "".join(e["text"] for e in events if e["type"] == "text") == TEXT
            assert "retry" not in [e["type"] for e in events]
            assert events[-1]["exit_code"] == 6


def test_in_stream_overload_before_text_is_retried(start_cli, fake_keys):
    """message_start then an overloaded_error, nothing printed yet: retried, answer once.
    In --raw-sse the message_start bytes are already on stdout, so it is not retried."""
    def replies(mode):
        if mode == "json":
            failing = Reply.json(200, anthropic_error_body("overloaded_error", "fake-overloaded"))
        else:
            failing = Reply(body=[anthropic_sse(["x"])[0],
                                  anthropic_error_event("overloaded_error", "fake-overloaded")])
        return [failing, success("anthropic", mode)]

    jobs = [Job("anthropic", m, replies(m), FAST) for m in MODES]
    for job in run_jobs(start_cli, fake_keys, jobs, retries=2):
        if job.mode == "raw":
            assert job.result.returncode == 6, f"{job.where} {job.result.stderr!r}"
            assert len(job.server.requests) == 1
            assert job.result.stdout == body_bytes(job.replies[0])
            continue
        check_success(job, requests=2)
        assert len(retry_notices(job)) == 1, job.where
        if job.mode == "jsonl":
            assert [e["type"] for e in jsonl_lines(job)].count("retry") == 1


def test_connection_refused_is_retried_then_exit_7(start_cli, fake_keys):
    jobs = [Job("openai", "jsonl", None, FAST)]
    for job in run_jobs(start_cli, fake_keys, jobs, retries=2):
        assert job.result.returncode == 7, job.where
        notices = retry_notices(job)
        assert [n.split(" in ")[0] for n in notices] == ["streamcli: retry 1/2",
                                                         "streamcli: retry 2/2"], notices
        lines = stderr_lines(job)
        assert len(lines) == 3 and lines[-1].startswith("streamcli: error: "), lines
        events = jsonl_lines(job)
        assert [e["attempt"] for e in events if e["type"] == "retry"] == [1, 2]
        assert events[0]["type"] == "start" and events[-1]["exit_code"] == 7


def test_retries_exhausted(start_cli, fake_keys):
    """--retries 2: three attempts, two notices, then the error's own exit status."""
    overloaded = Reply.json(529, anthropic_error_body("overloaded_error", "fake-overloaded"))
    limited = Reply.json(429, openai_error_body("fake-limited", "requests", "rate_limit_exceeded"))
    jobs = [Job("anthropic", "text", [overloaded] * 3, FAST),
            Job("openai", "jsonl", [limited] * 3, FAST)]
    for job, code in zip(run_jobs(start_cli, fake_keys, jobs, retries=2), (6, 5)):
        assert job.result.returncode == code, f"{job.where} {job.result.stderr!r}"
        assert len(job.server.requests) == 3
        assert len(retry_notices(job)) == 2
        assert stderr_lines(job)[-1].startswith("streamcli: error: fake-")


# --------------------------------------------------------------------------- secrets


SECRET_RUNS = [
    ("anthropic", ["--debug"], lambda p: [http_error_reply(p, 401)]),
    ("anthropic", ["--debug", "--raw-sse"], lambda p: [Reply(body=[*partial_sse(p),
        anthropic_error_event("authentication_error", "fake-auth")])]),
    ("openai", ["--debug", "--raw-sse"], lambda p: [Reply(body=partial_sse(p), end="reset")]),
    ("anthropic", ["--debug", "--jsonl"], lambda p: None),
    ("openai", ["--debug", "--no-stream"], lambda p: [Reply.json(200, message(p), end="drop")]),
    # malformed data with --debug (the path that once ended in a traceback)
    ("openai", ["--debug"], lambda p: [Reply(body=[sse_event({"choices": "oops"})])]),
]


def test_api_key_never_in_output_with_debug(start_cli, fake_keys):
    """start_cli checks every run of this module for the keys; these add --debug to
    failures, in text, --raw-sse, --jsonl and --no-stream."""
    jobs = [Job(p, "text", make(p), args) for p, args, make in SECRET_RUNS]
    for job in run_jobs(start_cli, fake_keys, jobs):
        assert job.result.returncode != 0, job.where
        out = job.result.stdout + job.result.stderr
        assert b"SECRETKEY" not in out and b"sk-" not in out, f"{job.where} {out!r}"
    # the key did reach the server, so the runs were authenticated requests
    seen = [job.server.requests[0].headers for job in jobs if job.server is not None]
    assert any(h.get("x-api-key") == fake_keys["ANTHROPIC_API_KEY"] for h in seen)
    assert any(h.get("authorization") == f"Bearer {fake_keys['OPENAI_API_KEY']}" for h in seen)
