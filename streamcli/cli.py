"""The prompt command's click declarations: every option, default and variable.

Each option's default, environment variable and config-file key are declared through
click's own mechanisms. The command hands the parsed options to `plan` and the plan to
`session`.
"""

from __future__ import annotations

import click
from click.core import ParameterSource

from streamcli import __version__, plan
from streamcli.config import load_config
from streamcli.errors import EXIT_STATUS_TABLE, StdoutClosed, UsageError
from streamcli.options import (NAME, TEXT, FiniteFloat, Limit, Runtime, Seconds,
                               complete_conversation_id, environ_of, help_option, setting,
                               version_option)
from streamcli.session import Session

PROG = "streamcli"
PROMPT_COMMAND = "prompt"  # hidden: reached by any first argument that names no subcommand
# Offered by the completion of -m until `streamcli models` has cached a provider's listing.
KNOWN_MODELS = (
    "claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5",
    "gpt-5", "gpt-5-pro", "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3", "o4-mini",
)


def _epilog() -> str:
    rows = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_STATUS_TABLE)
    return ("\b\nExamples:\n"
            "  git diff | streamcli 'write a commit message'\n"
            "  streamcli --jsonl -m gpt-4o 'list three colours' | jq -r 'select(.type==\"text\").text'\n"
            "  streamcli --replay examples/anthropic_hello.sse\n"
            "  streamcli models --provider openai\n"
            f"\n\b\nExit status:\n{rows}")


def _complete_provider(ctx, param, incomplete):
    from streamcli.config import provider_names
    try:
        names = provider_names(load_config(environ=environ_of(ctx)))
    except UsageError:
        from streamcli.providers import KINDS
        names = list(KINDS)
    return [n for n in names if n.startswith(incomplete)]


def _complete_model(ctx, param, incomplete):
    """NAME: of the config's providers, then the ids of the cached listings (`streamcli
    models`), or the built-in names where there is none. Never a network request."""
    from streamcli import modelcache
    from streamcli.providers import anthropic, openai
    environ = environ_of(ctx)
    try:
        providers = load_config(environ=environ).get("providers", {})
    except UsageError:
        providers = {}
    claude = tuple(m for m in KNOWN_MODELS if m.startswith("claude-"))
    builtin = {"anthropic": (anthropic.DEFAULT_BASE_URL, claude),
               "openai": (openai.DEFAULT_BASE_URL, tuple(m for m in KNOWN_MODELS if m not in claude))}
    ids = modelcache.completion_ids(environ, builtin, set(providers))
    return [m for m in (*(f"{n}:" for n in providers), *ids) if m.startswith(incomplete)]


def _complete_prompt(ctx, param, incomplete):
    """The first word may be a subcommand's name."""
    if ctx.params.get("prompt"):
        return []
    family = ctx.parent.command if ctx.parent is not None else None
    names = family.public_commands() if hasattr(family, "public_commands") else []
    return [name for name in names if name.startswith(incomplete)]


FILE = click.Path(dir_okay=False, allow_dash=True)
# Completes file names; the value may also be a URL, or a schema written out: no checks here.
ANY_PATH = click.Path(allow_dash=True, path_type=str)


def _complete_mime(ctx, param, incomplete):
    from streamcli.filetypes import SUPPORTED
    return [m for m in ("auto", *SUPPORTED) if m.startswith(incomplete)]


SECONDS = Seconds()


class PromptContext(click.Context):
    @property
    def command_path(self) -> str:
        # The prompt command is the family's default: its usage reads `streamcli [OPTIONS]`.
        return self.parent.command_path if self.parent is not None else PROG


@click.command(PROMPT_COMMAND, hidden=True, add_help_option=False,
               context_settings={"max_content_width": 100}, epilog=_epilog())
@click.argument("prompt", nargs=-1, shell_complete=_complete_prompt)
@setting("-m", "--model", envvar="STREAMCLI_MODEL", metavar="MODEL", type=NAME,
          shell_complete=_complete_model,
          help="Model name; the provider follows from it (claude-* Anthropic; gpt-*, o1/o3/o4*, "
               "chatgpt-* OpenAI). NAME:MODEL picks a provider from the config file.")
@setting("--provider", envvar="STREAMCLI_PROVIDER", metavar="NAME", type=NAME,
          shell_complete=_complete_provider,
          help="anthropic, openai, openai-responses, or a provider named in the config file.")
@click.option("--api", type=click.Choice(["chat", "responses"]),
              help="The API of an OpenAI-kind target: chat (Chat Completions, /chat/completions) "
                   "or responses (the Responses API, /responses). [default: chat; responses "
                   "for the models OpenAI serves only there (o1-pro, o3-pro, *-deep-research, "
                   "computer-use-preview, codex-mini-latest, gpt-5*-pro, gpt-5*-codex*) on "
                   "OpenAI's own URL]")
@click.option("--base-url", metavar="URL", type=NAME,
              help="Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, OpenRouter) or an API proxy. "
                   "[env var: OPENAI_BASE_URL / ANTHROPIC_BASE_URL]")
@click.option("-s", "--system", metavar="TEXT", type=TEXT, help="System prompt.")
@click.option("-e", "--editor", is_flag=True, help="Compose the prompt in $VISUAL or $EDITOR.")
@click.option("--no-stdin", is_flag=True, help="Never read stdin, even when it is a pipe.")
@click.option("-c", "--continue", "continue_", is_flag=True,
              help="Continue the most recent conversation of the log: its earlier turns are "
                   "sent before the prompt, with its model and system prompt unless given again.")
@click.option("--cid", metavar="ID", shell_complete=complete_conversation_id,
              help="Continue the conversation ID of the log (see 'streamcli logs list').")
@click.option("--messages", type=FILE, metavar="FILE",
              help="Earlier turns to send before the prompt: a JSON array or JSON lines of "
                   '{"role": "user"|"assistant"|"system", "content": TEXT or text blocks} '
                   "('-': stdin).")
@setting("--log/--no-log", envvar="STREAMCLI_LOG", default=True,
          help="Record the exchange in the local log (see 'streamcli logs'); --no-log: not "
               "this one. [default: --log]")
@setting("--max-tokens", envvar="STREAMCLI_MAX_TOKENS", type=click.IntRange(min=1), metavar="N",
          help="Longest answer, in tokens. [default: 8192 for Anthropic, the server's for OpenAI]")
@setting("--temperature", envvar="STREAMCLI_TEMPERATURE", type=FiniteFloat(min=0),
          metavar="T", help="Sampling temperature.")
@click.option("--stop", multiple=True, metavar="TEXT", type=TEXT,
              help="Stop sequence (repeatable; the Responses API has none).")
@click.option("--tools", "tools_file", type=FILE, metavar="FILE",
              help="JSON file with a list of tool definitions (name, description, input_schema).")
@click.option("-a", "--attach", multiple=True, type=ANY_PATH, metavar="FILE|URL|-",
              help="Attach an image (PNG, JPEG, GIF, WebP), a PDF or a text file, before the "
                   "prompt (repeatable, in order). The type comes from the content. '-' reads "
                   "it from stdin (the prompt then comes from the arguments only); a URL is "
                   "sent as a reference. Checked against the provider's limits first.")
@click.option("--attach-type", multiple=True, metavar="MIME", shell_complete=_complete_mime,
              help="The type of the Nth -a (repeatable; 'auto' detects it): image/png, "
                   "image/jpeg, image/gif, image/webp, application/pdf or text/plain.")
@click.option("--schema", type=ANY_PATH, metavar="SCHEMA",
              help="Ask for JSON matching SCHEMA (a JSON Schema file, inline JSON, or "
                   "'name, age int, score float, bio: a description'), sent natively; the "
                   "answer is checked at the end: exit 10 when it does not match.")
@click.option("--schema-list", type=ANY_PATH, metavar="SCHEMA",
              help="Like --schema, for a list of such objects: the answer is {\"items\": [...]}.")
@click.option("-H", "--header", multiple=True, metavar="'NAME: VALUE'", type=TEXT,
              help="Add a header to every request (repeatable; wins over the config file's "
                   "headers; 'NAME:' removes one). Credential-like values are never shown.")
@click.option("-o", "--option", "extra", multiple=True, metavar="KEY=VALUE", type=TEXT,
              help="Any other request body field, VALUE parsed as JSON when it parses (repeatable). "
                   "Not stream: --no-stream decides it.")
@click.option("--raw-sse", is_flag=True, help="Print the upstream server-sent events byte for byte.")
@click.option("--jsonl", is_flag=True, help="Print one provider-neutral JSON event per line.")
@click.option("--no-stream", is_flag=True,
              help="Send a non-streaming request and print one JSON object.")
@click.option("--replay", type=FILE, metavar="FILE",
              help="Play a captured SSE body (e.g. saved from --raw-sse) instead of calling an API; "
                   "no key, no network. --provider names its protocol (default: told from the "
                   "content).")
@click.option("--show-thinking", is_flag=True, help="Show reasoning/thinking (on stderr in text mode).")
@click.option("--usage", is_flag=True, help="Print token usage and timings on stderr at the end.")
@click.option("-n", "--no-newline", is_flag=True, help="Print the text exactly; add no final newline.")
@click.option("-q", "--quiet", is_flag=True, help="No spinner and no retry notices on stderr.")
@setting("--retries", envvar="STREAMCLI_RETRIES", type=click.IntRange(min=0), default=2,
          show_default=True, metavar="N",
          help="Retries of 408/409/429/5xx/529 and connection errors before any output.")
@setting("--max-retry-wait", envvar="STREAMCLI_MAX_RETRY_WAIT", type=Limit(),
          default=60.0, show_default=True, metavar="SECONDS",
          help="Longest retry-after to honour; a server asking for more fails at once (exit 5).")
@setting("--connect-timeout", envvar="STREAMCLI_CONNECT_TIMEOUT", type=SECONDS, default=10.0,
          show_default=True, metavar="SECONDS", help="Limit for connecting.")
@setting("--idle-timeout", envvar="STREAMCLI_IDLE_TIMEOUT", type=SECONDS, default=120.0,
          show_default=True, metavar="SECONDS",
          help="Longest wait for the response or between content events (pings do not count).")
@setting("--timeout", envvar="STREAMCLI_TIMEOUT", type=SECONDS, metavar="SECONDS",
          help="Limit for the whole request. [default: none]")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@version_option(__version__, "-V", "--version")
@help_option("-h", "--help")
@click.pass_context
def command(ctx: click.Context, **params):
    """Stream an answer from a large language model to stdout.

    The prompt is the PROMPT arguments joined by spaces. Piped stdin is read too and
    placed before them (STDIN, a blank line, PROMPT); '-' alone means stdin only.
    Only the answer goes to stdout; everything else goes to stderr.

    Settings come from the flags, then the STREAMCLI_* variables, then the config file
    ($XDG_CONFIG_HOME/streamcli/config.toml, or $STREAMCLI_CONFIG), then the defaults.
    """
    runtime = ctx.find_object(Runtime)
    output = plan.output_of(params)
    provider_is_flag = ctx.get_parameter_source("provider") is ParameterSource.COMMANDLINE
    model_is_flag = ctx.get_parameter_source("model") is ParameterSource.COMMANDLINE
    try:
        with Session(output, runtime.env, asked=(params["provider"], params["model"])) as session:
            for warning in runtime.config_warnings:
                session.ui.warn(warning)
            session.run(plan.build(params, output, config=runtime.checked_config(),
                                   provider_is_flag=provider_is_flag, env=runtime.env,
                                   ui=session.ui, model_is_flag=model_is_flag))
    except BrokenPipeError:
        # Not as an OSError: click's main() would turn EPIPE into a plain exit 1.
        raise StdoutClosed() from None
    return session.exit_code


command.context_class = PromptContext
