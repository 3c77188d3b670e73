"""The click declarations: options in, a Request and RunOptions out, then one Session."""

from __future__ import annotations

import os
import sys

import click

from streamcli import __version__
from streamcli.errors import EXIT_STATUS_TABLE, UsageError

KNOWN_MODELS = (
    "claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5",
    "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3", "o4-mini",
)

# Settings that may also come from STREAMCLI_<NAME> or the config file, with their
# built-in defaults (flags > environment > config file > these).
DEFAULTS = {
    "max_tokens": None, "temperature": None, "retries": 2, "max_retry_wait": 60.0,
    "connect_timeout": 10.0, "idle_timeout": 120.0, "timeout": None,
}


def _epilog() -> str:
    rows = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_STATUS_TABLE)
    return ("\b\nExamples:\n"
            "  git diff | streamcli 'write a commit message'\n"
            "  streamcli --jsonl -m gpt-4o 'list three colours' | jq -r 'select(.type==\"text\").text'\n"
            "  streamcli --replay examples/anthropic_hello.sse\n"
            f"\n\b\nExit status:\n{rows}")


def _complete_provider(ctx, param, incomplete):
    from streamcli.config import load_config, provider_names
    try:
        names = provider_names(load_config())
    except UsageError:
        names = ["anthropic", "openai"]
    return [n for n in names if n.startswith(incomplete)]


def _complete_model(ctx, param, incomplete):
    from streamcli.config import load_config
    try:
        named = [f"{n}:" for n in load_config().get("providers", {})]
    except UsageError:
        named = []
    return [m for m in (*named, *KNOWN_MODELS) if m.startswith(incomplete)]


FILE = click.Path(dir_okay=False, allow_dash=True)


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=_epilog(),
)
@click.argument("prompt", nargs=-1)
@click.option("-m", "--model", metavar="MODEL", shell_complete=_complete_model,
              help="Model name; the provider follows from it (claude-* Anthropic; gpt-*, o1/o3/o4*, "
                   "chatgpt-* OpenAI). NAME:MODEL picks a provider from the config file. "
                   "[env: STREAMCLI_MODEL]")
@click.option("--provider", metavar="NAME", shell_complete=_complete_provider,
              help="anthropic, openai, or a provider named in the config file. [env: STREAMCLI_PROVIDER]")
@click.option("--base-url", metavar="URL",
              help="Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, OpenRouter) or an API proxy. "
                   "[env: OPENAI_BASE_URL / ANTHROPIC_BASE_URL]")
@click.option("-s", "--system", metavar="TEXT", help="System prompt.")
@click.option("-e", "--editor", is_flag=True, help="Compose the prompt in $VISUAL or $EDITOR.")
@click.option("--no-stdin", is_flag=True, help="Never read stdin, even when it is a pipe.")
@click.option("--max-tokens", type=click.IntRange(min=1), metavar="N",
              help="Longest answer, in tokens. [default: 8192 for Anthropic, the server's for OpenAI]")
@click.option("--temperature", type=click.FloatRange(min=0), metavar="T", help="Sampling temperature.")
@click.option("--stop", multiple=True, metavar="TEXT", help="Stop sequence (repeatable).")
@click.option("--tools", "tools_file", type=FILE, metavar="FILE",
              help="JSON file with a list of tool definitions (name, description, input_schema).")
@click.option("-o", "--option", "extra", multiple=True, metavar="KEY=VALUE",
              help="Any other request body field, VALUE parsed as JSON when it parses (repeatable).")
@click.option("--raw-sse", "mode", flag_value="raw",
              help="Print the upstream server-sent events byte for byte.")
@click.option("--jsonl", "mode", flag_value="jsonl",
              help="Print one provider-neutral JSON event per line.")
@click.option("--no-stream", "no_stream", is_flag=True,
              help="Send a non-streaming request and print one JSON object.")
@click.option("--replay", type=FILE, metavar="FILE",
              help="Play a captured SSE body (e.g. saved from --raw-sse) instead of calling an API; "
                   "no key, no network.")
@click.option("--show-thinking", is_flag=True, help="Show reasoning/thinking (on stderr in text mode).")
@click.option("--usage", is_flag=True, help="Print token usage and timings on stderr at the end.")
@click.option("-n", "--no-newline", is_flag=True, help="Print the text exactly; add no final newline.")
@click.option("-q", "--quiet", is_flag=True, help="No spinner and no retry notices on stderr.")
@click.option("--retries", type=click.IntRange(min=0), metavar="N",
              help="Retries of 408/409/429/5xx/529 and connection errors before any output. [default: 2]")
@click.option("--max-retry-wait", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Longest retry-after to honour; a server asking for more fails at once (exit 5). "
                   "[default: 60]")
@click.option("--connect-timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Limit for connecting. [default: 10]")
@click.option("--idle-timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Longest wait for the response or between content events (pings do not count). "
                   "[default: 120]")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Limit for the whole request. [default: none]")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.version_option(__version__, "-V", "--version", prog_name="streamcli",
                      message="%(prog)s %(version)s")
def command(prompt, **opts):
    """Stream an answer from a large language model to stdout.

    The prompt is the PROMPT arguments joined by spaces. Piped stdin is read too and
    placed before them (STDIN, a blank line, PROMPT); '-' alone means stdin only.
    Only the answer goes to stdout; everything else goes to stderr.
    """
    from streamcli.app import run_command
    return run_command(prompt, opts)


def settings(opts: dict, config: dict, env=None) -> dict:
    """Fill unset flags from STREAMCLI_<NAME>, then the config file, then DEFAULTS."""
    env = os.environ if env is None else env
    resolved = {}
    for name, default in DEFAULTS.items():
        value = opts.get(name)
        if value is None:
            raw = env.get(f"STREAMCLI_{name.upper()}")
            source = f"STREAMCLI_{name.upper()}"
            if raw is None and name in config:
                raw, source = config[name], f"{name} in the config file"
            if raw is not None:
                value = _number(name, raw, source)
        resolved[name] = default if value is None else value
    return resolved


def _number(name: str, raw, source: str):
    kind = int if name in ("max_tokens", "retries") else float
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise UsageError(f"{source}: {name} must be a number, not {raw!r}") from None
    if value < 0:
        raise UsageError(f"{source}: {name} must not be negative")
    return value


if __name__ == "__main__":  # pragma: no cover
    sys.exit(command())
