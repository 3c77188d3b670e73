"""click building blocks shared by every command: `Runtime`, options from the environment.

`Runtime` is the click context's object (the run's environment and config file);
`EnvOption` reads its variable from that environment; --help and --version write to it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import click

from streamcli.environment import Environment
from streamcli.errors import UsageError


@dataclass
class Runtime:
    """The click context's object: the run's environment and its config file."""

    env: Environment
    config: dict = field(default_factory=dict)
    # A config file that cannot be used is reported by the command that needs it (so in
    # its output mode), never by completion.
    config_error: UsageError | None = None
    config_warnings: list = field(default_factory=list)  # said by the command that runs

    def checked_config(self) -> dict:
        if self.config_error is not None:
            raise self.config_error
        return self.config


def environ_of(ctx: click.Context):
    runtime = ctx.find_object(Runtime)
    return runtime.env.environ if runtime is not None else os.environ


class EnvOption(click.Option):
    """An option whose environment variable is read from the run's Environment (click
    itself reads os.environ), with click's rule that an empty variable is unset."""

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        names = [self.envvar] if isinstance(self.envvar, str) else (self.envvar or ())
        environ = environ_of(ctx)
        for name in names:
            if environ.get(name):
                return environ[name]
        return None

    def get_error_hint(self, ctx: click.Context | None) -> str:
        # Only the flag: where the bad value came from is said by `_click_message`.
        return click.Parameter.get_error_hint(self, ctx)


class Utf8Text(click.types.StringParamType):
    """Text that must be valid UTF-8: an argument or variable with other bytes arrives as
    lone surrogates, and would fail much later, as a bug, when the request is encoded.
    `empty_ok=False` for names (a model, a provider, a URL), where an empty value would
    otherwise silently mean the default."""

    def __init__(self, *, empty_ok: bool = True) -> None:
        self.empty_ok = empty_ok

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if not self.empty_ok and not value.strip():
            self.fail("must not be empty", param, ctx)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("is not valid UTF-8 (check the locale or the encoding of the value)",
                      param, ctx)
        return value


class FiniteFloat(click.FloatRange):
    """A number in a range, and a real one: nan and inf (or 1e400) would be written into
    the request as NaN/Infinity, which no JSON parser accepts."""

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if not math.isfinite(value):
            self.fail(f"{value} is not a finite number", param, ctx)
        return value


MAX_SECONDS = 86400.0  # a day: longer than any request, shorter than any timer's overflow


class Seconds(FiniteFloat):
    """A duration in seconds: finite, above 0 (or at least 0 with `zero_ok`), at most a day."""

    name = "seconds"

    def __init__(self, *, zero_ok: bool = False) -> None:
        super().__init__(min=0, max=MAX_SECONDS, min_open=not zero_ok)


class Limit(click.FloatRange):
    """A limit in seconds, 0 or more, where inf means none (--max-retry-wait): NaN, which
    compares false with everything, is refused."""

    name = "seconds"

    def __init__(self) -> None:
        super().__init__(min=0)

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if math.isnan(value):
            self.fail("nan is not a number of seconds", param, ctx)
        return value


TEXT = Utf8Text()
NAME = Utf8Text(empty_ok=False)


def setting(*decls, envvar: str | None = None, **kwargs):
    """An option that may also come from STREAMCLI_<NAME> and the config file."""
    return click.option(*decls, cls=EnvOption, envvar=envvar, show_envvar=envvar is not None,
                        **kwargs)


def complete_conversation_id(ctx: click.Context, param, incomplete: str) -> list:
    """The recent conversations of the log, each with its first prompt as help: read-only,
    and a missing log is never created."""
    from click.shell_completion import CompletionItem
    from streamcli.logreader import recent_ids
    from streamcli.redact import visible  # the shell shows the help: shown, not obeyed
    return [CompletionItem(cid, help=visible(" ".join(prompt.split())[:60], one_line=True))
            for cid, prompt in recent_ids(environ_of(ctx)) if cid.startswith(incomplete)]


def _print_and_exit(ctx: click.Context, text: str) -> None:
    """--help and --version write to the run's stdout (click's echo would write to
    sys.stdout); a stdout that cannot take them is an output error, as everywhere."""
    from streamcli.sinks import guard
    runtime = ctx.find_object(Runtime)
    out = guard(runtime.env.stdout if runtime is not None else None)
    out.write(text.encode("utf-8", "replace") + b"\n")
    out.flush()
    ctx.exit(0)


def help_option(*names: str):
    def show(ctx: click.Context, param, value) -> None:
        if value and not ctx.resilient_parsing:
            _print_and_exit(ctx, ctx.get_help())
    return click.option(*names, is_flag=True, expose_value=False, is_eager=True,
                        callback=show, help="Show this message and exit.")


def version_option(version: str, *names: str):
    def show(ctx: click.Context, param, value) -> None:
        if value and not ctx.resilient_parsing:
            _print_and_exit(ctx, f"streamcli {version}")
    return click.option(*names, is_flag=True, expose_value=False, is_eager=True,
                        callback=show, help="Show the version and exit.")
