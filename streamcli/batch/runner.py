"""`streamcli batch run`: worker threads, shared connections, one rate-limit budget.

`streamcli batch run`: the items through a pool of worker threads over shared
connections, under one rate-limit budget, and one whole line per item, in input order
(or as each completes).

The main thread reads the input, hands items to the workers, writes their lines and
owns the signals: the workers are started with SIGINT/SIGTERM blocked, so a Ctrl-C
always lands here. It stops dispatching, writes nothing more (a line is never half
written), and dies by the signal; the process's end closes the requests in flight, so
the server sees them go. A 401/403 or a missing key stops dispatching the same way: the
items in flight finish and are written, the rest are left for --resume.
"""

from __future__ import annotations

import queue
import threading

from streamcli import redact, signals
from streamcli.batch import lines
from streamcli.batch.worker import Worker
from streamcli.errors import Cancelled, ExitStatus, StreamcliError, UsageError

POLL = 0.1  # seconds between progress redraws while waiting for results


class Runner:
    def __init__(self, source, worker: Worker, writer, progress, *, ordered: bool,
                 skip: set[str]) -> None:
        self.source = source
        self.worker = worker
        self.writer = writer
        self.progress = progress
        self.ordered = ordered
        self.skip = skip  # ids already done (--resume)
        jobs = worker.jobs
        # In input order, a slow item holds the lines after it back: at most this many
        # results wait for it (memory stays flat in the number of items).
        self.window = max(8 * jobs, 256)
        self.tasks: queue.Queue = queue.Queue()
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.fatal: StreamcliError | None = None
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"batch-{i}")
                         for i in range(jobs)]

    def run(self) -> int:
        """The exit status: 0, 12 (some items failed), or the status of the error that
        stopped the run. Cancelled and a closed stdout propagate to `entry`."""
        signals.hold()  # the workers inherit the blocked signals: they all come here
        for thread in self._threads:
            thread.start()
        try:
            signals.release()
            self._loop()
        except BaseException as exc:
            self.worker.budget.stop()
            if isinstance(exc, Cancelled):
                self.progress.end(note="; cancelled")
            raise
        self._join()
        if self.fatal is not None:
            self.progress.ui.error(f"{self.fatal.describe()}: stopped dispatching (the items "
                                   f"not run are not written; --resume runs them)")
            self.progress.end(note="; stopped early")
            return int(self.fatal.exit_code)
        self.progress.end()
        return ExitStatus.BATCH_ITEMS_FAILED if self.progress.failed else ExitStatus.OK

    # -- the main thread ----------------------------------------------------------------------

    def _loop(self) -> None:
        items = self.source.items()
        pending: dict = {}  # seq -> result, waiting for the lines before it (ordered)
        sent = finished = written = 0  # seqs handed out, come back, and written
        exhausted = False
        while True:
            while not exhausted and self.fatal is None and self.tasks.qsize() < 2 * self.worker.jobs \
                    and (not self.ordered or sent - written < self.window):
                item = next(items, None)
                if item is None:
                    exhausted = True
                elif item.id in self.skip:
                    self.progress.skipped += 1
                elif item.kind == "invalid":
                    self.results.put((sent, lines.failed(item.id, item.index,
                                                         UsageError(item.data)), None))
                    sent += 1
                else:
                    self.tasks.put((sent, item))
                    sent += 1
            if finished == sent and (exhausted or self.fatal is not None):
                return
            try:
                seq, result, fatal = self.results.get(timeout=POLL)
            except queue.Empty:
                self.progress.tick()
                continue
            finished += 1
            self.progress.add(result)
            if fatal is not None and self.fatal is None:
                self._stop(fatal)
            if not self.ordered:
                if result is not None:
                    self.writer.write(result.line)
                continue
            pending[seq] = result
            while written in pending:
                done = pending.pop(written)
                if done is not None:
                    self.writer.write(done.line)
                written += 1

    def _stop(self, fatal: StreamcliError) -> None:
        """Dispatch nothing more: the items not yet taken by a worker come back unrun."""
        self.fatal = fatal
        self.worker.budget.stop()
        while True:
            try:
                seq, _item = self.tasks.get_nowait()
            except queue.Empty:
                return
            self.results.put((seq, None, None))

    def _join(self) -> None:
        for _ in self._threads:
            self.tasks.put(None)
        for thread in self._threads:
            thread.join()
        self.worker.close()

    # -- the workers --------------------------------------------------------------------------

    def _work(self) -> None:
        # What deep layers quote from a server is masked with the run's secrets here too
        # (a new thread starts with an empty context).
        with redact.running(self.worker.env.redact):
            self._serve()

    def _serve(self) -> None:
        while True:
            task = self.tasks.get()
            if task is None:
                return
            seq, item = task
            try:
                result, fatal = self.worker.item(item)
            except Exception as exc:  # a bug: this item's line says so, the run goes on
                err = StreamcliError(f"internal error: {type(exc).__name__}: {exc}")
                result, fatal = lines.failed(item.id, item.index, err), None
            self.results.put((seq, result, fatal))
