"""What a run reads and writes, passed in: stdio, variables, the HTTP transport.

`entry` builds the real one from the process; tests build their own (a BytesIO stdout,
a dict of variables, an httpx2.MockTransport), so no module holds a test switch.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import IO, Any, Mapping

from streamcli.redact import Redactor


@dataclass
class Environment:
    # Text streams as sys.stdin/sys.stderr are (stdin's bytes are read via .buffer);
    # None when the shell closed them (`<&-`, `2>&-`).
    stdin: IO[str] | None = None
    # The binary stdout the payload is written to (sys.stdout.buffer), flushed per read.
    stdout: IO[bytes] | None = None
    stderr: IO[str] | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    # An httpx2 transport for every request of the run; None keeps httpx2's own, which
    # honours HTTPS_PROXY/NO_PROXY: never replace it with one that does not.
    transport: Any = None
    # The run's secrets, as they become known (the key, credential headers, passwords in
    # URLs): whatever the run says on stderr or in an error object is masked with them.
    redact: Redactor = field(default_factory=Redactor)

    @classmethod
    def from_process(cls) -> "Environment":
        stdout = sys.stdout
        return cls(stdin=sys.stdin, stdout=getattr(stdout, "buffer", None) if stdout else None,
                   stderr=sys.stderr, environ=os.environ, transport=None)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.environ.get(name, default)
