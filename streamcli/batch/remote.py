"""The recorded provider batches: their state, their results in input order, cancel.

The recorded provider batches: their state (`status`, `wait`), their results in input
order (`results`), `cancel`. The keys are looked up again each time from the provider
name the ledger recorded (environment, config file, api_key_cmd), never stored.
"""

from __future__ import annotations

import functools
import json
import tempfile
import time

from streamcli.batch import api as apis
from streamcli.batch import endpoints, lines
from streamcli.batch.api.http import Api
from streamcli.batch.requests import secrets_of
from streamcli.errors import ServerError, UsageError
from streamcli.retry import RetryPolicy

MAX_POLL = 60.0  # seconds: the longest wait between two polls of `wait`


class Remote:
    """Calls to the Batch APIs: one transport per server, the retry policy of the run."""

    def __init__(self, env, config: dict, run, ui, headers: tuple = ()) -> None:
        """`headers`: -H, sent with every call (the config's own are added by target)."""
        self.env = env
        self.config = config
        self.run = run  # plan.RunOptions
        self.ui = ui
        self.headers = headers
        self._apis: dict = {}
        self._stale = False  # a state could not be recorded (said once)

    def api(self, url: str) -> Api:
        api = self._apis.get(url)
        if api is None:
            from streamcli.transport import Transport
            transport = Transport(url=url, connect_timeout=self.run.connect_timeout,
                                  idle_timeout=self.run.idle_timeout, environ=self.env.environ,
                                  transport=self.env.transport)
            policy = RetryPolicy(self.run.retries, self.run.max_retry_wait)
            api = self._apis[url] = Api(transport, policy, self.ui, self.env.redact)
        return api

    def target(self, batch):
        target = endpoints.target_of(batch, self.config, self.env.environ, self.headers)
        self.env.redact.add(*secrets_of(target))
        return target

    def reach(self, batch):
        """(the Api to call about `batch`, its target)."""
        target = self.target(batch)
        return self.api(target.base_url), target

    def retrieve(self, batch, ledger):
        status = apis.load(batch.kind).retrieve(*self.reach(batch), batch.id)
        self._record(status, ledger)
        return status

    def cancel(self, batch, ledger):
        status = apis.load(batch.kind).cancel(*self.reach(batch), batch.id)
        self._record(status, ledger)
        return status

    def _record(self, status, ledger) -> None:
        """The last known state, for `list`: one that cannot be recorded is a warning."""
        if not ledger.update(status) and not self._stale:
            self._stale = True
            self.ui.warn("the batch ledger cannot be written (locked, read-only or full): "
                         "'streamcli batch list' shows an older state")

    def close(self) -> None:
        for api in self._apis.values():
            api.transport.close()


def find(ledger, ident: str) -> tuple[str, list]:
    """(the submission, the batches) that ID names: a batch, or a submission (which may
    have no batch at all, when none of its items could be sent)."""
    submission = ledger.submission_of(ident)
    if submission is None:
        raise UsageError(f"no recorded batch {ident!r} (streamcli batch list shows them)")
    return submission, ledger.find(ident)


def describe(batch, status) -> dict:
    """The `status` command's JSON object for one batch."""
    return {"id": batch.id, "submission": batch.submission, "provider": batch.kind,
            "model": batch.model, "requests": batch.requests, "state": status.state,
            "ended": status.ended, "counts": status.counts}


def listed(batch) -> dict:
    """The `list` command's JSON object for one recorded batch (its last known state)."""
    return {"id": batch.id, "submission": batch.submission, "provider": batch.kind,
            "model": batch.model, "requests": batch.requests, "state": batch.state,
            "ended": batch.ended, "counts": batch.counts,
            "created_at": _iso(batch.created_at)}


def list_line(batch) -> str:
    return (f"{batch.id}  {batch.kind}  {batch.model or '-'}  {batch.requests} requests  "
            f"{batch.state or '?'}  {_iso(batch.created_at)}  {batch.submission}")


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def status_line(batch, status) -> str:
    c = status.counts
    return (f"{batch.id} {batch.kind} {status.state}: {c.get('processing', 0)} processing, "
            f"{c.get('succeeded', 0)} succeeded, {c.get('failed', 0)} failed, "
            f"{c.get('cancelled', 0)} cancelled, {c.get('expired', 0)} expired")


def wait(batches: list, remote, ledger, *, interval: float, show) -> list:
    """Poll until every batch has ended (backing off up to MAX_POLL seconds);
    `show(statuses, next_check)` reports progress."""
    statuses = {}
    delay = interval
    while batches:
        for batch in batches:
            known = statuses.get(batch.id)
            if known is None or not known.ended:
                statuses[batch.id] = remote.retrieve(batch, ledger)
        current = [statuses[b.id] for b in batches]
        if all(s.ended for s in current):
            show(current, None)
            return current
        show(current, delay)
        time.sleep(delay)  # a Ctrl-C here raises Cancelled: the batches keep running
        delay = min(delay * 1.5, MAX_POLL)
    return []


def ended(ident: str, batches: list, remote, ledger) -> dict:
    """position -> Status of each batch, all ended; a UsageError (exit 2) saying when to
    come back while one is still running."""
    statuses = {b.position: remote.retrieve(b, ledger) for b in batches}
    for b in batches:
        status = statuses[b.position]
        if not status.ended:
            left = status.counts.get("processing", "?")
            raise UsageError(f"batch {b.id} is still running ({status.state}, {left} of "
                             f"{b.requests} requests left): come back when "
                             f"'streamcli batch wait {ident}' has returned")
    return statuses


def results(ident: str, submission: str, batches: list, statuses: dict, remote, ledger,
            writer, progress) -> None:
    """Every item of ID (`batches`, of `submission`, ended) in input order, its result (or
    why it has none) as its line."""
    # The items never sent belong to the submission: with its only batch, or all of it.
    whole = ident == submission or len(ledger.batches_of(submission)) <= 1
    found = {b.position: _download(b, statuses[b.position], remote) for b in batches}
    try:
        chunk = None if whole else batches[0].position
        for row in ledger.items(submission, chunk, unsent=whole):
            done = _line(row, found, statuses, batches)
            writer.write(done.line)
            progress.add(done)
    finally:
        for spool, _index in found.values():
            spool.close()


def _download(batch, status, remote):
    """The batch's result lines in a temporary file, and custom_id -> (offset, length)."""
    module = apis.load(batch.kind)
    spool = tempfile.TemporaryFile()
    module.results(*remote.reach(batch), status, spool)
    spool.seek(0)
    index, offset = {}, 0
    for raw in spool:
        obj = _object(raw)
        custom_id = module.custom_id_of(obj) if obj is not None else None
        if custom_id is not None:
            index[custom_id] = (offset, len(raw))
        offset += len(raw)
    return spool, index


def _line(row, found: dict, statuses: dict, batches: list) -> lines.Done:
    if row.failed is not None:  # never sent: the line recorded at submission
        obj = json.loads(row.failed)
        ok = obj.get("status") == "ok"
        kind = (obj.get("error") or {}).get("kind")
        return lines.Done(row.failed.encode("utf-8"), ok, kind, 0)
    status = statuses.get(row.chunk)
    if status is None:
        return lines.failed(row.item_id, row.idx, ServerError(
            "this item's batch was never created (its submission failed)"))
    module = apis.load(next(b.kind for b in batches if b.position == row.chunk))
    spool, index = found[row.chunk]
    where = index.get(row.custom_id)
    if where is None:
        return lines.failed(row.item_id, row.idx, module.missing(status),
                            provider=module.NAME)
    spool.seek(where[0])
    obj = _object(spool.read(where[1])) or {}
    return module.to_line(row.item_id, row.idx, obj, status, schema=_schema(row.schema))


@functools.lru_cache(maxsize=64)
def _schema(text: str | None):
    """The schema.Schema an item's answer must match (the ledger keeps its JSON)."""
    if text is None:
        return None
    from streamcli import schema
    return schema.parse(json.loads(text))


def _object(raw: bytes) -> dict | None:
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None
