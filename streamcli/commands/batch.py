"""`streamcli batch`: the click declarations of the batch commands.

`streamcli batch`: the click declarations of the batch commands. The request options
are the prompt command's own (same help, variables and config keys); the work is done
by `streamcli.batch`, imported only when a batch command runs.
"""

from __future__ import annotations

import click
from click.core import ParameterSource

from streamcli.cli import command as prompt_command
from streamcli.config import defaults
from streamcli.options import Runtime, Seconds, help_option

# The prompt command's options that mean the same for every item of a batch.
REQUEST_OPTIONS = ("model", "provider", "base_url", "system", "max_tokens", "temperature",
                   "stop", "tools_file", "extra", "attach", "attach_type", "schema",
                   "schema_list", "header")
NETWORK_OPTIONS = ("retries", "max_retry_wait", "connect_timeout", "idle_timeout")
SECONDS = Seconds()  # finite, above 0, at most a day: every wait must be sleepable
INPUT = click.Path(dir_okay=False, allow_dash=True)


def shared(*names: str):
    """The prompt command's options `names` (the same click objects), here in the order
    of that command, as click's own option decorators would place them."""
    options = [p for p in prompt_command.params if p.name in names]

    def decorate(f):
        if not hasattr(f, "__click_params__"):
            f.__click_params__ = []
        f.__click_params__.extend(reversed(options))
        return f
    return decorate


def _invoke(ctx: click.Context, action: str, **params) -> int:
    """Run `action` ("module.function" of streamcli.batch, imported only now)."""
    import importlib
    module, _, function = action.rpartition(".")
    runtime = ctx.find_object(Runtime)
    flag = ctx.get_parameter_source("provider") is ParameterSource.COMMANDLINE \
        if "provider" in params else False
    handler = getattr(importlib.import_module(f"streamcli.batch.{module}"), function)
    from streamcli import redact
    with redact.running(runtime.env.redact):  # what deep layers quote is masked too
        return handler(runtime, params, provider_is_flag=flag)


@click.group("batch", add_help_option=False, context_settings={"max_content_width": 100})
@help_option("-h", "--help")
@click.pass_context
def batch(ctx: click.Context):
    """Many requests from one JSONL file: run here with concurrency (run), or through
    the providers' Batch APIs at half the price (submit, then status, wait, results).

    Each input line is a JSON string (the prompt), an object {"id", "prompt", "system",
    "model", "messages", "attach", "schema", "max_tokens", "temperature", "options"}, or a
    provider's own batch line (Anthropic {"custom_id", "params"}, OpenAI {"custom_id",
    "method", "url", "body"}). The command line's options are the defaults of every item.
    An item's id is its id or custom_id, else its 0-based position; ids must be unique.
    """
    # Runs before the subcommand's options are parsed: the config file's settings
    # (max_tokens, retries, timeouts...) become its defaults, as for the prompt command.
    runtime = ctx.find_object(Runtime)
    if runtime is not None and runtime.config_error is None:
        settings = defaults(runtime.config)
        ctx.default_map = {name: settings for name in batch.commands}


@batch.command("run", add_help_option=False)
@click.argument("file", required=False, default="-", type=INPUT)
@click.option("-j", "--jobs", type=click.IntRange(1, 512), default=8, show_default=True,
              metavar="N", help="Requests at once, over shared connections.")
@click.option("--unordered", is_flag=True,
              help="Write each line as its item completes (default: in input order, where "
                   "a slow item holds back at most max(8*N, 256) finished lines).")
@click.option("--output", "output_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the lines to FILE (emptied first, unless --resume) instead of stdout.")
@click.option("--resume", is_flag=True,
              help="With --output: skip the ids whose last line in FILE is ok, append the rest.")
@click.option("--lines", "lines_prompt", metavar="PROMPT",
              help="The input is plain text: each line is one prompt, joined with PROMPT as "
                   "stdin is for a single run (LINE, a blank line, PROMPT; '' for none).")
@click.option("--api", is_flag=True,
              help="Submit to the provider's Batch API, wait, and write the results "
                   "(submit, wait and results in one).")
@click.option("--poll", "poll", type=SECONDS, default=10.0, show_default=True,
              metavar="SECONDS", help="With --api: the first wait between polls (it grows).")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress line on stderr, only the summary at the end.")
@shared(*REQUEST_OPTIONS, *NETWORK_OPTIONS)
@help_option("-h", "--help")
@click.pass_context
def run(ctx, **params):
    """Run every request of FILE (default: stdin) here, -j at once, and write one JSON
    line per item: the --no-stream object with id (the item's), index (its position)
    and response_id (the provider's). One rate-limit budget is shared by all requests:
    a 429 pauses every one of them. Exit status 0 when every item succeeded, 12 when
    some failed (each line says why); a 401/403 or a missing key stops the run early.
    """
    return _invoke(ctx, "commands.run", **params)


@batch.command("submit", add_help_option=False)
@click.argument("file", required=False, default="-", type=INPUT)
@click.option("--lines", "lines_prompt", metavar="PROMPT",
              help="The input is plain text: each line is one prompt, joined with PROMPT.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON line (submission id, batches) instead of the batch ids.")
@click.option("-q", "--quiet", is_flag=True, help="Say nothing on stderr but errors.")
@shared(*REQUEST_OPTIONS, *NETWORK_OPTIONS)
@help_option("-h", "--help")
@click.pass_context
def submit(ctx, **params):
    """Submit the requests of FILE (default: stdin) to the providers' Batch APIs and
    print the batch ids, one per line. Input beyond one batch's limits, or for several
    OpenAI models, becomes several batches; the submission id (sub_...) names them all.
    Exit status 12 when some lines could not be submitted (results lists them as failed).
    """
    return _invoke(ctx, "commands.submit", **params)


@batch.command("status", add_help_option=False)
@click.argument("batch_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per batch.")
@shared(*NETWORK_OPTIONS, "header")
@help_option("-h", "--help")
@click.pass_context
def status(ctx, **params):
    """The state of batch ID (or of every batch of submission ID), with its requests
    counted by state."""
    return _invoke(ctx, "tracking.status", **params)


@batch.command("wait", add_help_option=False)
@click.argument("batch_id", metavar="ID")
@click.option("--poll", "poll", type=SECONDS, default=10.0, show_default=True,
              metavar="SECONDS", help="The first wait between polls (it grows to 60 s).")
@click.option("-q", "--quiet", is_flag=True, help="No progress line on stderr.")
@shared(*NETWORK_OPTIONS, "header")
@help_option("-h", "--help")
@click.pass_context
def wait(ctx, **params):
    """Wait until batch ID has ended (exit 0, whatever its requests did). Ctrl-C stops
    waiting and leaves the batch running."""
    return _invoke(ctx, "tracking.wait", **params)


@batch.command("results", add_help_option=False)
@click.argument("batch_id", metavar="ID")
@click.option("--output", "output_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the lines to FILE instead of stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line on stderr.")
@shared(*NETWORK_OPTIONS, "header")
@help_option("-h", "--help")
@click.pass_context
def results(ctx, **params):
    """Download the results of batch ID and write one line per item, in input order,
    as batch run does (exit 12 when any item failed; exit 2 while it is still running).
    """
    return _invoke(ctx, "tracking.results", **params)


@batch.command("cancel", add_help_option=False)
@click.argument("batch_id", metavar="ID")
@shared(*NETWORK_OPTIONS, "header")
@help_option("-h", "--help")
@click.pass_context
def cancel(ctx, **params):
    """Cancel batch ID; the requests not yet processed come back as cancelled items."""
    return _invoke(ctx, "tracking.cancel", **params)


@batch.command("list", add_help_option=False)
@click.option("-n", "limit", type=click.IntRange(min=1), default=20, show_default=True,
              metavar="N", help="At most N batches, the newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per batch.")
@help_option("-h", "--help")
@click.pass_context
def list_(ctx, **params):
    """The batches submitted from this machine, with their last known state."""
    return _invoke(ctx, "tracking.list_batches", **params)
