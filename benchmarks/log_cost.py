#!/usr/bin/env python3
"""What the local log adds to the end of a run (issue 11: under 5 ms).

    .venv/bin/python benchmarks/log_cost.py [--runs 30]

Two measurements:

1. **The record itself**, in fresh processes (so `sqlite3` is imported cold, as in a real
   run): each child first imports what a network run has loaded by its end (the session,
   httpx2, a provider), builds a realistic exchange (a 2 KB answer, usage, a request id),
   then times exactly what the session does after the answer is out: import `record`,
   open the database, write the row and its full-text entry, close. Into a log that
   already holds 1,000 exchanges (the common case), and into no log at all (the first run
   ever: the directory, the file and the tables are made).
2. **End to end**: the real command against a local server (20 deltas), `--log` and
   `--no-log` runs back to back in pairs; the median of the pairs' differences in wall
   time and in CPU time (the process's own rusage). Process start-up noise is several
   milliseconds, so this is a sanity check of (1), not a finer measurement.

The package's bytecode is compiled first (as an install does), so that no run measures
compiling a module instead of running it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CHILD = r"""
import sys, time
sys.path.insert(0, ROOT)
import httpx2  # noqa: F401  (a network run has loaded these by its end)
import streamcli.session, streamcli.transport, streamcli.providers.anthropic  # noqa: F401
from streamcli.conversation import Conversation
from streamcli.events import Usage
from streamcli.outcome import Outcome
from streamcli.request import Request
from streamcli.transcript import Transcript
from streamcli.ui import Stderr

request = Request(provider="anthropic", model="claude-sonnet-4-5", prompt="q " * 200,
                  base_url="https://api.anthropic.com", api_key="sk-ant-bench",
                  system="Be brief.")
conversation = Conversation(id="01jdbench00000000000000000", record=True, provider="anthropic")
transcript = Transcript()
for _ in range(20):
    transcript.text_parts.append("word " * 20)
outcome = Outcome(status="ok", exit_code=0, error=None, provider="anthropic",
                  model="claude-sonnet-4-5", id="msg_bench", stop_raw="end_turn",
                  usage=Usage(400, 500, {"input_tokens": 400, "output_tokens": 500}),
                  ttft_ms=350.0, duration_ms=4200.0)
environ = {"STREAMCLI_DB": DB}
ui = Stderr(sys.stderr)
t0 = time.perf_counter()
from streamcli import record
record.exchange(environ, ui, request, conversation, transcript, outcome,
                started_at=time.time(), request_id="req_bench")
print((time.perf_counter() - t0) * 1000)
"""


def child(db: str) -> float:
    code = f"ROOT = {ROOT!r}\nDB = {db!r}\n" + CHILD
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    if out.stderr:
        raise SystemExit(f"the record failed: {out.stderr}")
    return float(out.stdout)


def fill(db: str, n: int) -> None:
    """A log that already holds n exchanges."""
    from streamcli import logbook
    row = {c: None for c in logbook.COLUMNS}
    for i in range(n):
        row.update(id=logbook.new_id(), conversation_id=f"c{i % 300}", time=logbook.utc(time.time()),
                   prompt=f"question {i} " + "lorem ipsum " * 30, text="answer " * 300,
                   status="ok", exit_code=0)
        logbook.write({"STREAMCLI_DB": db}, row)


def summary(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[max(0, int(len(values) * 0.9) - 1)]
    return (f"median {statistics.median(values):.2f} ms, p90 {p90:.2f} ms, "
            f"min {values[0]:.2f} ms, max {values[-1]:.2f} ms")


def direct(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        existing = os.path.join(tmp, "existing", "logs.db")
        fill(existing, 1000)
        times = [child(existing) for _ in range(runs)]
        print(f"record into a log of 1,000+ exchanges ({runs} fresh processes): {summary(times)}")
        fresh = []
        for i in range(runs):
            fresh.append(child(os.path.join(tmp, f"new{i}", "logs.db")))
        print(f"record into no log yet (creates it; {runs} fresh processes): {summary(fresh)}")


def timed(argv: list, env: dict) -> tuple[float, float]:
    """(wall ms, user+system CPU ms) of one run, from its own rusage (os.wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"streamcli exited with {proc.returncode}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def end_to_end(runs: int) -> None:
    from benchmarks.server import BenchServer
    with BenchServer() as server, tempfile.TemporaryDirectory() as tmp:
        base = server.url(20, 20)
        env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-bench",
               "STREAMCLI_DB": os.path.join(tmp, "logs.db")}
        argv = [sys.executable, "-m", "streamcli", "--provider", "anthropic", "-m", "claude-x",
                "--base-url", base, "--no-stdin", "hello"]
        timed([*argv, "--log"], env)  # warms the caches and creates the log
        pairs = [(timed([*argv, "--log"], env), timed([*argv, "--no-log"], env))
                 for _ in range(runs)]
        for i, flag in enumerate(("--log", "--no-log")):
            print(f"whole run {flag:9} ({runs} runs): wall {summary([p[i][0] for p in pairs])}")
        for j, what in enumerate(("wall", "CPU (user+system)")):
            diffs = [p[0][j] - p[1][j] for p in pairs]
            print(f"--log minus --no-log, {what}, median of {runs} pairs run back to back: "
                  f"{statistics.median(diffs):+.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    # An installed package has its bytecode; with PYTHONDONTWRITEBYTECODE set, every run
    # would compile the modules it imports anew and measure that instead.
    import compileall
    compileall.compile_dir(os.path.join(ROOT, "streamcli"), quiet=1)
    print(f"Python {sys.version.split()[0]}, SQLite {__import__('sqlite3').sqlite_version}, "
          f"{os.cpu_count()} CPUs")
    direct(args.runs)
    end_to_end(args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
