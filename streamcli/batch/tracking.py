"""`streamcli batch status|wait|results|cancel|list`: options to the exit status.

`streamcli batch status|wait|results|cancel|list`: the recorded provider batches, from
the parsed options to the exit status.
"""

from __future__ import annotations

import json

from streamcli.batch import common, output, remote
from streamcli.batch.progress import Progress
from streamcli.errors import ExitStatus


def status(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = common.start(runtime)
    book = common.recorded(runtime.env, params["batch_id"])
    api = common.client(runtime, params, ui)
    try:
        for batch in remote.find(book, params["batch_id"])[1]:
            state = api.retrieve(batch, book)
            common.print_line(runtime, json.dumps(remote.describe(batch, state))
                              if params["as_json"] else remote.status_line(batch, state))
    finally:
        api.close()
        book.close()
    return ExitStatus.OK


def wait(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = common.start(runtime, params["quiet"])
    book = common.recorded(runtime.env, params["batch_id"])
    api = common.client(runtime, params, ui)
    try:
        ident = params["batch_id"]
        common.wait(ident, remote.find(book, ident)[1], api, book, params["poll"], ui,
                    params["quiet"])
    finally:
        api.close()
        book.close()
    return ExitStatus.OK


def results(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = common.start(runtime, params["quiet"])
    book = common.recorded(runtime.env, params["batch_id"])
    api = common.client(runtime, params, ui)
    ident = params["batch_id"]
    try:
        submission, batches = remote.find(book, ident)
        statuses = remote.ended(ident, batches, api, book)  # before FILE is touched
        writer = output.Writer(runtime.env.stdout, params["output_file"], resume=False)
        progress = Progress(ui, sum(b.requests for b in batches), quiet=params["quiet"])
        try:
            remote.results(ident, submission, batches, statuses, api, book, writer, progress)
        finally:
            writer.close()
    finally:
        api.close()
        book.close()
    progress.end()
    return ExitStatus.BATCH_ITEMS_FAILED if progress.failed else ExitStatus.OK


def cancel(runtime, params: dict, *, provider_is_flag: bool) -> int:
    ui = common.start(runtime)
    book = common.recorded(runtime.env, params["batch_id"])
    api = common.client(runtime, params, ui)
    try:
        for batch in remote.find(book, params["batch_id"])[1]:
            state = api.cancel(batch, book)
            common.print_line(runtime, remote.status_line(batch, state))
    finally:
        api.close()
        book.close()
    return ExitStatus.OK


def list_batches(runtime, params: dict, *, provider_is_flag: bool) -> int:
    common.start(runtime)
    book = common.ledger(runtime.env, create=False)
    if book is None:  # nothing recorded yet: an empty list
        return ExitStatus.OK
    try:
        for batch in book.recent(params["limit"]):
            common.print_line(runtime, json.dumps(remote.listed(batch)) if params["as_json"]
                              else remote.list_line(batch))
    finally:
        book.close()
    return ExitStatus.OK
