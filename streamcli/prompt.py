"""The prompt, assembled from the arguments, stdin and $EDITOR, never changed.

Never hangs silently, never changes the text: no truncation, no re-indentation.
"""

from __future__ import annotations

import os
import select

from streamcli import bounded
from streamcli.errors import UsageError

SILENT_STDIN_HINT_AFTER = 3.0  # seconds


def join(context: str, question: str) -> str:
    """The one join rule: piped context first, then a blank line, then the question ("long
    context first, question last"). Trailing newlines of the context are dropped at the
    join, so that `echo CTX | streamcli Q` sends exactly "CTX\n\nQ"."""
    if context and question:
        return context.rstrip("\r\n") + "\n\n" + question
    return context or question


def assemble(args: tuple[str, ...], *, use_stdin: bool, stdin, ui=None,
             required: bool = True) -> str:
    """Arguments joined by spaces, after piped stdin (`join`). `-` alone means: stdin
    only. `stdin` is None when the shell closed it (`<&-`): no stdin at all. `required`:
    an empty prompt is an error (not when attachments carry the question)."""
    if len(args) > 1 and args[0] == "-":
        raise UsageError("'-' means the prompt is stdin only, with no words after it; to "
                         "ask a question about stdin, drop the '-': ... | streamcli QUESTION")
    stdin_only = args == ("-",)
    question = "" if stdin_only else " ".join(args)
    context = ""
    if stdin is None:
        use_stdin = False
        if stdin_only:
            raise UsageError("'-' reads the prompt from stdin, but stdin is closed")
    if stdin_only or (use_stdin and not bounded.isatty(stdin)):
        if stdin_only and bounded.isatty(stdin):
            raise UsageError("'-' reads the prompt from stdin, but stdin is a terminal; "
                             "pipe or redirect the prompt in")
        context = read_stdin(stdin, ui)
    prompt = join(context, question)
    if not required and not prompt.strip():
        return ""
    if not prompt.strip():
        raise UsageError("no prompt: pass it as arguments, pipe it on stdin, or use -e to "
                         "write it in $EDITOR")
    return prompt


def read_stdin(stdin, ui=None) -> str:
    buffer = getattr(stdin, "buffer", stdin)
    hint_if_silent(buffer, ui)
    try:
        data = bounded.read(buffer, bounded.TEXT_LIMIT, "stdin")
    except OSError as exc:
        raise UsageError(f"cannot read stdin: {exc.strerror or exc}") from None
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"stdin is not valid UTF-8 (byte {exc.start}: "
                         f"{data[exc.start:exc.start + 4]!r}); convert it first, "
                         "e.g. with iconv") from None


def hint_if_silent(buffer, ui, message: str | None = None) -> None:
    """A pipe that stays silent is usually a forgotten `</dev/null` in a script: say so on
    stderr after a few seconds (`message`, or the hint for the prompt), and keep waiting."""
    if ui is None:
        return
    try:
        fd = buffer.fileno()
        ready, _, _ = select.select([fd], [], [], SILENT_STDIN_HINT_AFTER)
    except (AttributeError, OSError, ValueError):
        return
    if not ready:
        ui.notice(message or "waiting for stdin... (pass --no-stdin or redirect </dev/null "
                  "if no input is coming)")


def compose(args: tuple[str, ...], *, use_stdin: bool, stdin, ui, environ, stderr) -> str:
    """-e: the prompt written in $EDITOR (the arguments as its first draft), after piped
    stdin (`join`). The context is read before the editor starts, so it cannot eat it."""
    context = ""
    if use_stdin and stdin is not None and not bounded.isatty(stdin):
        context = read_stdin(stdin, ui)
    return join(context, from_editor(" ".join(args), environ, stderr))


def from_editor(initial: str, environ, stderr=None) -> str:
    """Compose the prompt in $VISUAL or $EDITOR (split like a shell would)."""
    import shlex
    import tempfile  # with shutil: a few ms that only -e needs
    editor = environ.get("VISUAL") or environ.get("EDITOR") or "vi"
    try:
        command = shlex.split(editor)
    except ValueError as exc:
        raise UsageError(f"cannot parse $EDITOR {editor!r}: {exc}") from None
    fd, path = tempfile.mkstemp(prefix="streamcli-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(initial)
        status = _run_editor(command, path, stderr)
        if status != 0:
            raise UsageError(f"the editor exited with status {status}; nothing sent")
        with open(path, encoding="utf-8", errors="strict") as f:
            try:
                text = f.read()
            except UnicodeDecodeError:
                raise UsageError("the edited prompt is not valid UTF-8") from None
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    if not text.strip():
        raise UsageError("empty prompt from the editor; nothing sent")
    return text


def _run_editor(command: list[str], path: str, stderr) -> int:
    """Run the editor on the terminal itself: stdout is the answer's pipe and stdin may be
    the context's. Ctrl-C belongs to the editor while it runs (as with git)."""
    import subprocess
    from streamcli import signals
    try:
        tty = open("/dev/tty", "r+b", buffering=0)
    except OSError:
        tty = None
    try:
        with signals.deferred_interrupts():
            editor = subprocess.Popen([*command, path], stdin=tty,
                                      stdout=tty if tty is not None else stderr)
            try:
                return editor.wait()
            except BaseException:  # SIGTERM (or --timeout): the editor must not outlive us
                _end_editor(editor)
                raise
    except OSError as exc:
        raise UsageError(f"cannot run the editor {command[0]!r}: {exc.strerror}") from None
    finally:
        if tty is not None:
            tty.close()


def _end_editor(editor) -> None:
    """Ask the editor to quit (SIGTERM: it restores the terminal it put in raw mode, which
    a SIGKILL would leave broken), and kill it if it has not within 0.2 s (before the
    signal's cleanup clock would raise again, see signals.py) or anything cuts in."""
    import subprocess
    try:
        editor.terminate()
        editor.wait(0.2)
    except subprocess.TimeoutExpired:
        editor.kill()
    except OSError:
        pass
    except BaseException:
        editor.kill()
        raise
