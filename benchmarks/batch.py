#!/usr/bin/env python3
"""Benchmark of many requests (issue 13): `streamcli batch run -j 64` against
`xargs -P 64 streamcli --no-stream` and against a minimal asyncio script with the official
SDK's async client and a semaphore of 64 (ref_batch_sdk.py), on 1,000 short requests to a
local server that answers each after 50 ms. Wall time, CPU time per request, peak RSS;
and `batch run`'s peak RSS on 10,000 items against 1,000 (memory flat in the item count).

    .venv/bin/python benchmarks/batch.py                       # the full run (~10 min)
    .venv/bin/python benchmarks/batch.py --items 30 --rounds 1 --no-memory   # a quick check

The machine is shared: the commands run in interleaved rounds (each round runs each
command once, in a rotating order) and the report gives the min and the median.

How each figure is taken:
- wall: from spawn to exit; CPU: the command's user + system time from os.wait4 in a
  small `python -S` wrapper (for xargs this includes every streamcli it ran and waited
  for); CPU per request: that CPU / requests; marginal CPU per request: (CPU of the run -
  CPU of a 10-request run of the same command) / the extra requests, i.e. without the
  start-up a single process pays once.
- peak RSS: the command's own ru_maxrss; for xargs, whose processes run side by side, the
  peak of the summed RSS of its process tree, sampled every 0.1 s from /proc.
- The server (asyncio, keep-alive, in its own process) answers "answer to <prompt>";
  every run's output is checked: one answer per prompt, each to the right prompt.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from benchmarks.commands import RUSAGE_WRAPPER, child_env  # noqa: E402

MODEL = "claude-bench"
BASELINE = 10  # requests of the start-up run, for the marginal CPU per request
STREAMCLI, XARGS, SDK = "streamcli batch run -j {j}", "xargs -P {j} streamcli --no-stream", \
    "asyncio + AsyncAnthropic, semaphore {j}"

SERVER = r'''
import asyncio, json, sys
DELAY = float(sys.argv[1])

def message(prompt):
    return json.dumps({"id": "msg_bench", "type": "message", "role": "assistant",
        "model": "claude-bench", "content": [{"type": "text", "text": "answer to " + prompt}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 4}}).encode()

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = json.loads(await reader.readexactly(length)) if length else {}
            prompt = body.get("messages", [{}])[-1].get("content", "")
            await asyncio.sleep(DELAY)
            data = message(prompt)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                         b"content-length: %d\r\n\r\n%s" % (len(data), data))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
'''


class Server:
    def __init__(self, delay: float) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, str(delay)],
                                     stdout=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def inputs(tmp: str, n: int) -> tuple[str, str]:
    """(a JSONL file of n prompts, the same prompts one per line)."""
    jsonl, text = os.path.join(tmp, f"in-{n}.jsonl"), os.path.join(tmp, f"in-{n}.txt")
    with open(jsonl, "w") as j, open(text, "w") as t:
        for i in range(n):
            j.write(json.dumps(f"q{i}") + "\n")
            t.write(f"q{i}\n")
    return jsonl, text


def argv_of(name: str, streamcli: str, url: str, jobs: int, files: tuple[str, str]):
    """(argv, stdin path) of one command."""
    if name == STREAMCLI:
        return [streamcli, "batch", "run", files[0], "-j", str(jobs), "--base-url", url,
                "-m", MODEL, "-q"], None
    if name == XARGS:
        return ["xargs", "-P", str(jobs), "-n", "1", "-d", "\n", streamcli, "--no-stream",
                "--no-stdin", "--base-url", url, "-m", MODEL], files[1]
    return [sys.executable, os.path.join(HERE, "ref_batch_sdk.py"), url, MODEL,
            str(jobs)], files[1]


def measure(argv, stdin_path, env, *, tree: bool) -> dict:
    fd, usage = tempfile.mkstemp(prefix="streamcli-bench-")
    os.close(fd)
    out = tempfile.TemporaryFile()
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-S", "-c", RUSAGE_WRAPPER, usage, *argv],
                            stdin=stdin, stdout=out, stderr=subprocess.PIPE, env=env,
                            cwd=env["HOME"])
    sampler = TreeRss(proc.pid) if tree else None
    _, err = proc.communicate(timeout=1800)
    wall = time.monotonic() - started
    if sampler is not None:
        sampler.stop()
    if stdin_path:
        stdin.close()
    with open(usage) as f:
        maxrss, cpu = f.read().split()
    os.unlink(usage)
    out.seek(0)
    return {"wall": wall, "cpu": float(cpu), "rss_kb": sampler.peak if tree else int(maxrss),
            "status": proc.returncode, "output": out.read(), "stderr": err.decode()[-500:]}


class TreeRss(threading.Thread):
    """The peak of the summed RSS of a process's descendants, sampled from /proc."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak = root, 0
        self._done = threading.Event()
        self.start()

    def run(self) -> None:
        page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
        while not self._done.wait(0.1):
            parent, rss = {}, {}
            for name in os.listdir("/proc"):
                if name.isdigit():
                    try:
                        with open(f"/proc/{name}/stat") as f:
                            fields = f.read().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    parent[int(name)], rss[int(name)] = int(fields[1]), int(fields[21])
            total = sum(rss[p] for p in rss if p != self.root and self._under(p, parent))
            self.peak = max(self.peak, total * page_kb)

    def _under(self, pid: int, parent: dict) -> bool:
        while pid in parent and pid > 1:
            pid = parent[pid]
            if pid == self.root:
                return True
        return False

    def stop(self) -> None:
        self._done.set()
        self.join()


def check(name: str, res: dict, n: int) -> str | None:
    """None when the run answered every prompt, each with its own answer."""
    if res["status"] != 0:
        return f"exit status {res['status']}: {res['stderr']}"
    texts = []
    for line in res["output"].decode().splitlines():
        obj = json.loads(line)
        if name == SDK:
            texts.append(obj["content"][0]["text"])
        else:
            if obj["status"] != "ok":
                return f"a failed line: {line[:200]}"
            texts.append(obj["text"])
            if name == STREAMCLI and obj["text"] != f"answer to q{obj['id']}":
                return f"an answer to the wrong prompt: {line[:200]}"
    if sorted(texts) != sorted(f"answer to q{i}" for i in range(n)):
        return f"{len(texts)} answers for {n} prompts, or the wrong ones"
    if name == STREAMCLI and texts != [f"answer to q{i}" for i in range(n)]:
        return "not in input order"
    return None


COMMANDS = {"streamcli": STREAMCLI, "xargs": XARGS, "sdk": SDK}


def run(args) -> dict:
    names = [COMMANDS[c] for c in args.commands.split(",")]
    server = Server(args.delay)
    tmp = tempfile.mkdtemp(prefix="streamcli-bench-batch-")
    env = child_env(tmp)
    files = {n: inputs(tmp, n) for n in {args.items, BASELINE, args.memory_items}}
    results: dict = {n: {"runs": [], "base": []} for n in names}
    memory: dict = {args.items: [], args.memory_items: []}
    try:
        for round_no in range(args.rounds):
            turn = round_no % len(names)
            order = names[turn:] + names[:turn]
            for name in order:
                for size, key in ((args.items, "runs"), (BASELINE, "base")):
                    argv, stdin = argv_of(name, args.streamcli, server.url, args.jobs,
                                          files[size])
                    res = measure(argv, stdin, env, tree=name == XARGS)
                    problem = check(name, res, size)
                    if problem:
                        raise SystemExit(f"{name.format(j=args.jobs)}, {size} requests: {problem}")
                    results[name][key].append(res)
                    print(f"round {round_no + 1} {name.format(j=args.jobs)} ({size}): "
                          f"{res['wall']:.2f} s, {res['cpu']:.2f} s CPU, "
                          f"{res['rss_kb'] / 1024:.0f} MB", file=sys.stderr)
            if args.memory:
                for size in (args.items, args.memory_items):
                    argv, stdin = argv_of(STREAMCLI, args.streamcli, server.url, args.jobs,
                                          files[size])
                    res = measure(argv, stdin, env, tree=False)
                    assert check(STREAMCLI, res, size) is None
                    memory[size].append(res["rss_kb"])
    finally:
        server.close()
    return summarize(args, results, memory)


def summarize(args, results: dict, memory: dict) -> dict:
    n = args.items
    rows = {}
    for name, data in results.items():
        walls = [r["wall"] for r in data["runs"]]
        cpus = [r["cpu"] / n * 1000 for r in data["runs"]]
        marginal = [(r["cpu"] - b["cpu"]) / (n - BASELINE) * 1000
                    for r, b in zip(data["runs"], data["base"])]
        rss = [r["rss_kb"] / 1024 for r in data["runs"]]
        rows[name.format(j=args.jobs)] = {
            "wall_s": _mm(walls), "requests_per_s": n / statistics.median(walls),
            "cpu_ms_per_request": _mm(cpus), "marginal_cpu_ms_per_request": _mm(marginal),
            "peak_rss_mb": _mm(rss)}
    out = {"items": n, "jobs": args.jobs, "delay_ms": args.delay * 1000,
           "rounds": args.rounds, "rows": rows}
    if args.memory:
        out["memory_mb"] = {str(k): _mm([v / 1024 for v in vals]) for k, vals in memory.items()}
    return out


def _mm(values: list) -> dict:
    return {"min": min(values), "median": statistics.median(values)}


def markdown(data: dict) -> str:
    lines = [f"{data['items']} requests, server answering each after {data['delay_ms']:.0f} ms, "
             f"{data['rounds']} interleaved rounds (min / median):", "",
             "| command | wall (s) | requests/s (median) | CPU per request (ms) | "
             "marginal CPU per request (ms) | peak RSS (MB) |", "|---|---:|---:|---:|---:|---:|"]
    for name, row in data["rows"].items():
        cells = [f"{row[k]['min']:.2f} / {row[k]['median']:.2f}"
                 for k in ("wall_s", "cpu_ms_per_request", "marginal_cpu_ms_per_request")]
        rss = row["peak_rss_mb"]
        lines.append(f"| `{name}` | {cells[0]} | {row['requests_per_s']:.0f} | {cells[1]} | "
                     f"{cells[2]} | {rss['min']:.0f} / {rss['median']:.0f} |")
    if "memory_mb" in data:
        mem = data["memory_mb"]
        lines += ["", "`streamcli batch run` peak RSS by item count (min / median): " + ", ".join(
            f"{k} items {v['min']:.1f} / {v['median']:.1f} MB" for k, v in mem.items())]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.05, help="server delay (s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-items", type=int, default=10000)
    parser.add_argument("--no-memory", dest="memory", action="store_false")
    parser.add_argument("--commands", default="streamcli,xargs,sdk",
                        help="which of streamcli, xargs, sdk to run (comma-separated)")
    parser.add_argument("--streamcli", default=os.path.join(os.path.dirname(sys.executable),
                                                            "streamcli"))
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    data = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
