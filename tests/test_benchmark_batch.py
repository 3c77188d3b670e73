"""benchmarks/batch.py measures what it claims: its server answers each prompt with its
own answer, its check rejects a run that lost, repeated, misplaced or failed an answer,
and a tiny run of `batch run` through it passes. No timing asserted."""

from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import batch as bench  # noqa: E402


def _lines(objs) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


def _res(objs, status=0) -> dict:
    return {"status": status, "output": _lines(objs), "stderr": ""}


def test_the_check_accepts_right_answers_and_rejects_wrong_ones():
    ok = [{"id": str(i), "status": "ok", "text": f"answer to q{i}"} for i in range(3)]
    assert bench.check(bench.STREAMCLI, _res(ok), 3) is None
    assert "order" in bench.check(bench.STREAMCLI, _res(ok[::-1]), 3)
    assert bench.check(bench.STREAMCLI, _res(ok[:2]), 3)
    assert bench.check(bench.STREAMCLI, _res(ok + ok[:1]), 3)
    wrong = [dict(ok[0], text="answer to q2"), *ok[1:]]
    assert "wrong prompt" in bench.check(bench.STREAMCLI, _res(wrong), 3)
    assert bench.check(bench.XARGS, _res(ok[::-1]), 3) is None  # any order
    assert "failed" in bench.check(bench.XARGS, _res([dict(ok[0], status="error"), *ok[1:]]), 3)
    sdk = [{"content": [{"type": "text", "text": f"answer to q{i}"}]} for i in (2, 0, 1)]
    assert bench.check(bench.SDK, _res(sdk), 3) is None
    assert bench.check(bench.SDK, _res(sdk[:2]), 3)
    assert "exit status 1" in bench.check(bench.STREAMCLI, _res(ok, status=1), 3)


def test_a_tiny_run_of_batch_run_through_the_benchmark(capsys, tmp_path):
    data = tmp_path / "figures.json"
    assert bench.main(["--items", "12", "--jobs", "4", "--rounds", "1", "--delay", "0",
                       "--commands", "streamcli", "--no-memory", "--json", str(data),
                       "--streamcli", os.path.join(os.path.dirname(sys.executable),
                                                   "streamcli")]) == 0
    table = capsys.readouterr().out
    assert "| `streamcli batch run -j 4` |" in table
    figures = json.loads(data.read_text())
    row = figures["rows"]["streamcli batch run -j 4"]
    assert figures["items"] == 12 and row["cpu_ms_per_request"]["min"] > 0
