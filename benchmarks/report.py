"""The benchmark's output, made from the run's data (the dict that --json writes), so a
saved run can be printed, charted and compared again: run.py --report FILE.json.

- render(): the Markdown report: a paste-ready summary (both framings, ratios to the
  httpx2 script), one detailed table per framing, peak RSS by answer length, targets;
- compare(): before / after medians of two runs, row by row;
- chart(): an SVG of the peers side by side (needs matplotlib: pip install -e '.[bench]').
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys

from benchmarks.commands import CURL, HTTPX2, REPLAY

TARGET_RATIO = 1.2  # issue 6: streamcli at least 1.2x the minimal httpx2 script's rate


def framing_label(k: int) -> str:
    return "1 event per chunk" if k == 1 else f"{k} events per chunk"


def _med(values):
    return statistics.median(values) if values else None


def _mm(values, digits: int, rate: bool = False) -> str:
    if not values:
        return "-"
    lo, med = min(values), statistics.median(values)
    if rate:
        return f"{lo:,.0f} / {med:,.0f}"
    return f"{lo:.{digits}f} / {med:.{digits}f}"


def _plain(name: str) -> str:
    return name.replace("*", "")


def rows(data: dict) -> list[dict]:
    """The commands in table order, the --replay row after the streamcli rows."""
    cmds = list(data["commands"])
    if any(REPLAY in r for r in data["results"].values()):
        cmds.append({"name": REPLAY, "fmt": "anthropic", "kind": "text", "streamcli": True,
                     "sdk": False, "build": "", "mode": "replay"})
    return cmds


def result(data: dict, framing: int, name: str, figure: str):
    return data["results"].get(str(framing), {}).get(name, {}).get(figure)


def ratio_to_httpx2(data: dict, framing: int, cmd: dict) -> float | None:
    """The command's median rate over the httpx2 script's (same wire format), same framing."""
    ref = HTTPX2.get(cmd["fmt"])
    mine, theirs = (_med(result(data, framing, n, "rate")) for n in (cmd["name"], ref))
    if mine is None or not theirs or cmd["name"] == ref:
        return None
    return mine / theirs


def cpu_per_delta(data: dict, framing: int, name: str) -> list | None:
    """Microseconds of CPU per delta: a rate run's CPU time less the start-up run's
    (median), over the extra deltas. Far steadier than wall time on a busy machine."""
    cpu, n = result(data, framing, name, "cpu_s"), result(data, framing, name, "rate_n")
    startup = result(data, framing, name, "startup_cpu_ms")
    if not cpu or not startup or not n:
        return None
    base = statistics.median(startup) / 1000
    extra = [k - data["params"]["startup_deltas"] for k in n]
    if min(extra) <= 0:
        return None
    return [(c - base) / e * 1e6 for c, e in zip(cpu, extra)]


# --------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------

def render(data: dict) -> str:
    p = data["params"]
    framings = p["framings"]
    out: list[str] = []
    w = out.append
    w("## streamcli benchmark\n")
    w(f"Text deltas of {p['delta_size']} characters; each cell is min / median over the rounds "
      f"(rounds: first byte {p['rounds_startup']} ({p['rounds_startup_sdk']} for the SDK scripts), "
      f"rate {p['rounds_rate']}, latency {p['rounds_latency']}, cancellation "
      f"{p['rounds_cancel']}). Framings: " + ", ".join(framing_label(k) for k in framings) + ".\n")
    w(summary(data))
    w("")
    w(ratios(data))
    for k in framings:
        w(f"\n### {framing_label(k)}\n")
        w(detail(data, k))
    if data.get("rss"):
        w("")
        w(rss_table(data))
    w("")
    w(targets(data))
    statuses = cancel_statuses(data)
    if statuses:
        w("\n" + statuses)
    if data.get("failures"):
        w(f"\n{len(data['failures'])} run(s) did not count:")
        for f in data["failures"]:
            w(f"- {f}")
    w("")
    w(footer(data))
    return "\n".join(out) + "\n"


def summary(data: dict) -> str:
    """The paste-ready table: first byte and rate in every framing, the ratio of each rate
    to the httpx2 script's (medians), peak RSS of the rate run."""
    p = data["params"]
    framings = p["framings"]
    head = ["command"]
    head += [f"first byte, ms ({framing_label(k)})" for k in framings]
    for k in framings:
        head += [f"rate, deltas/s ({framing_label(k)})", "÷ httpx2 script"]
    head += [f"peak RSS, MB ({framing_label(k)})" for k in framings]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for cmd in rows(data):
        name = cmd["name"]
        cells = [_mm(result(data, k, name, "first_byte_ms"), 1) for k in framings]
        for k in framings:
            cells.append(_mm(result(data, k, name, "rate"), 0, rate=True))
            r = ratio_to_httpx2(data, k, cmd)
            cells.append("-" if r is None else f"{r:.2f}")
        cells += [_mm(result(data, k, name, "rss_mb"), 1) for k in framings]
        n = result(data, framings[0], name, "rate_n")
        if n and n[0] != p["deltas"]:
            name = f"{name} (rate: {n[0]:,} deltas)"
        if all(c == "-" for c in cells):
            continue
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Rates at {p['deltas']:,} deltas; first byte at {p['startup_deltas']} deltas; "
                 "÷ httpx2 script: median rate over the median rate of ref_httpx2.py for the same "
                 "API in the same framing (--jsonl and --raw-sse against the Anthropic script).")
    return "\n".join(lines)


def cpu_ratio_to_httpx2(data: dict, framing: int, cmd: dict) -> float | None:
    """The httpx2 script's median CPU per delta over the command's (same API and framing):
    how many times less CPU the command spends on a delta; steadier than the rate, which
    also depends on how soon a busy machine runs each process."""
    ref = HTTPX2.get(cmd["fmt"])
    mine, theirs = (_med(cpu_per_delta(data, framing, n)) for n in (cmd["name"], ref))
    if not mine or theirs is None or cmd["name"] == ref:
        return None
    return theirs / mine


def ratios(data: dict) -> str:
    """streamcli against the httpx2 script (the 1.2x target), by rate and by CPU per delta."""
    framings = data["params"]["framings"]
    head = ["streamcli ÷ httpx2 script (medians)"]
    for k in framings:
        head += [f"rate, {framing_label(k)}", f"CPU per delta, {framing_label(k)}"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for cmd in data["commands"]:
        if not cmd["streamcli"]:
            continue
        cells = []
        for k in framings:
            for f in (ratio_to_httpx2, cpu_ratio_to_httpx2):
                r = f(data, k, cmd)
                cells.append("-" if r is None else
                             f"{r:.2f}" if r >= TARGET_RATIO else f"**{r:.2f}**")
        if all(c == "-" for c in cells):
            continue
        lines.append(f"| {cmd['name']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Target: at least {TARGET_RATIO} (bold: below it). CPU per delta: the httpx2 "
                 "script's over the command's, from the CPU time of the rate runs less that of "
                 "the first-byte runs.")
    return "\n".join(lines)


def detail(data: dict, k: int) -> str:
    p = data["params"]
    cols = [
        (f"first stdout byte, ms ({p['startup_deltas']} deltas)", "first_byte_ms", 1),
        ("CPU of that run, ms", "startup_cpu_ms", 0),
        (f"streaming rate, deltas/s ({p['deltas']:,} deltas)", "rate", None),
        ("CPU per delta, µs", "cpu_per_delta", 1),
        ("added latency per delta, ms", "latency_ms", 3),
        (f"peak RSS, MB ({p['deltas']:,} deltas)", "rss_mb", 1),
        ("SIGINT to exit, ms", "cancel_exit_ms", 1),
        ("SIGINT to server disconnect, ms", "cancel_disconnect_ms", 1),
    ]

    def values(name, fig):
        if fig == "cpu_per_delta":
            return cpu_per_delta(data, k, name)
        return result(data, k, name, fig)

    names = [c["name"] for c in rows(data)]
    cols = [c for c in cols if any(values(n, c[1]) for n in names)]
    lines = ["| command | " + " | ".join(c[0] for c in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for name in names:
        cells = [_mm(values(name, fig), d or 0, rate=d is None) for _, fig, d in cols]
        if all(c == "-" for c in cells):
            continue
        label = name
        n = result(data, k, name, "rate_n")
        if n and n[0] != p["deltas"]:
            label = f"{name} (rate: {n[0]:,} deltas)"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rss_table(data: dict) -> str:
    sizes = data["params"]["rss_deltas"]
    framings = data["params"].get("rss_framings", data["params"]["framings"][:1])
    lines = ["Peak RSS of streamcli (MB, min / median), by answer length:\n",
             "| mode | framing | " + " | ".join(f"{n:,} deltas" for n in sizes) + " | growth |",
             "|---|---|" + "---:|" * (len(sizes) + 1)]
    for cmd in data["commands"]:
        for k in framings:
            cells = [data["rss"].get(cmd["name"], {}).get(f"{k}/{n}") for n in sizes]
            if not any(cells):
                continue
            growth = (f"{max(cells[-1]) - max(cells[0]):+.1f} MB"
                      if cells[0] and cells[-1] else "-")
            lines.append(f"| {cmd['name']} | {framing_label(k)} | "
                         + " | ".join(_mm(c, 1) for c in cells) + f" | {growth} |")
    return "\n".join(lines)


def targets(data: dict) -> str:
    """The issue's targets, as ratios measured in this run (the main build's rows)."""
    p = data["params"]
    framings = p["framings"]
    cmds = {c["name"]: c for c in data["commands"]}
    lines = ["Targets (issue 6), from this run:\n", "| target | measured | |", "|---|---|---|"]

    def best(name, fig, k=framings[0], f=min):
        vals = result(data, k, name, fig)
        return f(vals) if vals else None

    def row(label, value, ok):
        lines.append(f"| {label} | {value} | {'met' if ok else '**missed**'} |")

    main = [c for c in data["commands"] if c["streamcli"] and not c["build"]]
    sc_a = next((c["name"] for c in main if c["mode"] == "text" and c["fmt"] == "anthropic"), None)
    sdk_a = next((c["name"] for c in data["commands"] if c["sdk"] and c["fmt"] == "anthropic"), None)
    sdk = {c["fmt"]: c["name"] for c in data["commands"] if c["sdk"]}
    s, h = best(sc_a, "first_byte_ms"), best(HTTPX2["anthropic"], "first_byte_ms")
    if s and h:
        row("first byte: best streamcli / best httpx2 script <= 1.25", f"{s / h:.2f}", s / h <= 1.25)
    kk = best(sdk_a, "first_byte_ms") if sdk_a else None
    if s and kk:
        row("first byte: best anthropic SDK / best streamcli >= 5", f"{kk / s:.1f}", kk / s >= 5)
    for k in framings:
        for c in main:
            if c["mode"] == "raw-sse":
                continue
            r = ratio_to_httpx2(data, k, c)
            if r is not None:
                row(f"rate, {framing_label(k)}: {_plain(c['name'])} / httpx2 script >= "
                    f"{TARGET_RATIO} (medians)", f"{r:.2f}", r >= TARGET_RATIO)
        for c in main:
            if c["mode"] != "text" or c["fmt"] not in sdk:
                continue
            mine, theirs = (best(n, "rate", k, statistics.median) for n in (c["name"], sdk[c["fmt"]]))
            if mine and theirs:
                row(f"rate, {framing_label(k)}: {_plain(c['name'])} / SDK script >= 5 (medians)",
                    f"{mine / theirs:.1f}", mine / theirs >= 5)
    curl = best(CURL, "latency_ms", f=statistics.median)
    for c in main:
        lat = best(c["name"], "latency_ms", f=statistics.median)
        if lat is not None and curl is not None:
            row(f"latency: {_plain(c['name'])} - curl <= 0.15 ms (medians)",
                f"{lat - curl:+.3f} ms", lat - curl <= 0.15)
    sizes = p["rss_deltas"]
    for c in main:
        for k in p.get("rss_framings", framings[:1]):
            got = data.get("rss", {}).get(c["name"], {})
            lo, hi = got.get(f"{k}/{sizes[0]}"), got.get(f"{k}/{sizes[-1]}")
            if lo and hi and len(sizes) > 1:
                growth, peak = max(hi) - max(lo), max(max(hi), max(lo))
                row(f"RSS, {framing_label(k)}: {_plain(c['name'])}: growth {sizes[0]:,} -> "
                    f"{sizes[-1]:,} <= 5 MB, peak < 40 MB", f"{growth:+.1f} MB, peak {peak:.1f} MB",
                    growth <= 5 and peak < 40)
    for c in main:
        e = best(c["name"], "cancel_exit_ms", f=max)
        d = best(c["name"], "cancel_disconnect_ms", f=max)
        if e is not None and c["name"] in cmds and c["mode"] != "jsonl":
            row(f"cancel: {_plain(c['name'])}: SIGINT to exit and to disconnect < 50 ms "
                "(worst round)", f"{e:.1f} / {'-' if d is None else f'{d:.1f}'} ms",
                e < 50 and d is not None and d < 50)
    return "\n".join(lines)


def cancel_statuses(data: dict) -> str:
    k = str(data["params"]["framings"][0])
    statuses = {n: sorted(set(r["cancel_status"])) for n, r in data["results"].get(k, {}).items()
                if r.get("cancel_status")}
    if not statuses:
        return ""

    def how(status: int) -> str:
        if status < 0:
            try:
                return f"died by {signal.Signals(-status).name}"
            except ValueError:
                return f"died by signal {-status}"
        return f"exit {status}"
    return "How each command ended after SIGINT: " + "; ".join(
        f"{_plain(n)}: {', '.join(map(how, s))}" for n, s in statuses.items())


def footer(data: dict) -> str:
    load = data.get("load") or {}
    samples = load.get("samples") or []
    lines = [f"Machine: {data.get('machine', '?')}"]
    if samples:
        lines.append(f"Load average (1 min) during the run, sampled every {load.get('every_s', '?')} s: "
                     f"min {min(samples):.2f}, median {statistics.median(samples):.2f}, "
                     f"max {max(samples):.2f}; at the start: {load.get('start')}")
    builds = [f"streamcli ran as: `{data.get('streamcli', '?')}`"]
    builds += [f"streamcli[{label}]: `{cmd}`" for label, cmd in data.get("variants", {}).items()]
    lines.append("; ".join(builds))
    lines.append(f"Command: `{data.get('command', '?')}`; the whole run took "
                 f"{data.get('elapsed_s', 0):.0f} s.")
    return "\n".join(lines)


def compare(before: dict, after: dict) -> str:
    """Medians of two runs side by side, for the rows both have (a row's label names the
    mode and the build, not the code: run both with the same --streamcli/--variant form)."""
    framings = [k for k in after["params"]["framings"] if k in before["params"]["framings"]]
    names = [c["name"] for c in rows(after)
             if any(result(before, k, c["name"], "first_byte_ms") or result(before, k, c["name"], "rate")
                    for k in framings)]
    head = ["command"]
    for k in framings:
        head += [f"first byte, ms ({framing_label(k)}): before", "after"]
    for k in framings:
        head += [f"rate, deltas/s ({framing_label(k)}): before", "after", "after ÷ before"]
    lines = ["Before / after (medians):\n", "| " + " | ".join(head) + " |",
             "|---|" + "---:|" * (len(head) - 1)]
    for name in names:
        cells = []
        for k in framings:
            for d in (before, after):
                v = _med(result(d, k, name, "first_byte_ms"))
                cells.append("-" if v is None else f"{v:.1f}")
        for k in framings:
            b, a = (_med(result(d, k, name, "rate")) for d in (before, after))
            cells += ["-" if b is None else f"{b:,.0f}", "-" if a is None else f"{a:,.0f}",
                      f"{a / b:.2f}" if a and b else "-"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("The reference scripts' after ÷ before is how much the machine itself changed "
                 "between the two runs; the ratios to the httpx2 script, each measured within "
                 "one run, compare across runs better:\n")
    head = ["streamcli ÷ httpx2 script (medians)"]
    for k in framings:
        head += [f"rate, {framing_label(k)}: before", "after",
                 f"CPU per delta, {framing_label(k)}: before", "after"]
    lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for cmd in after["commands"]:
        if not cmd["streamcli"] or cmd["name"] not in names:
            continue
        cells = []
        for k in framings:
            for f in (ratio_to_httpx2, cpu_ratio_to_httpx2):
                for d in (before, after):
                    r = f(d, k, cmd)
                    cells.append("-" if r is None else f"{r:.2f}")
        lines.append(f"| {cmd['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    curl = subprocess.run(["curl", "--version"], capture_output=True, text=True,
                          timeout=10).stdout.split("\n", 1)[0] if shutil.which("curl") else "no curl"
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()} ({sys.executable}), {curl}")


# --------------------------------------------------------------------------------------
# The chart
# --------------------------------------------------------------------------------------

def _short(name: str) -> str:
    name = _plain(name)
    for long, short in ((" (`messages.stream`, `text_stream`)", ""), (" (`create(stream=True)`)", ""),
                        (" (httpx2 iter_raw, no parsing)", " (no parsing)"),
                        ("`curl -sN` (the floor)", "curl -sN (floor)")):
        name = name.replace(long, short)
    return name


def chart(data: dict, path: str, title: str | None = None) -> None:
    """Peers side by side: first byte (each framing), rate in each framing, peak RSS.
    Bars are medians, whiskers span min..max over the rounds."""
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    plt.rcParams["svg.hashsalt"] = "streamcli-bench"  # the same ids every time
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, searchable
    framings = data["params"]["framings"]
    cmds = [c for c in rows(data) if c["mode"] != "replay"
            and any(result(data, k, c["name"], f) for k in framings
                    for f in ("first_byte_ms", "rate"))]
    names = [_short(c["name"]) for c in cmds]

    def color(c):
        if c["streamcli"]:
            return "#1f77b4" if not c["build"] else "#9467bd"
        if c["name"] in HTTPX2.values():
            return "#ff7f0e"
        return "#7f7f7f"
    colors = [color(c) for c in cmds]
    panels = [("first stdout byte, ms\n(lower is better)", "first_byte_ms", None)]
    panels += [(f"streaming rate, deltas/s\n{framing_label(k)} (higher is better)", "rate", k)
               for k in framings]
    panels.append(("peak RSS, MB, rate run\n(lower is better)", "rss_mb", None))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 0.42 * len(cmds) + 1.8),
                             sharey=True)
    ys = list(range(len(cmds)))
    for ax, (label, fig_name, k) in zip(axes, panels):
        groups = [(k, 0.8)] if k is not None else [(f, 0.8 / len(framings)) for f in framings]
        for gi, (f, height) in enumerate(groups):
            offs = (gi - (len(groups) - 1) / 2) * height
            med, lo, hi = [], [], []
            for c in cmds:
                v = result(data, f, c["name"], fig_name)
                med.append(_med(v) or 0)
                lo.append((_med(v) - min(v)) if v else 0)
                hi.append((max(v) - _med(v)) if v else 0)
            ax.barh([y + offs for y in ys], med, height=height * 0.92, color=colors,
                    alpha=1.0 if gi == 0 else 0.55, xerr=[lo, hi], ecolor="#333333",
                    error_kw={"linewidth": 0.8, "capsize": 2})
            # curl and iter_raw (no parsing) stream many times faster than the clients that
            # parse: cap the axis at the parsing clients' scale, so that their differences
            # stay visible, and write a capped bar's value at the edge.
            parsers = [m + h for c, m, h in zip(cmds, med, hi) if c["streamcli"] or c["kind"] != "raw"]
            top = max(parsers or med) or 1
            cap = top * 1.3 if fig_name == "rate" and max(med) > top * 1.3 else None
            for y, c, m, h in zip(ys, cmds, med, hi):
                if not m:
                    continue
                text = f"{m:,.0f}" if fig_name == "rate" else f"{m:.0f}" if m >= 100 else f"{m:.1f}"
                if cap and m > cap:
                    ax.text(cap * 0.98, y + offs, f"{text} ->", va="center", ha="right",
                            fontsize=7, color="white", fontweight="bold")
                elif cap and m + h + top * 0.25 > cap:  # no room after the whisker: inside
                    ax.text(m * 0.98, y + offs, text, va="center", ha="right", fontsize=7,
                            color="white", fontweight="bold")
                else:
                    ax.text(m + h + top * 0.02, y + offs, text, va="center", fontsize=7)
            if cap:
                ax.set_xlim(0, cap)
        if fig_name == "rate":
            ref = _med(result(data, k, HTTPX2["anthropic"], "rate"))
            if ref:
                ax.axvline(ref * TARGET_RATIO, color="#d62728", linestyle="--", linewidth=0.9,
                           label=f"{TARGET_RATIO}x ref_httpx2.py (Anthropic)")
                ax.legend(loc="lower right", fontsize=7)
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
                lambda v, _: f"{v / 1000:,.0f}k" if v else "0"))
        ax.set_title(label, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", linewidth=0.3)
        if not ax.get_autoscalex_on():
            continue
        ax.margins(x=0.22)
    axes[0].set_yticks(ys)
    axes[0].set_yticklabels(names, fontsize=8)
    axes[0].invert_yaxis()
    if len(framings) > 1:  # the lighter bar of a pair is the second framing
        from matplotlib.patches import Patch
        fig.legend(handles=[Patch(color="#555555", alpha=a, label=f"{framing_label(f)}")
                            for f, a in zip(framings, (1.0, 0.55))],
                   loc="lower center", ncol=len(framings), fontsize=8, frameon=False,
                   title="first byte and RSS panels: one bar per framing", title_fontsize=8)
    p = data["params"]
    fig.suptitle(title or (f"streamcli and its peers on a local fake server: {p['deltas']:,}-delta "
                           f"rate, {p['startup_deltas']}-delta first byte (bars: median, whiskers: "
                           "min-max over the rounds)"), fontsize=10)
    fig.tight_layout(rect=(0, 0.08 if len(framings) > 1 else 0, 1, 1))
    if path.endswith(".png"):  # for a look at it; the committed charts are SVG
        fig.savefig(path, format="png", dpi=110)
    else:
        fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
