#!/usr/bin/env python3
"""streamcli against the floor (curl) and its peers, on a local fake server.

    .venv/bin/python benchmarks/run.py            # the full run (5-10 minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # a short smoke run
    .venv/bin/python benchmarks/run.py --serve    # only the server, for experiments by hand
    .venv/bin/python benchmarks/run.py --report run.json [--chart c.svg] [--compare before.json]

The server (benchmarks/server.py: stdlib sockets, one thread per connection) listens on
127.0.0.1, port 0, and serves Anthropic Messages streams on .../v1/messages and OpenAI
Chat Completions streams on .../chat/completions. Every stream is served in each framing
of --framings: `1` is one SSE event per HTTP chunk, as the real services frame them;
`16` packs 16 consecutive events in each chunk, as a fast local model, a replay or a
buffering proxy does (the client then finds many events in each read). Paced streams
come from a server thread in this process: it timestamps each send with time.monotonic()
(the clock the harness reads arrivals with), and watches the socket between sends to see
the client go away. Streams without delay come from the same server in a child process,
which writes many chunks per send: a server thread here would share the GIL with the
thread draining the client's stdout and become the bottleneck.

Every command runs in a clean environment (temporary HOME and XDG_CONFIG_HOME, fake
keys, NO_COLOR) with stdin from /dev/null and its working directory in that HOME; every
run's output is checked against what the server sent (benchmarks/commands.py: check), and
a run that printed anything else does not count.

Figures, each measured over several rounds with the commands interleaved (round-robin),
reported as min and median:

  1. start to first stdout byte: 20-delta stream, no delay (10 rounds), in every framing
  2. streaming rate: 100,000 deltas, no delay; deltas / (last byte - first byte), in
     every framing; with the CPU time and the peak RSS of each run
  3. added latency per delta (one event per chunk): deltas 20 ms apart; the server's send
     timestamp to the time this process reads the bytes from the pipe (same clock, same
     process); the median over 50 deltas per run (after 5 warm-up deltas)
  4. peak RSS (os.wait4's rusage of each child) of streamcli in text, --raw-sse and
     --jsonl modes, 100,000 vs 1,000,000 deltas, in every framing of --rss-framings
  5. cancellation (one event per chunk): SIGINT mid-stream (deltas 10 ms apart) to the
     process exit, and to the server seeing the connection close
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time

if __package__ in (None, ""):  # run as a script: import benchmarks/ as a package of the
    # checkout, and keep the script's own directory off the path (its module names).
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from benchmarks import report  # noqa: E402
from benchmarks.commands import (REPLAY, ROOT, Command, RunResult, _kill, build_commands,  # noqa: E402
                                 check, child_env, delta_ends, reap, resolve_argv, run, spawn)
from benchmarks.server import BenchServer, BulkServer, Scenario, delta_text  # noqa: E402


class Bench:
    def __init__(self, args, server: BenchServer, bulk: BulkServer, tmp: str) -> None:
        self.args = args
        self.server = server  # in this process: paced streams (send times, disconnects)
        self.bulk = bulk  # in a child process: streams without delay
        self.env = child_env(tmp)
        self.cmds: list[Command] = build_commands(args.streamcli_argv, args.variants,
                                                  sdk=not args.skip_sdk)
        # framing -> row label -> figure -> values
        self.results: dict[int, dict[str, dict[str, list]]] = {k: {} for k in args.framings}
        self.rss: dict[str, dict[str, list]] = {}  # row label -> "framing/deltas" -> MB
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def note(self, k: int, name: str, figure: str, value) -> None:
        with self._lock:
            self.results[k].setdefault(name, {}).setdefault(figure, []).append(value)

    def fail(self, cmd: Command, figure: str, why: str) -> None:
        msg = f"{cmd.name} [{figure}]: {why}"
        with self._lock:
            self.failures.append(msg)
        print(f"  ! {msg}", file=sys.stderr)

    def progress(self, text: str) -> None:
        if not self.args.silent:
            print(text, file=sys.stderr, flush=True)

    def bulk_url(self, sc: Scenario) -> str:
        return self.bulk.url(sc.n, sc.size, sc.per_chunk)

    # 1
    def startup(self) -> None:
        a = self.args
        self.progress(f"[1/5] first byte: {a.startup_deltas}-delta stream, {a.rounds_startup} rounds, "
                      f"framings {a.framings}")
        replay = os.path.join(ROOT, "examples", "anthropic_hello.sse")
        for r in range(a.rounds_startup):
            for k in a.framings:
                for cmd in self.cmds:
                    if cmd.sdk and r >= a.rounds_startup_sdk:
                        continue  # seconds per run, and the target is a ratio of 5 or more
                    sc = Scenario(a.startup_deltas, a.delta_size, per_chunk=k)
                    res = run(cmd.argv(self.bulk_url(sc)), self.env, timeout=a.timeout)
                    why = check(cmd, sc, res)
                    if why:
                        self.fail(cmd, f"first byte, {k}/chunk", why)
                        continue
                    self.note(k, cmd.name, "first_byte_ms", res.first_byte * 1000)
                    self.note(k, cmd.name, "startup_cpu_ms", res.cpu_s * 1000)
            if os.path.exists(replay) and not a.only:
                res = run([*a.streamcli_argv, "--replay", replay], self.env, timeout=a.timeout)
                if res.status == 0 and res.first_byte is not None:
                    self.note(a.framings[0], REPLAY, "first_byte_ms", res.first_byte * 1000)
                    self.note(a.framings[0], REPLAY, "startup_cpu_ms", res.cpu_s * 1000)
                else:
                    self.failures.append(f"{REPLAY} [first byte]: exit status "
                                         f"{res.status}: {res.stderr.strip()[-300:]}")

    # 2
    def rate(self) -> None:
        a = self.args
        self.progress(f"[2/5] streaming rate: {a.deltas} deltas, {a.rounds_rate} rounds, "
                      f"framings {a.framings}")
        for r in range(a.rounds_rate):
            for k in a.framings:
                for cmd in self.cmds:
                    sc = Scenario(a.sdk_deltas if cmd.sdk else a.deltas, a.delta_size, per_chunk=k)
                    res = run(cmd.argv(self.bulk_url(sc)), self.env, timeout=a.timeout * 10,
                              rusage=True)
                    why = check(cmd, sc, res)
                    if why:
                        self.fail(cmd, f"rate, {k}/chunk", why)
                        continue
                    span = res.last_byte - res.first_byte
                    rate = sc.n / span if span > 0 else float("inf")
                    self.note(k, cmd.name, "rate", rate)
                    self.note(k, cmd.name, "rss_mb", res.maxrss_kb / 1024)
                    self.note(k, cmd.name, "cpu_s", res.cpu_s)
                    self.note(k, cmd.name, "rate_n", sc.n)
                    self.progress(f"    [{r + 1}/{a.rounds_rate}, {k}/chunk] {cmd.name}: "
                                  f"{rate:,.0f} deltas/s")

    # 3
    def latency(self) -> None:
        a = self.args
        warm, k = a.latency_warmup, 1
        self.progress(f"[3/5] latency: {a.latency_deltas} deltas {a.latency_delay * 1000:g} ms apart, "
                      f"{a.rounds_latency} rounds")
        for r in range(a.rounds_latency):
            for cmd in self.cmds:
                sc = Scenario(warm + a.latency_deltas, a.delta_size, a.latency_delay)
                res = run(cmd.argv(self.server.add(sc)), self.env, timeout=a.timeout,
                          keep_output=True, keep_arrivals=True)
                why = check(cmd, sc, res)
                if why:
                    self.fail(cmd, "latency", why)
                    continue
                ends = delta_ends(cmd, sc, res.output)
                if len(ends) != sc.n or len(sc.send_times) != sc.n:
                    self.fail(cmd, "latency", f"found {len(ends)} of {sc.n} deltas")
                    continue
                lat, j = [], 0
                for i in range(warm, sc.n):
                    while res.arrivals[j][1] < ends[i]:
                        j += 1
                    lat.append(res.arrivals[j][0] - sc.send_times[i])
                self.note(k, cmd.name, "latency_ms", statistics.median(lat) * 1000)

    # 4
    def memory(self) -> None:
        a = self.args
        self.progress(f"[4/5] peak RSS: streamcli modes at {', '.join(f'{n:,}' for n in a.rss_deltas)} "
                      f"deltas, framings {a.rss_framings}")
        cmds = [c for c in self.cmds if c.streamcli and c.fmt == "anthropic"]
        for r in range(a.rounds_rss):
            for k in a.rss_framings:
                for n in a.rss_deltas:
                    # The modes run side by side: peak RSS does not depend on speed, and
                    # one million deltas take a while.
                    threads = [threading.Thread(target=self._rss_once, args=(cmd, n, k))
                               for cmd in cmds]
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()

    def _rss_once(self, cmd: Command, n: int, k: int) -> None:
        sc = Scenario(n, self.args.delta_size, per_chunk=k)
        res = run(cmd.argv(self.bulk_url(sc)), self.env, timeout=self.args.timeout * 30,
                  rusage=True)
        why = check(cmd, sc, res)
        if why:
            self.fail(cmd, f"rss {n}, {k}/chunk", why)
            return
        with self._lock:
            self.rss.setdefault(cmd.name, {}).setdefault(f"{k}/{n}", []).append(res.maxrss_kb / 1024)

    # 5
    def cancel(self) -> None:
        a = self.args
        self.progress(f"[5/5] cancellation: SIGINT mid-stream, {a.rounds_cancel} rounds")
        for r in range(a.rounds_cancel):
            for cmd in self.cmds:
                sc = Scenario(1_000_000, a.delta_size, a.cancel_delay)
                out = self._cancel_once(cmd, sc)
                if isinstance(out, str):
                    self.fail(cmd, "cancel", out)
                    continue
                exit_ms, disc_ms, status = out
                self.note(1, cmd.name, "cancel_exit_ms", exit_ms)
                if disc_ms is not None:
                    self.note(1, cmd.name, "cancel_disconnect_ms", disc_ms)
                self.note(1, cmd.name, "cancel_status", status)

    def _cancel_once(self, cmd: Command, sc: Scenario):
        a = self.args
        with tempfile.TemporaryFile() as err:
            proc = spawn(cmd.argv(self.server.add(sc)), self.env, err)
            got = threading.Event()
            state = {"n": 0}
            want = len(delta_text(sc.size)) * 5  # five deltas printed: mid-stream for sure

            def drain():
                fd = proc.stdout.fileno()
                while True:
                    try:
                        data = os.read(fd, 1 << 16)
                    except OSError:
                        break
                    if not data:
                        break
                    state["n"] += len(data)
                    if state["n"] >= want:
                        got.set()
                got.set()

            reader = threading.Thread(target=drain, daemon=True)
            reader.start()
            try:
                if not got.wait(a.timeout) or state["n"] < want:
                    return f"no output before the cancellation (printed {state['n']} bytes)"
                time.sleep(a.cancel_delay * 0.37)  # somewhere between two deltas
                t0 = time.monotonic()
                proc.send_signal(2)  # SIGINT
                timer = threading.Timer(10, _kill, (proc, RunResult()))
                timer.start()
                try:
                    status = reap(proc)[0]
                finally:
                    timer.cancel()
                t_exit = time.monotonic()
                sc.disconnected.wait(5)
                disc = (sc.disconnect_time - t0) * 1000 if sc.disconnect_time else None
                return (t_exit - t0) * 1000, disc, status
            finally:
                if proc.returncode is None:
                    proc.kill()
                    reap(proc)
                reader.join(5)
                proc.stdout.close()

    # -- the data the report is made from ---------------------------------------------

    def data(self, elapsed: float, load: dict) -> dict:
        a = self.args
        params = {key: getattr(a, key) for key in (
            "framings", "rss_framings", "delta_size", "startup_deltas", "deltas", "sdk_deltas",
            "latency_deltas", "latency_delay", "cancel_delay", "rss_deltas", "rounds_startup",
            "rounds_startup_sdk", "rounds_rate", "rounds_latency", "rounds_rss", "rounds_cancel")}
        return {
            "version": 2,
            "params": params,
            "commands": [c.info() for c in self.cmds],
            "results": {str(k): v for k, v in self.results.items()},
            "rss": self.rss,
            "failures": self.failures,
            "machine": report.machine(),
            "load": load,
            "streamcli": shlex.join(a.streamcli_argv),
            "variants": {label: shlex.join(argv) for label, argv in a.variants},
            "command": shlex.join(["benchmarks/run.py", *sys.argv[1:]]),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": _git_head(),
            "elapsed_s": elapsed,
        }


class LoadSampler:
    """The 1-minute load average every few seconds while the benchmark runs: the machine
    is shared, and the report says how busy it was."""

    def __init__(self, every: float = 10.0) -> None:
        self.every, self.samples, self.start = every, [], os.getloadavg()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> "LoadSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.samples.append(os.getloadavg()[0])

    def data(self) -> dict:
        return {"start": [round(x, 2) for x in self.start], "every_s": self.every,
                "samples": [round(x, 2) for x in self.samples]}


def _git_head() -> str | None:
    try:
        out = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a short smoke run (fewer rounds and deltas)")
    p.add_argument("--serve", action="store_true",
                   help="only run the server: print base URLs for a scenario and wait")
    p.add_argument("--streamcli", default=None,
                   help="the command to run (default: the streamcli entry point next to this Python)")
    p.add_argument("--figures", default="startup,rate,latency,rss,cancel",
                   help="comma-separated subset of startup,rate,latency,rss,cancel")
    p.add_argument("--framings", default="1,16",
                   help="SSE events per HTTP chunk, comma-separated: 1 is how the APIs frame "
                        "events; 16 or 64 coalesce them (default: 1,16)")
    p.add_argument("--rss-framings", default=None,
                   help="framings for the RSS-by-length figure (default: the first of --framings)")
    p.add_argument("--skip-sdk", action="store_true", help="leave the SDK scripts out")
    p.add_argument("--variant", action="append", default=[], metavar="LABEL=COMMAND",
                   help="also run another streamcli build side by side, e.g. "
                        "'opt=env PYTHONPATH=/tmp/opt /path/to/python -P -m streamcli' (repeatable)")
    p.add_argument("--only", default=None,
                   help="comma-separated substrings: keep only the commands whose row label matches")
    p.add_argument("--delta-size", type=int, default=4)
    p.add_argument("--startup-deltas", type=int, default=20)
    p.add_argument("--deltas", type=int, default=100_000, help="deltas for the rate figure")
    p.add_argument("--sdk-deltas", type=int, default=20_000,
                   help="deltas for the SDK scripts' rate (they are 5-10 times slower; their "
                        "rate at 20,000 is a little higher than at 100,000, so this flatters them)")
    p.add_argument("--latency-deltas", type=int, default=50)
    p.add_argument("--latency-warmup", type=int, default=5)
    p.add_argument("--latency-delay", type=float, default=0.020)
    p.add_argument("--cancel-delay", type=float, default=0.010)
    p.add_argument("--rss-deltas", default="100000,1000000",
                   help="comma-separated answer lengths for the RSS figure")
    p.add_argument("--rounds", type=int, default=None, help="the same number of rounds for every figure")
    p.add_argument("--rounds-startup", type=int, default=10)
    p.add_argument("--rounds-startup-sdk", type=int, default=3,
                   help="first-byte rounds for the SDK scripts (2 s each)")
    p.add_argument("--rounds-rate", type=int, default=3)
    p.add_argument("--rounds-latency", type=int, default=3)
    p.add_argument("--rounds-rss", type=int, default=1)
    p.add_argument("--rounds-cancel", type=int, default=3)
    p.add_argument("--timeout", type=float, default=60, help="seconds per run (x10 for rate runs)")
    p.add_argument("--json", metavar="FILE", help="also write the run's data as JSON (--report reads it)")
    p.add_argument("--chart", metavar="FILE.svg",
                   help="also draw the peers side by side as SVG (needs matplotlib: "
                        "pip install -e '.[bench]')")
    p.add_argument("--chart-title", default=None)
    p.add_argument("--report", metavar="FILE.json",
                   help="measure nothing: print the report of a saved run (with --chart, draw it)")
    p.add_argument("--compare", metavar="BEFORE.json",
                   help="also print a before/after table against a saved run")
    p.add_argument("--silent", action="store_true", help="no progress on stderr")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds_startup, args.rounds_rate, args.rounds_latency = 3, 1, 1
        args.rounds_rss, args.rounds_cancel = 1, 1
        args.deltas = min(args.deltas, 20_000)
        args.sdk_deltas = min(args.sdk_deltas, 5_000)
        args.latency_deltas = min(args.latency_deltas, 20)
        if args.rss_deltas == "100000,1000000":
            args.rss_deltas = "20000,200000"
    args.sdk_deltas = min(args.sdk_deltas, args.deltas)
    if args.rounds is not None:
        args.rounds_startup = args.rounds_rate = args.rounds_latency = args.rounds
        args.rounds_startup_sdk = args.rounds
        args.rounds_rss = args.rounds_cancel = args.rounds
    args.rss_deltas = _ints(args.rss_deltas)
    args.framings = _ints(args.framings)
    if not args.framings or min(args.framings) < 1:
        p.error("--framings expects positive numbers of events per chunk")
    args.rss_framings = _ints(args.rss_framings) if args.rss_framings else args.framings[:1]
    args.variants = []
    for item in args.variant:
        label, sep, command = item.partition("=")
        if not sep or not label or not command:
            p.error(f"--variant expects LABEL=COMMAND, not {item!r}")
        args.variants.append((label, resolve_argv(shlex.split(command))))
    if args.streamcli:
        args.streamcli_argv = resolve_argv(shlex.split(args.streamcli))
    else:
        entry = os.path.join(os.path.dirname(sys.executable), "streamcli")
        args.streamcli_argv = [entry] if os.path.exists(entry) else [sys.executable, "-m", "streamcli"]
    return args


def output(data: dict, args) -> None:
    """Print the report; write the JSON, the chart and the comparison asked for."""
    print(report.render(data))
    if args.compare:
        with open(args.compare) as f:
            print(report.compare(json.load(f), data) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
    if args.chart:
        report.chart(data, args.chart, args.chart_title)
        print(f"Chart: {args.chart}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report:
        with open(args.report) as f:
            data = json.load(f)
        args.json = None
        output(data, args)
        return 0
    with BenchServer() as server, tempfile.TemporaryDirectory(prefix="streamcli-bench-") as tmp:
        if args.serve:
            n, k = args.deltas, args.framings[-1]
            paced = server.add(Scenario(n, args.delta_size, args.latency_delay))
            print(f"{n} deltas, no delay, one event per chunk: {server.url(n, args.delta_size)}\n"
                  f"{n} deltas, no delay, {k} events per chunk: {server.url(n, args.delta_size, k)}\n"
                  f"{n} deltas, {args.latency_delay * 1000:g} ms apart: {paced}\n"
                  "(append /v1/messages or /chat/completions; Ctrl-C to stop)", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return 0
        with BulkServer() as bulk:
            bench = Bench(args, server, bulk, tmp)
            if args.only:
                keys = [k.strip().lower() for k in args.only.split(",")]
                bench.cmds = [c for c in bench.cmds if any(k in c.name.lower() for k in keys)]
            bench.progress(f"streamcli: {shlex.join(args.streamcli_argv)}; server on port {server.port}; "
                           f"load average {os.getloadavg()[0]:.2f}")
            started = time.monotonic()
            figures = {f.strip() for f in args.figures.split(",")}
            with LoadSampler() as load:
                for name, fn in (("startup", bench.startup), ("rate", bench.rate),
                                 ("latency", bench.latency), ("rss", bench.memory),
                                 ("cancel", bench.cancel)):
                    if name in figures:
                        fn()
            data = bench.data(time.monotonic() - started, load.data())
    output(data, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
