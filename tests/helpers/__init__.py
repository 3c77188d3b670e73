"""Shared test helpers, one job per module (each module's first docstring line says which).

  paths       where the project, the recorded fixtures and the examples are
  keys        the API keys the tests use, and the check that none leaks into output
  env         the one clean environment every run of the command gets
  sse         the one builder of SSE streams, API bodies and ways to cut a body into reads
  schema      the published JSONL schema, loaded once, and the --jsonl/--no-stream checks
  streams     stand-ins for stdin and stdout (a counting BytesIO, a terminal, a pipe)
  media       small image, PDF and text files of any pixel and byte size (for -a)
  fakeserver  the one fake HTTP server (127.0.0.1, scripted replies)
  cli         the one runner of the command: in-process and as a real process
  pipes       a full pipe nobody reads, and the kernel's view of a process (/proc)
  logdb       the local log read straight from its SQLite file; holding its write lock

Test modules import from here, never from each other or from conftest.py.
"""
