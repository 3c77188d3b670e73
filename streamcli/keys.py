"""Where a provider's API key comes from: its environment variable, a named provider's
api_key_env, or its api_key_cmd (a password manager) run with a time limit; each key is
returned with a description of its source, for the message of a rejected key."""

from __future__ import annotations

from streamcli.errors import TimeoutExpired, UsageError

KEY_CMD_TIMEOUT = 30.0  # seconds an api_key_cmd may take, unless --timeout is shorter
_STDERR_SHOWN = 600  # characters of a failed command's stderr shown (its end)


def api_key(name: str, kind: str, entry: dict, url: str, env, prov, kinds,
            timeout: float | None, where: str) -> tuple[str | None, str | None]:
    """(key, where it came from), or (None, None) for a keyless compatible server.
    `kinds`: the built-in provider names; `where`: the config file's path, for advice."""
    # Environment before config file. A named provider never falls back to
    # OPENAI_API_KEY/ANTHROPIC_API_KEY: that key must not travel to a third-party server.
    if name in kinds and env.get(prov.KEY_ENV):
        return checked(env[prov.KEY_ENV], prov.KEY_ENV), prov.KEY_ENV
    var = entry.get("api_key_env")
    if var and env.get(var):
        source = f"{var} (the api_key_env of provider {name!r})"
        return checked(env[var], source), source
    if entry.get("api_key_cmd"):
        source = f"the api_key_cmd of provider {name!r}"
        return checked(from_command(name, entry["api_key_cmd"], timeout), f"the output of {source}"), source
    # Anthropic and OpenAI's own URL always need a key; a compatible server (a local
    # vLLM, llama.cpp or Ollama) often has none.
    if kind == "anthropic" or "://api.openai.com" in url:
        if name in kinds:
            raise UsageError(f"no API key: set {prov.KEY_ENV}")
        if var:
            raise UsageError(f"no API key: set {var} (the api_key_env of provider {name!r})")
        raise UsageError(f"no API key for provider {name!r}: set the variable named by its "
                         f"api_key_env, or configure api_key_cmd, in {where}")
    return None, None


def checked(key: str, source: str) -> str:
    """A key pasted with a newline or spaces is trimmed; anything else that cannot be an
    HTTP header value is refused without echoing the key."""
    key = key.strip()
    if not key or not key.isascii() or not key.isprintable():
        raise UsageError(f"the API key in {source} contains characters that cannot be sent "
                         f"in an HTTP header")
    return key


def from_command(name: str, command: str, timeout: float | None) -> str:
    """The first line the command prints. It gets no stdin (the prompt's context may be
    waiting there), at most KEY_CMD_TIMEOUT seconds (or --timeout, if shorter), and a
    Ctrl-C ends it; on failure its own stderr is shown (its end)."""
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
        out, err = proc.communicate(timeout=limit)
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
