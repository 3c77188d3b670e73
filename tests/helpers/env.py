"""The one clean environment every run of the command gets (in-process or a real process).

Built from nothing but PATH: no real API keys, no proxies, no STREAMCLI_* settings of the
developer's, NO_COLOR, a UTF-8 locale, and HOME, the XDG directories, the config file and
the (coming) SQLite log all under a temporary directory, so that no test reads or writes
the real home.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def clean_env(home: Path, extra: Mapping[str, object] | None = None) -> dict[str, str]:
    """The environment of one run, everything under `home` (a temporary directory).

    extra: variables to add or replace; a value of None removes the variable."""
    home = Path(home)
    assert home.resolve() != Path.home().resolve(), "tests must never use the real home"
    env = {
        "PATH": os.environ.get("PATH", DEFAULT_PATH),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        # Not the default location under XDG_DATA_HOME, so a test of the default can tell.
        "STREAMCLI_DB": str(home / "streamcli-test-db" / "logs.db"),
        "NO_COLOR": "1",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    for name, value in (extra or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


def config_file(env: Mapping[str, str]) -> Path:
    """The config file streamcli reads in this environment (when STREAMCLI_CONFIG is unset)."""
    return Path(env["XDG_CONFIG_HOME"]) / "streamcli" / "config.toml"
