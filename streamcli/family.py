"""The command family: a subcommand's name first runs it; anything else is a prompt.

`main` runs the family for `entry`, with click's own usage errors reported in the
mode's output.
"""

from __future__ import annotations

import click
from click.core import ParameterSource

from streamcli import plan
from streamcli.cli import PROG, PROMPT_COMMAND, command
from streamcli.config import config_path, defaults, load_config
from streamcli.configkeys import unknown_key_warnings
from streamcli.environment import Environment
from streamcli.errors import UsageError
from streamcli.options import Runtime
from streamcli.session import Session


class Family(click.Group):
    """streamcli's command family: a first argument that is exactly a subcommand's name
    runs that subcommand; anything else (options, prompt words, `--`) belongs to the
    prompt command, so `streamcli -- models are great` is a prompt.

    A subcommand may be added lazily (`add_lazy`): its module is imported only when it
    runs (or is documented, or completed), so a prompt run never pays for it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = {}  # name -> "module:attribute"

    def add_lazy(self, name: str, target: str) -> None:
        self.lazy[name] = target

    def public_commands(self) -> list[str]:
        loaded = [name for name, cmd in self.commands.items() if not cmd.hidden]
        return sorted({*loaded, *self.lazy})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, name: str):
        if name not in self.commands and name in self.lazy:
            import importlib
            module, _, attribute = self.lazy[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.public_commands():
            args = [PROMPT_COMMAND, *args]
        return super().parse_args(ctx, args)


family = Family(PROG, add_help_option=False, context_settings={"max_content_width": 100})
family.add_command(command)
family.add_lazy("batch", "streamcli.commands.batch:batch")
family.add_lazy("logs", "streamcli.commands.logs:logs")
family.add_lazy("models", "streamcli.commands.models:models")


def main(args: list[str], env: Environment) -> int:
    """Run the command family on `args`; the exit status (Cancelled and StdoutClosed
    propagate to `entry`)."""
    runtime = Runtime(env)
    try:
        runtime.config = load_config(environ=env.environ)
        runtime.config_warnings = unknown_key_warnings(runtime.config,
                                                       config_path(env.environ))
        # The file's settings are every command's defaults (each takes those it has).
        file_defaults = defaults(runtime.config)
        default_map = {name: file_defaults for name in family.commands}
    except UsageError as err:
        runtime.config, runtime.config_error, default_map = {}, err, {}
    try:
        result = family.main(args=args, prog_name=PROG, standalone_mode=False,
                             obj=runtime, default_map=default_map)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:  # click's own: an unknown option, a bad value
        return _fail_early(args, env, UsageError(_click_message(exc)))
    except click.ClickException as exc:
        return _fail_early(args, env, UsageError(exc.format_message()))
    return result if isinstance(result, int) else 0


def _click_message(exc: click.UsageError) -> str:
    message = exc.format_message()
    ctx, param = exc.ctx, getattr(exc, "param", None)  # only BadParameter names one
    if ctx is not None and param is not None and param.name:
        source = ctx.get_parameter_source(param.name)
        if source is ParameterSource.ENVIRONMENT and param.envvar:
            message += f" (from the environment variable {param.envvar})"
        elif source is ParameterSource.DEFAULT_MAP:
            message += f" (from {param.name} in the config file)"
    where = ctx.command_path if ctx is not None else PROG
    return f"{message} (see '{where} --help')"


def _fail_early(args: list[str], env: Environment, err: UsageError) -> int:
    """A usage error before a plan could be built: still in the mode's own output, when
    the arguments tell the mode."""
    output = _output_of(args, env) or plan.Output()
    return Session(output, env).fail(err).exit_code


def _output_of(args: list[str], env: Environment) -> plan.Output | None:
    try:
        ctx = family.make_context(PROG, list(args), resilient_parsing=True, obj=Runtime(env))
        name, cmd, rest = family.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        if cmd is not command:
            return None
        # Unknown options are skipped, not the end of parsing: in `--bogus --jsonl` the
        # mode still counts.
        sub = cmd.make_context(name, rest, parent=ctx, resilient_parsing=True,
                               ignore_unknown_options=True)
        return plan.output_of({**_FLAG_DEFAULTS, **{k: v for k, v in sub.params.items()
                                                    if v is not None}})
    except (click.ClickException, click.exceptions.Exit, UsageError, KeyError):
        return None


_FLAG_DEFAULTS = {"show_thinking": False, "no_newline": False, "usage": False, "quiet": False,
                  "debug": False}
