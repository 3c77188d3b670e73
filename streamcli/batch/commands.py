"""What each `streamcli batch` command does, from its parsed options to its exit status.
These commands run without a `Session`: each releases the signals `entry` held back,
and a Ctrl-C ends it the way `entry` ends a run (death by the signal)."""

from __future__ import annotations

import json

from streamcli import signals
from streamcli.batch import items, output, remote, submit as submitting
from streamcli.batch.progress import Progress
from streamcli.batch.requests import Defaults
from streamcli.errors import Cancelled, ExitStatus, StdoutClosed, UsageError
from streamcli.plan import RunOptions, utf8
from streamcli.ui import Stderr


def _start(runtime, params: dict, quiet: bool = False) -> Stderr:
    signals.release()  # held since start-up by `entry`; from here a Ctrl-C ends the run
    return Stderr(runtime.env.stderr, quiet=quiet, environ=runtime.env.environ)


def _run_options(params: dict) -> RunOptions:
    return RunOptions(retries=params["retries"], max_retry_wait=params["max_retry_wait"],
                      connect_timeout=params["connect_timeout"],
                      idle_timeout=params["idle_timeout"])


def _ledger(env, *, create: bool = True):
    """The ledger; with create=False, None when nothing was ever recorded."""
    import os

    from streamcli import store
    from streamcli.batch.ledger import Ledger
    if not create and not os.path.exists(store.db_path(env.environ)):
        return None
    try:
        return Ledger.open(env.environ)
    except store.StoreError as err:
        raise UsageError(f"the batch ledger cannot be used: {err}") from None


def _recorded(env, ident: str):
    ledger = _ledger(env, create=False)
    if ledger is None:
        raise UsageError(f"no recorded batch {ident!r}: nothing was submitted from here yet")
    return ledger


def _prepare(runtime, params: dict, provider_is_flag: bool, ui):
    """The scanned input and the requests' defaults (every usage error before anything
    is sent)."""
    env = runtime.env
    config = runtime.checked_config()
    source = items.scan(params["file"], env.stdin, utf8("--lines", params["lines_prompt"]))
    try:
        defaults = Defaults(params, config=config, provider_is_flag=provider_is_flag, env=env,
                            tools_stdin=None if params["file"] == "-" else env.stdin)
    except BaseException:
        source.close()
        raise
    return source, defaults


def run(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = _start(runtime, params, params["quiet"])
    if params["resume"] and not params["output_file"]:
        raise UsageError("--resume needs --output FILE (the lines already written)")
    source, defaults = _prepare(runtime, params, provider_is_flag, ui)
    try:
        skip = output.done_ids(params["output_file"], ui) if params["resume"] else set()
        writer = output.Writer(runtime.env.stdout, params["output_file"],
                               resume=params["resume"])
        progress = Progress(ui, source.total, quiet=params["quiet"])
        try:
            if params["api"]:
                return _run_api(runtime, params, source, defaults, skip, writer, progress, ui)
            return _run_here(runtime, params, source, defaults, skip, writer, progress)
        finally:
            writer.close()
    finally:
        source.close()


def _run_here(runtime, params, source, defaults, skip, writer, progress) -> int:
    from streamcli.batch.budget import Budget
    from streamcli.batch.runner import Runner
    from streamcli.batch.worker import Worker
    budget = Budget(params["jobs"], max_wait=params["max_retry_wait"])
    worker = Worker(defaults, budget, jobs=params["jobs"], run=_run_options(params),
                    env=runtime.env)
    runner = Runner(source, worker, writer, progress, ordered=not params["unordered"],
                    skip=skip)
    return runner.run()


def _run_api(runtime, params, source, defaults, skip, writer, progress, ui) -> int:
    ledger = _ledger(runtime.env)
    client = remote.Remote(runtime.env, runtime.checked_config(), _run_options(params), ui)
    try:
        submission, sent, _unsent = _submit(source, defaults, ledger, client, skip, ui,
                                            params["file"])
        batches = ledger.find(submission)
        if batches:
            _wait(submission, batches, client, ledger, params["poll"], ui, params["quiet"])
        remote.results(submission, submission, batches, client, ledger, writer, progress)
    finally:
        client.close()
        ledger.close()
    progress.end()
    return ExitStatus.BATCH_ITEMS_FAILED if progress.failed else ExitStatus.OK


def _submit(source, defaults, ledger, client, skip, ui, name):
    submission = ledger.new_submission(name, source.total)
    chunks, unsent = submitting.prepare(source, defaults, ledger, submission, skip)
    sent = submitting.send(chunks, client, ledger, submission)
    if unsent:
        ui.warn(f"{unsent} item(s) could not be submitted; their lines say why "
                f"(streamcli batch results {submission})")
    for batch in sent:
        ui.notice(f"submitted {batch.status.id} ({batch.chunk.count} requests to "
                  f"{batch.chunk.group.target.name})")
    return submission, sent, unsent


def submit(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = _start(runtime, params, params["quiet"])
    source, defaults = _prepare(runtime, params, provider_is_flag, ui)
    ledger = _ledger(runtime.env)
    client = remote.Remote(runtime.env, runtime.checked_config(), _run_options(params), ui)
    try:
        submission, sent, unsent = _submit(source, defaults, ledger, client, set(), ui,
                                           params["file"])
    finally:
        client.close()
        ledger.close()
        source.close()
    if params["as_json"]:
        batches = [{"id": s.status.id, "provider": s.chunk.group.target.kind,
                    "model": s.chunk.group.model, "requests": s.chunk.count,
                    "state": s.status.state} for s in sent]
        _print(runtime, json.dumps({"submission": submission, "batches": batches,
                                    "not_submitted": unsent}))
    else:
        for batch in sent:
            _print(runtime, batch.status.id)
    if len(sent) > 1:
        ui.notice(f"{len(sent)} batches: 'streamcli batch wait {submission}' and "
                  f"'streamcli batch results {submission}' cover them all")
    return ExitStatus.BATCH_ITEMS_FAILED if unsent else ExitStatus.OK


def status(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = _start(runtime, params)
    ledger = _recorded(runtime.env, params["batch_id"])
    client = remote.Remote(runtime.env, runtime.checked_config(), _run_options(params), ui)
    try:
        for batch in remote.find(ledger, params["batch_id"])[1]:
            state = client.retrieve(batch, ledger)
            _print(runtime, json.dumps(remote.describe(batch, state)) if params["as_json"]
                   else remote.status_line(batch, state))
    finally:
        client.close()
        ledger.close()
    return ExitStatus.OK


def wait(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = _start(runtime, params, params["quiet"])
    ledger = _recorded(runtime.env, params["batch_id"])
    client = remote.Remote(runtime.env, runtime.checked_config(), _run_options(params), ui)
    try:
        ident = params["batch_id"]
        _wait(ident, remote.find(ledger, ident)[1], client, ledger, params["poll"], ui,
              params["quiet"])
    finally:
        client.close()
        ledger.close()
    return ExitStatus.OK


def _wait(ident, batches, client, ledger, poll, ui, quiet) -> None:
    from streamcli.batch.waiting import Display
    display = Display(ui, quiet=quiet)
    try:
        remote.wait(batches, client, ledger, interval=poll, show=display.show)
    except Cancelled:
        display.clear()
        ui.line(f"streamcli: stopped waiting; the batch keeps running. Come back with: "
                f"streamcli batch wait {ident} && streamcli batch results {ident}")
        raise


def results(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = _start(runtime, params, params["quiet"])
    ledger = _recorded(runtime.env, params["batch_id"])
    client = remote.Remote(runtime.env, runtime.checked_config(), _run_options(params), ui)
    try:
        submission, batches = remote.find(ledger, params["batch_id"])
        writer = output.Writer(runtime.env.stdout, params["output_file"], resume=False)
        progress = Progress(ui, sum(b.requests for b in batches), quiet=params["quiet"])
        try:
            remote.results(params["batch_id"], submission, batches, client, ledger, writer,
                           progress)
        finally:
            writer.close()
    finally:
        client.close()
        ledger.close()
    progress.end()
    return ExitStatus.BATCH_ITEMS_FAILED if progress.failed else ExitStatus.OK


def cancel(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = _start(runtime, params)
    ledger = _recorded(runtime.env, params["batch_id"])
    client = remote.Remote(runtime.env, runtime.checked_config(), _run_options(params), ui)
    try:
        for batch in remote.find(ledger, params["batch_id"])[1]:
            state = client.cancel(batch, ledger)
            _print(runtime, remote.status_line(batch, state))
    finally:
        client.close()
        ledger.close()
    return ExitStatus.OK


def list_batches(runtime, params: dict, *, provider_is_flag: bool) -> int:
    _start(runtime, params)
    ledger = _ledger(runtime.env, create=False)
    if ledger is None:  # nothing recorded yet: an empty list
        return ExitStatus.OK
    try:
        for batch in ledger.recent(params["limit"]):
            _print(runtime, json.dumps(remote.listed(batch)) if params["as_json"]
                   else remote.list_line(batch))
    finally:
        ledger.close()
    return ExitStatus.OK


def _print(runtime, text: str) -> None:
    out = runtime.env.stdout
    if out is None:
        return
    try:
        out.write(text.encode("utf-8", "replace") + b"\n")
        out.flush()
    except BrokenPipeError:
        raise StdoutClosed() from None
