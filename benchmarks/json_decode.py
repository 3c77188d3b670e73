#!/usr/bin/env python3
"""What streamcli's calls into CPython's json internals buy, per event.

    .venv/bin/python benchmarks/json_decode.py [--tree /work/baseline] [--json FILE]

streamcli/jsonfast.py decodes each SSE `data:` payload with the C scanner
(`json.JSONDecoder().scan_once`) instead of `json.loads`, and the Anthropic provider
takes a text delta's text out of its payload with `json.decoder.scanstring`
(`_fast_text`) instead of `json.loads(data)["delta"]["text"]`; neither is documented
API. This times both against the documented calls on the data payloads of the recorded
streams in tests/fixtures/{anthropic,openai}/*.sse and on the benchmark server's own
delta payloads (what the rate figure decodes), with timeit: every function over the
whole set of payloads, `--number` times per repeat, `--repeat` repeats with the
functions interleaved, the minimum reported (and the median, to show the noise), as
nanoseconds per payload. Every function's result is checked equal to json.loads's first.

The end-to-end effect is a separate measurement (BENCHMARKS.md has the commands): the
rate figure of run.py with copies of the tree where jsonfast.loads is json.loads.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def sse_payloads(path: str) -> list[str]:
    """The data of each event of an SSE file (data lines joined by LF), as decoded text."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for block in text.split("\n\n"):
        data = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if data:
            out.append("\n".join(data))
    return out


def json_payloads(paths: list[str]) -> list[str]:
    """The payloads that are JSON (not [DONE], not a truncated last event)."""
    out = []
    for path in paths:
        for data in sse_payloads(path):
            try:
                json.loads(data)
            except ValueError:
                continue
            out.append(data)
    return out


def load_tree(tree: str):
    """streamcli's jsonfast and Anthropic provider modules, imported from `tree`."""
    sys.path.insert(0, tree)
    try:
        import streamcli
        if not os.path.abspath(streamcli.__file__).startswith(os.path.abspath(tree) + os.sep):
            sys.exit(f"streamcli was imported from {streamcli.__file__}, not from {tree}")
        try:
            from streamcli import jsonfast
        except ImportError:  # gone in a later layout: only json.loads is timed
            jsonfast = None
        try:
            from streamcli.providers import anthropic
        except ImportError:
            anthropic = None
    finally:
        sys.path.remove(tree)
    return jsonfast, anthropic


def text_of(data: str) -> str:
    return json.loads(data)["delta"]["text"]


# The same shortcuts through documented API only: JSONDecoder.raw_decode ("decode a JSON
# document from s ... that may have extraneous data at the end") is the scanner behind one
# Python call, without json.loads's type checks and its two whitespace regex matches.
_decoder = json.JSONDecoder()


def raw_decode_loads(text: str):
    """jsonfast.loads with raw_decode in place of scan_once: json.loads decides whatever
    is not one bare JSON value (whitespace, trailing data, invalid JSON)."""
    try:
        obj, end = _decoder.raw_decode(text)
    except ValueError:
        return json.loads(text)
    return obj if end == len(text) else json.loads(text)


_DELTA_HEAD = '{"type":"content_block_delta","index":'
_TEXT_HEAD = ',"delta":{"type":"text_delta","text":"'


def raw_decode_text(data: str) -> str | None:
    """providers.anthropic._fast_text with raw_decode on the string's slice in place of
    scanstring: the text of a compact text_delta payload, None for anything else."""
    if not data.startswith(_DELTA_HEAD):
        return None
    start = len(_DELTA_HEAD)
    mid = data.find(_TEXT_HEAD, start, start + 12 + len(_TEXT_HEAD))
    if mid < 0 or not data[start:mid].isdigit():
        return None
    quote = mid + len(_TEXT_HEAD) - 1
    try:
        text, end = _decoder.raw_decode(data[quote:])
    except ValueError:
        return None
    end += quote
    return text if end == len(data) - 2 and data[end:] == "}}" else None


def measure(funcs: dict, payloads: list[str], number: int, repeat: int) -> dict:
    """ns per payload for each function: min and median over the repeats (interleaved)."""
    times: dict[str, list[float]] = {name: [] for name in funcs}
    timers = {name: timeit.Timer("for d in P: f(d)", globals={"P": payloads, "f": f})
              for name, f in funcs.items()}
    for _ in range(repeat):
        for name, timer in timers.items():
            times[name].append(timer.timeit(number) / (number * len(payloads)) * 1e9)
    return {name: {"min": min(v), "median": statistics.median(v)} for name, v in times.items()}


def bench_events() -> dict[str, str]:
    """The delta payloads the benchmark server sends (4-character deltas)."""
    sys.path.insert(0, ROOT)
    try:
        from benchmarks.server import anthropic_events, delta_text, openai_events
    finally:
        sys.path.remove(ROOT)

    def data(event: bytes) -> str:
        return event.decode().split("data: ", 1)[1].rstrip("\n")
    return {"anthropic": data(anthropic_events(1, delta_text(4))[1]),
            "openai": data(openai_events(1, delta_text(4))[1])}


# --make-variants: copies of a tree's streamcli/ for the end-to-end measurement, each with
# one change; every edit asserts the text it replaces, so a changed tree fails loudly.
VARIANTS = {
    "jf": [],  # unchanged: the reference, run the same way as the others
    # every jsonfast.loads call is json.loads (the providers import the name at import time)
    "nojsonfast": [("jsonfast.py", None, "\n\n# Benchmark variant: the documented API instead "
                    "of the scanner (benchmarks/json_decode.py).\nloads = json.loads\n")],
    # and no scanstring: Anthropic text deltas take json.loads and the dict path
    "stdjson": [("jsonfast.py", None, "\n\n# Benchmark variant: the documented API instead "
                 "of the scanner (benchmarks/json_decode.py).\nloads = json.loads\n"),
                ("providers/anthropic.py",
                 '    """The text of a compact text_delta event; None for anything else."""\n',
                 '    """The text of a compact text_delta event; None for anything else."""\n'
                 "    return None  # benchmark variant: no scanstring; text deltas take json.loads"
                 " and the dict path\n")],
    # documented API in the same places: JSONDecoder.raw_decode for scan_once and scanstring
    "rawdec": [("jsonfast.py", "_scan_once = json.JSONDecoder().scan_once",
                "_raw_decode = json.JSONDecoder().raw_decode  # benchmark variant: documented API only"),
               ("jsonfast.py", "        obj, end = _scan_once(text, 0)\n    except StopIteration:",
                "        obj, end = _raw_decode(text)\n    except ValueError:"),
               ("providers/anthropic.py", "from json.decoder import scanstring\n",
                "_raw_decode = json.JSONDecoder().raw_decode\n"),
               ("providers/anthropic.py",
                "    try:\n        text, end = scanstring(data, mid + len(_TEXT_HEAD))\n"
                "    except ValueError:  # not valid JSON: the general path reports it\n"
                "        return None\n",
                "    quote = mid + len(_TEXT_HEAD) - 1  # benchmark variant: documented API only\n"
                "    try:\n        text, end = _raw_decode(data[quote:])\n"
                "    except ValueError:  # not valid JSON: the general path reports it\n"
                "        return None\n    end += quote\n")],
}


LABELS = {"nojsonfast": "nojf"}  # the row labels of the run in BENCHMARKS.md


def make_variants(tree: str, dest: str) -> list[tuple[str, str]]:
    """DEST/<name>/streamcli for each variant; returns (name, directory)."""
    import shutil
    made = []
    for name, edits in VARIANTS.items():
        root = os.path.join(dest, name)
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(os.path.join(tree, "streamcli"), os.path.join(root, "streamcli"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        for rel, old, new in edits:
            path = os.path.join(root, "streamcli", rel)
            with open(path) as f:
                text = f.read()
            if old is None:
                text += new
            else:
                if text.count(old) != 1:
                    sys.exit(f"{path}: the text this variant replaces is not there once: {old!r}")
                text = text.replace(old, new)
            with open(path, "w") as f:
                f.write(text)
        made.append((name, root))
    return made


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tree", default=ROOT, help="the streamcli checkout to import (default: this one)")
    p.add_argument("--fixtures", default=os.path.join(ROOT, "tests", "fixtures"))
    p.add_argument("--number", type=int, default=200, help="passes over the payloads per repeat")
    p.add_argument("--repeat", type=int, default=25)
    p.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    p.add_argument("--make-variants", metavar="DIR",
                   help="time nothing: copy the tree's streamcli/ into DIR/{jf,nojsonfast,stdjson,"
                        "rawdec} (unchanged; json.loads for jsonfast.loads; and no scanstring; "
                        "raw_decode for both) and print the run.py command that compares them")
    p.add_argument("--python", default=None,
                   help="with --make-variants: the Python that runs them (default: the tree's .venv)")
    args = p.parse_args(argv)
    if args.make_variants:
        python = args.python or os.path.join(args.tree, ".venv", "bin", "python")
        made = make_variants(args.tree, args.make_variants)
        run = [f"env PYTHONPATH={root} {python} -P -m streamcli" for _, root in made]
        print(".venv/bin/python benchmarks/run.py --figures startup,rate --rounds-startup 8 "
              "--rounds-rate 9 --skip-sdk --only 'text),ref_httpx2.py' \\\n"
              f"    --streamcli '{run[0]}' \\\n" + "".join(
                  f"    --variant '{LABELS.get(name, name)}={cmd}' \\\n"
                  for (name, _), cmd in zip(made[1:], run[1:]))
              + "    --json benchmarks/json-e2e.json")
        return 0
    jsonfast, anthropic = load_tree(args.tree)
    fast_text = getattr(anthropic, "_fast_text", None)
    fast_loads = getattr(jsonfast, "loads", None)

    fixtures = {fmt: sorted(glob.glob(os.path.join(args.fixtures, fmt, "*.sse")))
                for fmt in ("anthropic", "openai")}
    a_all, o_all = json_payloads(fixtures["anthropic"]), json_payloads(fixtures["openai"])
    a_text = [d for d in a_all if json.loads(d).get("type") == "content_block_delta"
              and json.loads(d)["delta"].get("type") == "text_delta"
              and raw_decode_text(d) is not None]  # compact, as the API writes them
    o_text = [d for d in o_all if (json.loads(d).get("choices") or [{}])[0].get("delta", {}).get("content")]
    ours = bench_events()
    sets = [
        ("Anthropic: every JSON payload of the fixtures", a_all),
        ("Anthropic: text_delta payloads of the fixtures (compact)", a_text),
        ("OpenAI: every JSON payload of the fixtures", o_all),
        ("OpenAI: content chunks of the fixtures", o_text),
        ("the benchmark server's Anthropic delta (x100)", [ours["anthropic"]] * 100),
        ("the benchmark server's OpenAI delta (x100)", [ours["openai"]] * 100),
    ]
    for _, payloads in sets:  # the shortcuts must agree with json.loads before they are timed
        for d in payloads:
            assert fast_loads is None or fast_loads(d) == json.loads(d), d
    text_sets = [sets[1], sets[4]]  # Anthropic text deltas: the fixtures', the server's
    for _, payloads in sets:
        for d in payloads:
            assert raw_decode_loads(d) == json.loads(d), d
    for _, payloads in text_sets:
        for d in payloads:
            assert raw_decode_text(d) == text_of(d), d
            assert fast_text is None or fast_text(d) == text_of(d), d
    # The text-delta comparison is of the payloads the shortcut takes: compact JSON, as
    # the API writes it (the docs' examples, with spaces, go the general way).
    print(f"streamcli from {args.tree}; Python {sys.version.split()[0]}; "
          f"timeit: {args.number} passes x {args.repeat} repeats, functions interleaved; "
          f"load average {os.getloadavg()[0]:.2f}\n")
    results = {"decode": {}, "text": {}, "python": sys.version, "tree": args.tree,
               "number": args.number, "repeat": args.repeat}
    print("Decoding a payload (ns per payload, min / median over the repeats):\n")
    print("| payloads | count | mean size, bytes | `json.loads` | `jsonfast.loads` (scan_once) | "
          "saved | `raw_decode` (documented) | saved |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, payloads in sets:
        if not payloads:
            continue
        r = measure({"json.loads": json.loads, "jsonfast.loads": fast_loads or json.loads,
                     "raw_decode": raw_decode_loads}, payloads, args.number, args.repeat)
        results["decode"][label] = {"count": len(payloads), **r}
        j, f, d = r["json.loads"], r["jsonfast.loads"], r["raw_decode"]
        size = sum(len(x.encode()) for x in payloads) / len(payloads)
        count = len(set(payloads)) if "x100" in label else len(payloads)
        print(f"| {label} | {count} | {size:.0f} | {j['min']:.0f} / {j['median']:.0f} | "
              f"{f['min']:.0f} / {f['median']:.0f} | {j['min'] - f['min']:.0f} | "
              f"{d['min']:.0f} / {d['median']:.0f} | {j['min'] - d['min']:.0f} |")
    if fast_loads is None:
        print("\n(no streamcli.jsonfast.loads in this tree: its column repeats json.loads)")
    if fast_text is None or fast_loads is None:
        print("\n(no providers.anthropic._fast_text or jsonfast in this tree: the text-delta "
              "comparison is skipped)")
    else:
        print("\nThe text of an Anthropic text_delta payload (ns per payload, min / median):\n")
        print("| payloads | count | `json.loads(d)[\"delta\"][\"text\"]` | "
              "`jsonfast.loads(d)[\"delta\"][\"text\"]` | `_fast_text` (scanstring) | "
              "the same with `raw_decode` (documented) |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, payloads in text_sets:
            r = measure({"json.loads": text_of,
                         "jsonfast.loads": lambda d: fast_loads(d)["delta"]["text"],
                         "_fast_text": fast_text, "raw_decode": raw_decode_text},
                        payloads, args.number, args.repeat)
            results["text"][label] = {"count": len(payloads), **r}
            count = len(set(payloads)) if "x100" in label else len(payloads)
            print(f"| {label} | {count} | " + " | ".join(
                f"{r[k]['min']:.0f} / {r[k]['median']:.0f}"
                for k in ("json.loads", "jsonfast.loads", "_fast_text", "raw_decode")) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
