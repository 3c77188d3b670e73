"""One batch item on a worker thread: its request, its attempts, its output line.

One batch item on a worker thread: its request, the attempts under the shared budget
with the retry policy of single runs, and its output line.

Workers never touch signals or stdout: the main thread hands them items and writes what
they give back (`runner`).
"""

from __future__ import annotations

import threading
import time

from streamcli import providers
from streamcli.attempt import complete_once
from streamcli.batch import lines
from streamcli.batch.requests import KeyMissing
from streamcli.errors import AuthError, StreamcliError, UsageError
from streamcli.pump import Progress
from streamcli.retry import RetryPolicy
from streamcli.sinks.result import ResultSink


class Worker:
    """What every worker thread shares: the requests' defaults, the budget, the policy,
    and one transport (one connection pool) per server."""

    def __init__(self, defaults, budget, *, jobs: int, run, env) -> None:
        self.defaults = defaults
        self.budget = budget
        self.jobs = jobs
        self.run_options = run  # plan.RunOptions: retries and timeouts
        self.policy = RetryPolicy(run.retries, run.max_retry_wait)
        self.env = env
        self._transports: dict = {}
        self._lock = threading.Lock()

    def item(self, item) -> tuple[lines.Done | None, StreamcliError | None]:
        """(the item's line, or None if it was not run; an error every other item would
        meet too, which stops the run)."""
        started = time.monotonic()
        try:
            request = self.defaults.request(item)
            transport = self.transport(request.base_url)
        except KeyMissing as err:  # the item was not run: not written, left for --resume
            return None, self._fatal(err)
        except UsageError as err:
            return lines.failed(item.id, item.index, at_line(item, err)), None
        try:
            return self._attempts(item, request, transport, started)
        except (UnicodeEncodeError, RecursionError) as exc:  # lone surrogates, deep nesting
            err = UsageError(f"line {item.line}: the request cannot be encoded ({exc})")
            return lines.failed(item.id, item.index, err), None

    def _fatal(self, err: StreamcliError) -> StreamcliError:
        """An error every item would meet: no worker sends anything more."""
        self.budget.stop()
        return err

    def _attempts(self, item, request, transport, started: float):
        prov = providers.load(request.provider)
        attempt = 0
        while True:
            if not self.budget.acquire():
                return None, None
            sink, progress, error = ResultSink(None), Progress(), None
            try:
                complete_once(transport, prov, request, sink, progress)
            except StreamcliError as err:
                error = err
            finally:
                self.budget.release(error is None)
            if error is None:
                return lines.answered(item.id, item.index, progress.mapper, sink.transcript,
                                      provider=request.provider, model=request.model,
                                      duration_ms=_ms(started), schema=request.schema), None
            try:
                delay = self.policy.delay(error, attempt, committed=False)
            except StreamcliError as too_long:  # a retry-after above --max-retry-wait
                error, delay = too_long, None
            if delay is None:
                self.env.redact.error(error)  # the key never shows, even echoed back
                line = lines.failed(item.id, item.index, error, provider=request.provider,
                                    model=request.model, duration_ms=_ms(started))
                return line, self._fatal(error) if isinstance(error, AuthError) else None
            attempt += 1
            if not self.budget.sleep(delay):
                return None, None

    def transport(self, url: str):
        with self._lock:
            transport = self._transports.get(url)
            if transport is None:
                from streamcli.transport import Transport
                run = self.run_options
                transport = Transport(url=url, connect_timeout=run.connect_timeout,
                                      idle_timeout=run.idle_timeout,
                                      environ=self.env.environ, transport=self.env.transport,
                                      pool=self.jobs, observe=self.budget.observe)
                self._transports[url] = transport
            return transport

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()


def at_line(item, err: UsageError) -> UsageError:
    """An item's usage error names its input line."""
    if not err.message.startswith("line "):
        err.message = f"line {item.line}: {err.message}"
        err.args = (err.message,)
    return err


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
