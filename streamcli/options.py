"""click building blocks shared by every command: `Runtime`, options from the environment.

`Runtime` is the click context's object (the run's environment and config file);
`EnvOption` reads its variable from that environment; --help and --version write to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import click

from streamcli.environment import Environment
from streamcli.errors import StdoutClosed, UsageError


@dataclass
class Runtime:
    """The click context's object: the run's environment and its config file."""

    env: Environment
    config: dict = field(default_factory=dict)
    # A config file that cannot be used is reported by the command that needs it (so in
    # its output mode), never by completion.
    config_error: UsageError | None = None

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


def setting(*decls, envvar: str | None = None, **kwargs):
    """An option that may also come from STREAMCLI_<NAME> and the config file."""
    return click.option(*decls, cls=EnvOption, envvar=envvar, show_envvar=envvar is not None,
                        **kwargs)


def complete_conversation_id(ctx: click.Context, param, incomplete: str) -> list:
    """The recent conversations of the log, each with its first prompt as help: read-only,
    and a missing log is never created."""
    from click.shell_completion import CompletionItem
    from streamcli.logbook import recent_ids
    from streamcli.ui import visible  # the shell shows the help: escapes shown, not obeyed
    return [CompletionItem(cid, help=visible(" ".join(prompt.split())[:60], one_line=True))
            for cid, prompt in recent_ids(environ_of(ctx)) if cid.startswith(incomplete)]


def _print_and_exit(ctx: click.Context, text: str) -> None:
    """--help and --version write to the run's stdout (click's echo would write to
    sys.stdout); a closed stdout is the SIGPIPE ending, as everywhere."""
    runtime = ctx.find_object(Runtime)
    out = runtime.env.stdout if runtime is not None else None
    if out is not None:
        try:
            out.write(text.encode("utf-8", "replace") + b"\n")
            out.flush()
        except BrokenPipeError:
            raise StdoutClosed() from None
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
