"""`streamcli models`: the models a provider serves, listed or from the day-old cache.

One id per line, or each whole object as a JSON line; errors follow the exit table, with
the prompt command's classification and retries.
"""

from __future__ import annotations

import dataclasses
import time

import click
from click.core import ParameterSource

from streamcli import headers as extra_headers
from streamcli import modelcache, providers, redact, report, safejson, signals
from streamcli.cli import SECONDS, _complete_provider
from streamcli.config import resolve
from streamcli.errors import (Cancelled, MalformedStream, OutputError, StdoutClosed,
                              StreamcliError)
from streamcli.options import NAME, Limit, Runtime, help_option, setting
from streamcli.providers.errors import error_from_event, request_id_of
from streamcli.redact import excerpt, url_secrets, visible
from streamcli.retry import RetryPolicy
from streamcli.sinks import write_all
from streamcli.ui import Stderr

LISTING_LIMIT = 16 * 1024 * 1024  # a listing, all its pages together, is read this far
MAX_PAGES = 100  # Anthropic pages hold up to 1000 models: far more than any provider has


@click.command("models", add_help_option=False, context_settings={"max_content_width": 100})
@setting("--provider", envvar="STREAMCLI_PROVIDER", metavar="NAME", type=NAME,
         shell_complete=_complete_provider,
         help="anthropic, openai, or a provider named in the config file.")
@setting("-m", "--model", envvar="STREAMCLI_MODEL", metavar="MODEL", type=NAME,
         help="List the models of the provider this model would use (NAME:MODEL names a "
              "provider of the config file).")
@click.option("--base-url", metavar="URL", type=NAME,
              help="An OpenAI-compatible server, or an API proxy. [env var: OPENAI_BASE_URL / "
                   "ANTHROPIC_BASE_URL]")
@click.option("--json", "as_json", is_flag=True,
              help="Print each model's whole object as the provider sent it, one JSON object "
                   "per line.")
@click.option("--refresh", is_flag=True,
              help="Ask the provider even when the cached listing is less than a day old.")
@setting("--retries", envvar="STREAMCLI_RETRIES", type=click.IntRange(min=0), default=2,
         show_default=True, metavar="N", help="Retries of 408/409/429/5xx/529 and connection errors.")
@setting("--max-retry-wait", envvar="STREAMCLI_MAX_RETRY_WAIT", type=Limit(),
         default=60.0, show_default=True, metavar="SECONDS",
         help="Longest retry-after to honour; a server asking for more fails at once (exit 5).")
@setting("--connect-timeout", envvar="STREAMCLI_CONNECT_TIMEOUT", type=SECONDS, default=10.0,
         show_default=True, metavar="SECONDS", help="Limit for connecting.")
@setting("--idle-timeout", envvar="STREAMCLI_IDLE_TIMEOUT", type=SECONDS, default=120.0,
         show_default=True, metavar="SECONDS", help="Longest wait for each response.")
@click.option("-q", "--quiet", is_flag=True, help="No retry notices on stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@help_option("-h", "--help")
@click.pass_context
def models(ctx: click.Context, **params) -> int:
    """List the models a provider serves, one id per line.

    The provider is chosen as for a prompt: --provider, the provider of -m, a provider
    named in the config file, or --base-url for an OpenAI-compatible server. Anthropic's
    listing is read page by page; OpenAI and compatible servers answer GET /models.

    The listing is cached in $XDG_CACHE_HOME/streamcli/models.json (default
    ~/.cache/streamcli) and used for a day; the shell completion of -m offers its ids.
    """
    runtime = ctx.find_object(Runtime)
    env = runtime.env
    # The run's secrets: the stderr writer, and what the deep layers quote, mask them.
    env.redact.add(*redact.proxy_secrets(env.environ))
    ui = Stderr(env.stderr, quiet=params["quiet"], environ=env.environ, redact=env.redact)
    signals.release()  # no session here: a Ctrl-C may end the run from now on
    try:
        with redact.running(env.redact):
            return _list(ctx, runtime, params, ui)
    except StreamcliError as err:
        ui.error(env.redact.error(err).describe())  # every field masked, as the prompt's
        return err.exit_code
    except Cancelled as cancel:
        signals.acknowledge()
        ui.line(f"streamcli: cancelled ({'SIGTERM' if cancel.signum == 15 else 'SIGINT'})")
        raise
    except BrokenPipeError:
        raise StdoutClosed() from None


def _list(ctx, runtime, params: dict, ui) -> int:
    env = runtime.env
    target = resolve(runtime.checked_config(), model=params["model"],
                     provider=params["provider"], base_url=params["base_url"],
                     provider_is_flag=ctx.get_parameter_source("provider") is
                     ParameterSource.COMMANDLINE, environ=env.environ, need_model=False)
    env.redact.add(target.api_key, *extra_headers.secrets(target.headers),
                   *url_secrets(target.base_url))
    listing = None if params["refresh"] else modelcache.cached(env.environ, target.name,
                                                               target.base_url)
    if listing is None:
        # A server (a gateway) that echoes the key in a model's object gets it neither
        # printed nor into the cache, which never holds a key.
        listing = env.redact.deep(fetch(target, params, env, ui))
        _remember(env.environ, target, listing, ui)
    write(env.stdout, listing, params["as_json"])
    return 0


def fetch(target, params: dict, env, ui) -> list:
    """Every page of the listing, each attempt with the prompt command's retry policy."""
    from streamcli.transport import Transport  # httpx2: only when going to the network
    prov = providers.load(target.kind)
    policy = RetryPolicy(params["retries"], params["max_retry_wait"])
    transport = Transport(url=target.base_url, connect_timeout=params["connect_timeout"],
                          idle_timeout=params["idle_timeout"], environ=env.environ,
                          transport=env.transport)
    listing: list = []
    after, seen, left = None, set(), LISTING_LIMIT
    try:
        for _ in range(MAX_PAGES):
            # The budget is the whole listing's: MAX_PAGES full pages would hold gigabytes.
            page, after, size = _page(transport, prov, target, after, policy, ui, left)
            listing += page
            left -= size
            if after is None:
                return listing
            if after in seen:
                raise MalformedStream(f"the listing does not advance: page after {after!r} again")
            seen.add(after)
        raise MalformedStream(f"the listing goes on for more than {MAX_PAGES} pages")
    finally:
        transport.close()


def _page(transport, prov, target, after, policy: RetryPolicy, ui,
          limit: int) -> tuple[list, str | None, int]:
    attempt = 0
    while True:
        try:
            request = providers.listing(target.kind).list_models_request(target.base_url, target.api_key, after)
            # The provider's `headers` from the config file go with every request to it.
            request = dataclasses.replace(request, headers=extra_headers.apply(
                request.headers, target.headers))
            status, headers, body = transport.post(request, limit)
            if status >= 300:
                raise prov.error_from_response(status, body, headers)
            return (*_parse(prov, body, headers, limit), len(body))
        except StreamcliError as err:
            delay = policy.delay(err, attempt, committed=False)
            if delay is None:
                raise
            attempt += 1
            ui.notice(f"retry {attempt}/{policy.retries} in {delay:.1f} s: "
                      f"{report.retry_reason(err)}")
            time.sleep(delay)  # a Ctrl-C here raises Cancelled at once


def _parse(prov, body: bytes, headers, limit: int) -> tuple[list, str | None]:
    if len(body) > limit:
        raise MalformedStream(f"the model listing is too large (more than "
                              f"{LISTING_LIMIT // (1024 * 1024)} MiB, not read further)")
    try:
        obj = safejson.loads(body)
    except ValueError:
        raise MalformedStream(f"the model listing is not JSON: {excerpt(body)}") from None
    if isinstance(obj, dict) and obj.get("error") and not isinstance(obj.get("data"), list):
        err = error_from_event(obj)  # an error object on a 200: classified by its type
        err.request_id = err.request_id or request_id_of(headers, prov.REQUEST_ID_HEADER)
        raise err
    try:
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
        return providers.listing(prov.NAME).models_page(obj)
    except ValueError as exc:
        raise MalformedStream(f"unexpected model listing ({exc}): {excerpt(body)}") from None


def _remember(environ, target, listing: list, ui) -> None:
    """A cache that cannot be written costs a warning, never the listing."""
    try:
        modelcache.store(environ, target.name, target.kind, target.base_url, listing)
    except OSError as exc:
        ui.warn(f"cannot write the model cache {modelcache.cache_path(environ)}: "
                f"{exc.strerror or exc}")


def write(out, listing: list, as_json: bool) -> None:
    """One id per line (entries without a string id are left out; control characters
    shown as escapes), or every object as a JSON line; one write."""
    if as_json:
        lines = [safejson.dumps(m, ensure_ascii=False, separators=(",", ":")) for m in listing]
    else:
        # An id is one line, shown rather than obeyed: a newline in it must not make two
        # ids, an escape sequence must not drive the terminal.
        lines = [visible(m["id"], one_line=True) for m in listing
                 if isinstance(m, dict) and isinstance(m.get("id"), str)]
    if out is None:
        raise OutputError("cannot write the output: stdout is closed")
    try:
        out.flush()
        # Past the buffer, to the file itself: bytes that could not be written must not
        # wait in a buffer for the interpreter's last flush to fail on them again.
        if lines:
            write_all(getattr(out, "raw", None) or out,
                      ("\n".join(lines) + "\n").encode("utf-8", "replace"))
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: a closed file object
        raise OutputError(f"cannot write the output to stdout: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None
