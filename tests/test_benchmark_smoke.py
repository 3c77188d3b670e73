"""The benchmark script runs end to end (tiny parameters, one round): it is not a test of
speed (no timing is asserted), only that benchmarks/run.py still works, so BENCHMARKS.md
can be reproduced with the command it gives."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "run.py")
TINY = ["--rounds", "1", "--startup-deltas", "3", "--deltas", "60", "--latency-deltas", "3",
        "--latency-warmup", "1", "--latency-delay", "0.005", "--cancel-delay", "0.005",
        "--rss-deltas", "20,40", "--silent"]


def run_bench(tmp_path, *args) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "LANG": "C.UTF-8", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, SCRIPT, *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=150, cwd=str(tmp_path), env=env)


def test_every_figure_runs_and_the_table_is_printed(tmp_path):
    r = run_bench(tmp_path, *TINY, "--skip-sdk")
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    assert "| command | first stdout byte, ms (3 deltas) |" in out, out
    assert "Targets (issue 6)" in out and "Peak RSS of streamcli" in out
    for row in ("`curl -sN` (the floor)", "ref_httpx2.py (Anthropic)", "**streamcli** (Anthropic, text)",
                "**streamcli --replay** (no network)"):
        assert f"| {row} |" in out, out
    # Every run of the tiny benchmark counted: the commands printed what the server sent.
    assert "did not count" not in out, out


def test_the_sdk_reference_scripts_run(tmp_path):
    r = run_bench(tmp_path, *TINY, "--figures", "startup", "--only", "sdk")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "| ref_anthropic_sdk.py" in r.stdout and "| ref_openai_sdk.py" in r.stdout, r.stdout
    assert "did not count" not in r.stdout, r.stdout
