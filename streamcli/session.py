"""One run: attempts (policy of `retry`) or a replay, the `Outcome`, the stderr report.

Whatever happens, the mode's output ends properly.

A session starts before the plan is built (`with Session(output, env) as session:`):
the output mode is known first, so a usage error met while planning (a bad config
file, a missing key, no prompt) or a Ctrl-C while stdin is read still ends in the mode's
own `error` and `end` (--jsonl) or its one JSON object (--no-stream).
"""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING

from streamcli import providers, redact, replay, report, signals
from streamcli.attempt import complete_once, stream_once
from streamcli.errors import (Cancelled, ExitStatus, OutputError, StdoutClosed, StreamcliError,
                              TimeoutExpired, TotalTimeout)
from streamcli.events import Retry, normalize_stop
from streamcli.outcome import Outcome, outcome_of
from streamcli.pump import Progress
from streamcli.retry import RetryPolicy
from streamcli.sinks import guard, make_sink
from streamcli.transcript import Recorder, Transcript
from streamcli.ui import Stderr

if TYPE_CHECKING:  # the plan is handed down to the session; it is never imported back up
    from streamcli.plan import Output, Plan


class Session:
    def __init__(self, output: Output, env, *, asked: tuple = (None, None)) -> None:
        """`asked`: the provider and model the options named, for a `start` line written
        before the plan could resolve them."""
        self.output = output
        self.env = env
        self.redact = env.redact  # the run's secrets: every stderr line and error object
        self.redact.add(*redact.proxy_secrets(env.environ))
        self.ui = Stderr(env.stderr, quiet=output.quiet, environ=env.environ,
                         redact=self.redact)
        self.sink = make_sink(output.mode, guard(env.stdout), self.ui,
                              show_thinking=output.show_thinking, newline=output.newline)
        # What the answer said, for the end of the run, whatever the mode writes; kept
        # only when the plan asks for it (the log, --schema).
        self.transcript = Transcript()
        self.sink.begin(*asked)
        self.progress = Progress()
        self.plan: Plan | None = None
        self.started = time.monotonic()
        self.started_at = time.time()
        self.outcome: Outcome | None = None
        self._recorded = False
        self.json = None  # the answer's value, once it matched --schema

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code if self.outcome is not None else ExitStatus.INTERNAL

    # -- the session as the frame of a whole prompt run ---------------------------------

    def __enter__(self) -> "Session":
        try:
            signals.release()  # a signal held back during start-up is delivered here
        except Cancelled as cancel:  # (__exit__ does not run for an error in __enter__)
            signals.acknowledge()
            self._finish("cancelled", None, cancel.signum)
            raise
        return self

    def __exit__(self, etype, exc, tb) -> bool:
        """End the mode's output for whatever escaped the block: a usage error while
        planning, a signal, a bug. A closed stdout is left to `entry` (after the log)."""
        if isinstance(exc, (BrokenPipeError, StdoutClosed)):
            # The reader went away (`| head`): nothing more to say, but the exchange is
            # still logged, as cancelled with what was printed.
            self.outcome = (self.outcome or self._outcome("cancelled", None, signal.SIGPIPE)
                            )._replace(status="cancelled", exit_code=128 + signal.SIGPIPE,
                                       signal_name="SIGPIPE")
            self._record()
            return False
        if exc is None or self.outcome is not None:
            return False
        if isinstance(exc, Cancelled):
            signals.acknowledge()
            self._finish("cancelled", None, exc.signum)
            return False  # `entry` dies by the signal
        if not isinstance(exc, Exception):
            return False
        if not isinstance(exc, StreamcliError):
            exc = self._internal(exc)
        self._finish("error", exc)
        return True

    def fail(self, err: StreamcliError) -> Outcome:
        """End at once with `err` (a usage error found before planning began)."""
        return self._finish("error", err)

    # -- the run --------------------------------------------------------------------------

    def run(self, plan: Plan) -> Outcome:
        self.plan = plan
        if plan.run.record:
            if plan.schema is not None:  # --schema checks the answer whole, in memory
                self.transcript.stay_in_memory()
            self.sink = Recorder(self.sink, self.transcript)
        request = plan.request
        if request is not None:
            self.redact.add(*request.secrets(), *redact.url_secrets(request.base_url))
            conversation = plan.conversation.id if plan.conversation is not None else None
            self.sink.begin(request.provider, request.model, conversation_id=conversation)
        self.started = time.monotonic()
        self.started_at = time.time()  # the wall clock, for the log
        with redact.running(self.redact):  # what deep layers quote is redacted too
            return self._run(plan)

    def _run(self, plan: Plan) -> Outcome:
        try:
            if self.env.stdout is None:  # `>&-`: no answer can be written; none is asked for
                raise OutputError.of(None)
            signals.arm_total_timeout(plan.run.total_timeout)
            if plan.run.replay is not None:
                replay.play(plan.run.replay, self.sink, self.progress,
                            protocol=plan.run.replay_protocol,
                            idle_timeout=plan.run.idle_timeout,
                            raw_mode=self.output.mode == "raw", stdin=self.env.stdin)
            else:
                self._attempts(plan)
            signals.disarm_total_timeout()
            signals.raise_pending()  # a stop signal whose Cancelled was swallowed on the way
            if plan.schema is not None:
                self._check(plan.schema)
        except StreamcliError as err:
            signals.disarm_total_timeout()
            return self._finish("error", err)
        except TotalTimeout:
            signals.disarm_total_timeout()
            return self._finish("error", TimeoutExpired(
                f"the request took longer than {plan.run.total_timeout:g} s (--timeout)",
                limit="total"))
        except BaseException:
            signals.disarm_total_timeout()
            raise  # Cancelled and bugs: __exit__ ends the output
        return self._finish("ok", None)

    def _check(self, structure) -> None:
        """--schema: the whole answer, whatever the mode wrote, must be JSON valid against
        it (SchemaMismatch, exit 10, otherwise)."""
        from streamcli import schema
        mapper = self.progress.mapper
        stop = normalize_stop(getattr(mapper, "stop_raw", None))
        self.json = schema.check(structure, self.transcript.text, stop)

    def _attempts(self, plan: Plan) -> None:
        from streamcli.transport import Transport  # httpx2: only when going to the network
        run, request = plan.run, plan.request
        prov = providers.load(request.provider)
        policy = RetryPolicy(run.retries, run.max_retry_wait)
        transport = Transport(url=request.base_url, connect_timeout=run.connect_timeout,
                              idle_timeout=run.idle_timeout, environ=self.env.environ,
                              transport=self.env.transport)
        try:
            attempt = 0
            while True:
                if self.output.mode == "text":  # other modes have no first-token moment
                    self.ui.start_spinner()
                try:
                    if request.stream:
                        stream_once(transport, prov, request, self.sink, self.progress,
                                    idle_timeout=run.idle_timeout,
                                    raw_mode=self.output.mode == "raw", notice=self.ui.notice)
                    else:
                        complete_once(transport, prov, request, self.sink, self.progress,
                                      notice=self.ui.notice)
                    return
                except StreamcliError as err:
                    delay = policy.delay(err, attempt, committed=self.sink.committed)
                    if delay is None:
                        raise
                    attempt += 1
                    self._announce_retry(attempt, run.retries, delay, err)
                    time.sleep(delay)  # a Ctrl-C here raises Cancelled at once
        finally:
            transport.close()

    def _announce_retry(self, attempt: int, retries: int, delay: float,
                        err: StreamcliError) -> None:
        """A short notice on stderr (the full message comes once, at the end, if the run
        fails); the --jsonl `retry` event keeps the whole reason."""
        self.redact.error(err)
        self.ui.stop_spinner()
        self.ui.notice(f"retry {attempt}/{retries} in {delay:.1f} s: {report.retry_reason(err)}")
        self.sink.retry(Retry(attempt, delay, err.describe(), err.status))

    # -- the end ----------------------------------------------------------------------------

    def _internal(self, exc: Exception) -> StreamcliError:
        """A bug: still end the mode's output properly (exit 1)."""
        if self.output.debug:
            import traceback
            self.ui.line("".join(traceback.format_exception(exc)).rstrip("\n"))
        return StreamcliError(f"internal error: {type(exc).__name__}: {exc}"
                              + ("" if self.output.debug else " (run with --debug for details)"))

    def _finish(self, status: str, err: StreamcliError | None, signum: int | None = None) -> Outcome:
        if err is not None:
            self.redact.error(report.advise(err, self.plan.request if self.plan else None))
        outcome = self._outcome(status, err, signum)
        self.ui.stop_spinner()
        printed = self.sink.committed or self.transcript.said_anything()
        if status == "cancelled":  # said first: the sink's last write may block on a pipe
            report.end(self.ui, outcome, usage=self.output.usage, printed=printed)  # nobody reads
        try:
            self.sink.finish(outcome)
        except OutputError as late:  # the mode's last words could not be written
            if not isinstance(err, OutputError):
                if err is not None:
                    self.ui.error(err.describe())
                outcome = outcome._replace(status="error", error=late,
                                           exit_code=int(late.exit_code))
        # Set once the sink has finished: a signal that cuts the sink's last write short
        # still gets the cancelled ending from __exit__.
        self.outcome = outcome
        if status != "cancelled":
            report.end(self.ui, outcome, usage=self.output.usage, printed=printed)
        self._record()
        return outcome

    def _record(self) -> None:
        """The exchange into the log, once the answer is out (`record.after` says which
        runs are logged); a log that cannot be written is one warning."""
        if not self._recorded and self.plan is not None and self.plan.request is not None:
            self._recorded = True
            from streamcli import record  # sqlite3 and all: only after the answer
            record.after(self)

    def _outcome(self, status: str, err: StreamcliError | None, signum: int | None) -> Outcome:
        plan = self.plan
        return outcome_of(status, err, signum, mapper=self.progress.mapper,
                          request=plan.request if plan is not None else None,
                          first=self.progress.first_output, started=self.started,
                          schema=plan is not None and plan.schema is not None, json=self.json)
