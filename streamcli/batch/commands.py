"""`streamcli batch run` and `submit`: from the parsed options to the exit status.

`streamcli batch run` and `streamcli batch submit`: from the parsed options (the input,
the requests' defaults) to the exit status.
"""

from __future__ import annotations

import json

from streamcli.batch import common, items, output, remote, submit as submitting
from streamcli.batch.progress import Progress
from streamcli.batch.requests import Defaults
from streamcli.errors import Cancelled, ExitStatus, OutputError, UsageError
from streamcli.plan import utf8


def _prepare(runtime, params: dict, provider_is_flag: bool, ui):
    """The scanned input and the requests' defaults (every usage error before anything
    is sent)."""
    env = runtime.env
    config = runtime.checked_config()
    source = items.scan(params["file"], env.stdin, utf8("--lines", params["lines_prompt"]),
                        ui)
    try:
        defaults = Defaults(params, config=config, provider_is_flag=provider_is_flag, env=env,
                            tools_stdin=None if params["file"] == "-" else env.stdin)
    except BaseException:
        source.close()
        raise
    return source, defaults


def run(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = common.start(runtime, params["quiet"])
    if params["resume"] and not params["output_file"]:
        raise UsageError("--resume needs --output FILE (the lines already written)")
    if params["output_file"]:
        output.not_the_input(params["output_file"], params["file"], runtime.env.stdin)
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
    worker = Worker(defaults, budget, jobs=params["jobs"], run=common.run_options(params),
                    env=runtime.env)
    runner = Runner(source, worker, writer, progress, ordered=not params["unordered"],
                    skip=skip)
    return runner.run()


def _run_api(runtime, params, source, defaults, skip, writer, progress, ui) -> int:
    """submit, wait and results in one (the lines in input order)."""
    book = common.ledger(runtime.env)
    api = common.client(runtime, params, ui)
    try:
        submission, _sent, _unsent, error = _submit(source, defaults, book, api, skip, ui,
                                                   params["file"])
        if error is not None:
            raise error
        batches = book.find(submission)
        common.wait(submission, batches, api, book, params["poll"], ui, params["quiet"])
        statuses = remote.ended(submission, batches, api, book)
        remote.results(submission, submission, batches, statuses, api, book, writer, progress)
    finally:
        api.close()
        book.close()
    progress.end()
    return ExitStatus.BATCH_ITEMS_FAILED if progress.failed else ExitStatus.OK


def _submit(source, defaults, book, api, skip, ui, name):
    """(submission, the batches sent, items not sendable, the error that stopped the
    sending or None)."""
    submission = book.new_submission(name, source.total)
    chunks, unsent = submitting.prepare(source, defaults, book, submission, skip)
    try:
        sent, error = submitting.send(chunks, api, book, submission)
    except Cancelled:  # the batches made so far exist (and cost): say where they are
        ui.line(f"streamcli: stopped submitting; the batches already made are recorded: "
                f"streamcli batch status {submission}")
        raise
    if unsent:
        ui.warn(f"{unsent} item(s) could not be submitted; their lines say why "
                f"(streamcli batch results {submission})")
    for batch in sent:
        ui.notice(f"submitted {batch.status.id} ({batch.chunk.count} requests to "
                  f"{batch.chunk.group.target.name})")
    if error is not None and sent:
        ui.warn(f"only {len(sent)} of {len(chunks)} batches were submitted (submission "
                f"{submission})")
    return submission, sent, unsent, error


def submit(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = common.start(runtime, params["quiet"])
    if runtime.env.stdout is None:  # the batch ids could not be printed: send nothing
        raise OutputError("stdout is closed: the batch ids would be lost")
    source, defaults = _prepare(runtime, params, provider_is_flag, ui)
    try:
        book = common.ledger(runtime.env)
        api = common.client(runtime, params, ui)
        try:
            submission, sent, unsent, error = _submit(source, defaults, book, api, set(), ui,
                                                      params["file"])
        finally:
            api.close()
            book.close()
    finally:
        source.close()
    _print_submitted(runtime, params, submission, sent, unsent)
    if error is not None:
        raise error  # the batches already sent are printed and recorded
    if not sent and not unsent:
        ui.notice("nothing to submit: the input has no items")
    if len(sent) > 1:
        ui.notice(f"{len(sent)} batches: 'streamcli batch wait {submission}' and "
                  f"'streamcli batch results {submission}' cover them all")
    return ExitStatus.BATCH_ITEMS_FAILED if unsent else ExitStatus.OK


def _print_submitted(runtime, params, submission: str, sent: list, unsent: int) -> None:
    if params["as_json"]:
        batches = [{"id": s.status.id, "provider": s.chunk.group.target.kind,
                    "model": s.chunk.group.model, "requests": s.chunk.count,
                    "state": s.status.state} for s in sent]
        common.print_line(runtime, json.dumps({"submission": submission, "batches": batches,
                                               "not_submitted": unsent}))
        return
    for batch in sent:
        common.print_line(runtime, batch.status.id)
