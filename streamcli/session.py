"""One run: send (with retries) or replay, pump the body through decoder, provider and
sink, and end with an Outcome, whatever happened.

The pump is the hot path: per network read, one decoder call, one mapper call per
event and one sink write (one stdout write and flush) for all of it.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Iterable

from streamcli import providers, signals
from streamcli.errors import (Cancelled, MalformedStream, RateLimitError, StreamcliError,
                              TimeoutExpired, TotalTimeout, UsageError)
from streamcli.events import Retry, normalize_stop
from streamcli.outcome import Outcome
from streamcli.providers.errors import error_from_event, request_id_of
from streamcli.request import Request
from streamcli.sse import SSEDecoder, SSEError

REPLAY_CHUNK = 64 * 1024
BACKOFF_START = 0.5  # seconds; doubled per attempt, as the official SDKs do
BACKOFF_MAX = 8.0


@dataclass
class RunOptions:
    mode: str = "text"  # text, jsonl, raw, json
    retries: int = 2
    max_retry_wait: float = 60.0
    connect_timeout: float = 10.0
    idle_timeout: float = 120.0
    total_timeout: float | None = None
    replay: str | None = None  # a file of captured SSE (or a JSON response), "-" for stdin
    usage: bool = False
    debug: bool = False


class Session:
    def __init__(self, prepare, sink, ui) -> None:
        self.prepare = prepare  # () -> (Request | None, RunOptions); may raise UsageError
        self.request: Request | None = None
        self.opts = RunOptions()
        self.sink = sink
        self.ui = ui
        self.mapper = None
        self.started = time.monotonic()
        self.first_token: float | None = None

    # -- the whole run ------------------------------------------------------------

    def run(self) -> Outcome:
        try:
            signals.release()  # a signal held back during start-up is delivered here
            self.request, self.opts = self.prepare()
            if self.request is not None:
                self.sink.provider, self.sink.model = self.request.provider, self.request.model
            self.started = time.monotonic()
            signals.arm_total_timeout(self.opts.total_timeout)
            if self.opts.replay is not None:
                self._replay(self.opts.replay)
            elif self.request.stream:
                self._with_retries(self._stream_once)
            else:
                self._with_retries(self._complete_once)
        except StreamcliError as err:
            signals.disarm_total_timeout()
            return self._finish("error", err)
        except TotalTimeout:
            signals.disarm_total_timeout()
            return self._finish("error", TimeoutExpired(
                f"the request took longer than {self.opts.total_timeout:g} s (--timeout)"))
        except Cancelled as cancel:
            signals.disarm_total_timeout()
            self._finish("cancelled", None, cancel.signum)
            raise
        except Exception as exc:  # a bug: still end the mode's output properly (exit 1)
            signals.disarm_total_timeout()
            if isinstance(exc, BrokenPipeError):
                raise  # stdout is gone: nothing more can be written there
            if self.opts.debug:
                import traceback
                traceback.print_exc()
            return self._finish("error", StreamcliError(
                f"internal error: {type(exc).__name__}: {exc}"
                + ("" if self.opts.debug else " (run with --debug for details)")))
        signals.disarm_total_timeout()
        return self._finish("ok", None)

    def _redact(self, err: StreamcliError) -> StreamcliError:
        """The key never appears in output, even when a server or proxy echoes it back."""
        key = self.request.api_key if self.request else None
        if key and key in err.message:
            err.message = err.message.replace(key, "***")
            err.args = (err.message,)
        return err

    def _finish(self, status: str, err: StreamcliError | None, signum: int | None = None) -> Outcome:
        if err is not None:
            self._redact(err)
        mapper = self.mapper
        now = time.monotonic()
        exit_code = {"ok": 0, "error": err.exit_code if err else 1, "cancelled": 128 + (signum or 2)}[status]
        outcome = Outcome(
            status=status, exit_code=exit_code, error=err,
            provider=getattr(mapper, "provider", None) or (self.request.provider if self.request else None),
            model=getattr(mapper, "model", None) or (self.request.model if self.request else None),
            id=getattr(mapper, "id", None),
            stop_raw=getattr(mapper, "stop_raw", None),
            usage=mapper.usage() if mapper is not None else None,
            ttft_ms=_ms(self.first_token - self.started) if self.first_token else None,
            duration_ms=_ms(now - self.started),
            signal_name={2: "SIGINT", 15: "SIGTERM"}.get(signum or 0),
        )
        self.ui.stop_spinner()
        self.sink.finish(outcome)
        self._report(outcome)
        return outcome

    def _report(self, outcome: Outcome) -> None:
        """The stderr side of the end: error, cancellation, warnings, --usage."""
        if outcome.status == "cancelled":
            self.ui.line(f"streamcli: cancelled ({outcome.signal_name}); partial output kept")
        elif outcome.error is not None:
            self.ui.error(outcome.error.describe())
        if normalize_stop(outcome.stop_raw) == "max_tokens":
            self.ui.warn(f"the answer was cut off at the token limit (stop reason "
                         f"{outcome.stop_raw}); raise --max-tokens for more")
        if self.opts.usage:
            self.ui.line(_usage_line(outcome))

    # -- retries --------------------------------------------------------------------

    def _with_retries(self, attempt_once) -> None:
        from streamcli.transport import Transport
        transport = Transport(url=self.request.base_url, connect_timeout=self.opts.connect_timeout,
                              idle_timeout=self.opts.idle_timeout)
        try:
            attempt = 0
            while True:
                if self.opts.mode == "text":  # other modes have no first-token moment to end it
                    self.ui.start_spinner()
                try:
                    attempt_once(transport)
                    return
                except StreamcliError as err:
                    if not self._may_retry(err, attempt):
                        raise
                    delay = self._delay(err, attempt)
                    attempt += 1
                    reason = self._redact(err).describe()
                    self.ui.stop_spinner()
                    self.ui.notice(f"retry {attempt}/{self.opts.retries} in {delay:.1f} s: {reason}")
                    self.sink.retry(Retry(attempt, delay, reason, err.status))
                    time.sleep(delay)  # a Ctrl-C here raises Cancelled at once
        finally:
            transport.close()

    def _may_retry(self, err: StreamcliError, attempt: int) -> bool:
        # Never after answer output: a retry would print the start of the answer twice.
        return err.retryable and attempt < self.opts.retries and not self.sink.committed

    def _delay(self, err: StreamcliError, attempt: int) -> float:
        asked = err.retry_after
        if asked is not None and asked > self.opts.max_retry_wait:
            # Exit 5 whatever the status: the server is limiting us for longer than allowed.
            raise RateLimitError(f"{err.message} (the server asked to wait {asked:g} s, longer "
                            f"than --max-retry-wait {self.opts.max_retry_wait:g})",
                            status=err.status, type=err.type, request_id=err.request_id,
                            retryable=False)
        if asked is not None:
            return asked
        backoff = min(BACKOFF_START * 2 ** attempt, BACKOFF_MAX)
        return min(backoff * (1 - 0.25 * random.random()), self.opts.max_retry_wait)

    # -- one attempt ----------------------------------------------------------------

    def _stream_once(self, transport) -> None:
        prov = providers.load(self.request.provider)
        http_req = prov.build_request(self.request)
        with transport.stream(http_req) as response:
            status = response.status_code
            if status >= 300:
                body = transport.read_all(response, limit=1024 * 1024)
                raise prov.error_from_response(status, body, response.headers)
            try:
                ctype = response.headers.get("content-type", "text/event-stream").lower()
                if not ctype.startswith("text/event-stream"):
                    self._not_sse(ctype, transport.read_all(response, limit=1024 * 1024))
                self.mapper = prov.StreamMapper()
                self._pump(transport.chunks(response), self.mapper)
            except StreamcliError as err:
                # Errors inside a 200 carry no request id of their own: the response's applies.
                err.request_id = err.request_id or request_id_of(response.headers, prov.REQUEST_ID_HEADER)
                raise

    def _not_sse(self, ctype: str, body: bytes) -> None:
        """A 2xx that is not an event stream: an error object if it carries one, else 9."""
        try:
            obj = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            obj = None
        if isinstance(obj, dict) and obj.get("error"):
            raise error_from_event(obj)  # classified by its own type, like an in-stream error
        raise MalformedStream(f"expected an event stream, but the server sent {ctype or 'no content type'}"
                              f" ({len(body)} bytes)")

    def _complete_once(self, transport) -> None:
        prov = providers.load(self.request.provider)
        status, headers, body = transport.post(prov.build_request(self.request))
        if status >= 300:
            raise prov.error_from_response(status, body, headers)
        try:
            self._parse_complete(prov, body)
        except StreamcliError as err:
            err.request_id = err.request_id or request_id_of(headers, prov.REQUEST_ID_HEADER)
            raise

    def _parse_complete(self, prov, body: bytes) -> None:
        try:
            obj = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise MalformedStream(f"the response is not JSON: {body[:120]!r}") from None
        if not isinstance(obj, dict):
            raise MalformedStream(f"unexpected response: {body[:120]!r}")
        out: list = []
        try:
            self.mapper = prov.parse_message(obj, out)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            raise MalformedStream(f"unexpected response shape ({exc}): {body[:120]!r}") from None
        self.first_token = time.monotonic()
        self.sink.write(out)

    # -- replay ---------------------------------------------------------------------

    def _replay(self, path: str) -> None:
        try:
            stream = open(0 if path == "-" else path, "rb", closefd=path != "-")
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        with stream:
            first = stream.read(REPLAY_CHUNK)
            if first.lstrip()[:1] == b"{":  # a saved non-streaming JSON response
                body = first + stream.read()
                prov = providers.load("anthropic" if b'"type"' in body[:200] and b'"content"' in body
                                      else "openai")
                self.sink.raw(body)
                self._parse_complete(prov, body)
                return
            prov = providers.load(providers.detect_kind(first))
            self.mapper = prov.StreamMapper()
            self._pump(_chain(first, iter(lambda: stream.read(REPLAY_CHUNK), b"")), self.mapper)

    # -- the hot path -------------------------------------------------------------

    def _pump(self, chunks: Iterable[bytes], mapper) -> None:
        decoder = SSEDecoder()
        raw_mode = self.opts.mode == "raw"
        try:
            self._pump_events(chunks, decoder, mapper, raw_mode)
        except StreamcliError:
            # --raw-sse reads on after the terminal event (to the end of the body); what
            # goes wrong there (a drop, a stall) cannot change a complete answer.
            if not (raw_mode and mapper.complete):
                raise
            return
        decoder.finish()
        mapper.check_end(decoder.stray_error)

    def _pump_events(self, chunks: Iterable[bytes], decoder, mapper, raw_mode: bool) -> None:
        feed, map_event, sink = decoder.feed, mapper.feed, self.sink
        write, raw = sink.write, sink.raw
        idle = self.opts.idle_timeout
        monotonic = time.monotonic
        last_content = monotonic()
        fast = getattr(mapper, "fast_text", None)
        write_utf8 = getattr(sink, "write_utf8", None)
        if write_utf8 is None:
            fast = None
        for chunk in chunks:
            if raw_mode:
                raw(chunk)
                if mapper.complete:
                    continue  # after the terminal event: copy the bytes, parse nothing
            if fast is not None and decoder.idle:
                piece = fast(chunk)
                if piece is not None:
                    write_utf8(piece)
                    if self.first_token is None and sink.committed:
                        self.first_token = monotonic()
                    last_content = monotonic()
                    continue
            try:
                events = feed(chunk)
            except SSEError as exc:
                raise MalformedStream(str(exc)) from None
            if events:
                out: list = []
                content = False
                try:
                    for ev in events:
                        if ev.event != "ping":
                            content = True
                        map_event(ev, out)
                        if mapper.complete:
                            break  # nothing after the terminal event can change the answer
                except (AttributeError, TypeError, KeyError, IndexError) as exc:
                    # Valid JSON of a shape the provider never sends: a malformed stream.
                    raise MalformedStream(f"unexpected {ev.event!r} event ({exc}): "
                                          f"{ev.data[:120]!r}") from None
                finally:
                    # What was decoded before an in-stream error still gets written.
                    if out:
                        write(out)
                        if self.first_token is None and sink.committed:
                            self.first_token = monotonic()
                if content:
                    last_content = monotonic()
                    if mapper.complete and not raw_mode:
                        return
                    continue
            # Pings and comments keep the socket busy but are not progress.
            if monotonic() - last_content > idle:
                raise TimeoutExpired(f"no content from the server for {idle:g} s "
                                     f"(--idle-timeout; only pings or comments arrived)")


def _chain(first: bytes, rest):
    if first:
        yield first
    yield from rest


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _usage_line(o: Outcome) -> str:
    u = o.usage
    inp = u.input_tokens if u and u.input_tokens is not None else "?"
    out = u.output_tokens if u and u.output_tokens is not None else "?"
    ttft = f"{o.ttft_ms:.0f} ms" if o.ttft_ms is not None else "-"
    rate = "-"
    if u and u.output_tokens and o.ttft_ms is not None and o.duration_ms > o.ttft_ms:
        rate = f"{u.output_tokens / ((o.duration_ms - o.ttft_ms) / 1000):.1f}"
    return (f"usage: {inp} input tokens, {out} output tokens; first token after {ttft}; "
            f"total {o.duration_ms / 1000:.2f} s; {rate} output tokens/s")
