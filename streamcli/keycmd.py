"""api_key_cmd: a provider's key printed by a command (a password manager), never prompted."""

from __future__ import annotations

from streamcli.errors import UsageError


def key_from_command(name: str, command: str) -> str:
    """The first line the command prints (split like a shell would, no shell run; at most
    30 s), for provider `name`."""
    import shlex
    import subprocess
    try:
        argv = shlex.split(command)
        result = subprocess.run(argv, capture_output=True, timeout=30)
    except (ValueError, OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"api_key_cmd of provider {name!r} failed: {exc}") from None
    if result.returncode != 0:
        raise UsageError(f"api_key_cmd of provider {name!r} exited with status "
                         f"{result.returncode}")
    key = result.stdout.decode("utf-8", "replace").strip().splitlines()
    if not key or not key[0].strip():
        raise UsageError(f"api_key_cmd of provider {name!r} printed no key")
    return key[0].strip()
