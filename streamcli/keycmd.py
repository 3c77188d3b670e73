"""api_key_cmd: a provider's key printed by a command (a password manager), never prompted.

The command gets no stdin (the prompt's context may be waiting there), at most
KEY_CMD_TIMEOUT seconds (or --timeout, if shorter), and a Ctrl-C or SIGTERM ends it; on
failure its own stderr is shown (its end; the stderr writer masks secrets and control
characters in it).
"""

from __future__ import annotations

from streamcli.errors import TimeoutExpired, UsageError

KEY_CMD_TIMEOUT = 30.0  # seconds an api_key_cmd may take, unless --timeout is shorter
_STDERR_SHOWN = 600  # characters of a failed command's stderr shown (its end)
# What the command may print: a key (or a password manager's entry, key first) is far
# shorter; a command that prints more (`yes`, a binary) is not one and must not fill
# the memory for half a minute. Of its stderr only the end is kept.
OUTPUT_LIMIT = 1024 * 1024
_STDERR_KEPT = 16 * 1024


def key_from_command(name: str, command: str, timeout: float | None = None) -> str:
    """The first line the command prints (split like a shell would, no shell run), for
    provider `name`; `timeout`: --timeout."""
    import shlex
    import subprocess
    what = f"api_key_cmd of provider {name!r}"
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"{what} cannot be parsed: {exc}") from None
    if not argv:
        raise UsageError(f"{what} is empty")
    limit = KEY_CMD_TIMEOUT if timeout is None else min(timeout, KEY_CMD_TIMEOUT)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    except OSError as exc:
        raise UsageError(f"{what} cannot be run: {argv[0]}: {exc.strerror or exc}") from None
    try:
        out, err = _collect(proc, limit, what)
    except subprocess.TimeoutExpired:
        _stop(proc)
        if limit < KEY_CMD_TIMEOUT:
            raise TimeoutExpired(f"{what} did not finish within {limit:g} s (--timeout)",
                                 limit="total") from None
        raise UsageError(f"{what} did not finish within {limit:g} s") from None
    except BaseException:  # Ctrl-C, --timeout: the command must not outlive the run
        _stop(proc)
        raise
    if proc.returncode != 0:
        raise UsageError(f"{what} exited with status {proc.returncode}{_said(err)}")
    key = out.decode("utf-8", "replace").strip().splitlines()
    if not key or not key[0].strip():
        raise UsageError(f"{what} printed no key{_said(err)}")
    return key[0].strip()


def _collect(proc, limit: float, what: str) -> tuple[bytes, bytes]:
    """(stdout, the end of stderr) of the command, like communicate(timeout=limit) but
    with stdout bounded by OUTPUT_LIMIT (UsageError past it) and stderr by its end."""
    import os
    import select
    import subprocess
    import time
    deadline = time.monotonic() + limit
    out, err = bytearray(), bytearray()
    try:
        open_pipes = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    except (AttributeError, OSError, ValueError):  # pipes that are no OS pipes
        return proc.communicate(timeout=limit)
    while open_pipes:
        left = deadline - time.monotonic()
        ready = select.select(list(open_pipes), [], [], max(0.0, left))[0] if left > 0 else []
        if not ready:
            raise subprocess.TimeoutExpired(proc.args, limit)
        for fd in ready:
            data = os.read(fd, 65536)
            if not data:
                del open_pipes[fd]
                continue
            buf = open_pipes[fd]
            buf += data
            if buf is out and len(out) > OUTPUT_LIMIT:
                _stop(proc)
                raise UsageError(f"{what} printed more than {OUTPUT_LIMIT // 1024} KiB: "
                                 "that is no key (its first line should be the key)")
            if buf is err and len(err) > 2 * _STDERR_KEPT:
                del err[:-_STDERR_KEPT]
    proc.wait(max(0.001, deadline - time.monotonic()))
    return bytes(out), bytes(err)


def _stop(proc) -> None:
    """Kill the command and reap it, without waiting for pipes that a process it started
    may still hold open."""
    try:
        proc.kill()
    except OSError:
        pass
    for pipe in (proc.stdout, proc.stderr):
        try:
            pipe.close()
        except (AttributeError, OSError):
            pass
    try:
        proc.wait(timeout=5)
    except Exception:  # noqa: BLE001 - a child stuck in the kernel is not ours to wait for
        pass


def _said(err: bytes | None) -> str:
    """The end of the command's stderr, for the message (the stderr writer masks secrets
    and control characters in it)."""
    text = (err or b"").decode("utf-8", "replace").strip()
    if not text:
        return ""
    if len(text) > _STDERR_SHOWN:
        text = "..." + text[-_STDERR_SHOWN:]
    return ":\n" + text
