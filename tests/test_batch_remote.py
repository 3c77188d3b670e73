"""`streamcli batch submit|status|wait|results|cancel|list` and `batch run --api` against
the fake Batch APIs: splitting, custom_id mapping, results in input order with their ids,
expired/cancelled/errored items, the ledger (and no key in it)."""

from __future__ import annotations

import json
import signal
import sqlite3

from streamcli.batch.api import anthropic as anthropic_api
from streamcli.batch.api import openai as openai_api
from tests.helpers.batchapi import jsonl
from tests.helpers.fakeserver import Reply
from tests.helpers.keys import ANTHROPIC_KEY, OPENAI_KEY

A_KEY, O_KEY = ANTHROPIC_KEY["ANTHROPIC_API_KEY"], OPENAI_KEY["OPENAI_API_KEY"]


def test_submit_wait_results_in_input_order_with_every_outcome(sh, api):
    api.polls_to_end = 2
    api.outcome = {"err": ("error", 400, "invalid_request_error", "too long"),
                   "late": "expired"}
    text = jsonl("first", {"id": "err", "prompt": "p"}, {"id": "naïve id/1", "prompt": "mapped"},
                 {"id": "late", "prompt": "p"}, {"bad": 1}, "last")
    r = sh("submit", "-", "-m", "claude-test", stdin=text)
    assert r.code == 12, r.err  # one line could not be submitted
    (batch_id,) = r.text.split()
    assert batch_id.startswith("msgbatch_") and "line 5" not in r.out.decode()
    (created,) = api.created
    custom_ids = [x["custom_id"] for x in created["requests"]]
    assert custom_ids[:2] == ["0", "err"] and custom_ids[2] == "item-2"  # refused id mapped
    assert all(x["params"]["model"] == "claude-test" and "stream" not in x["params"]
               for x in created["requests"])
    early = sh("results", batch_id)
    assert early.code == 2 and f"streamcli batch wait {batch_id}" in early.err
    assert sh("wait", batch_id, "--poll", "0.01").code == 0
    r = sh("results", batch_id)
    assert r.code == 12, r.err
    lines = r.lines
    assert [x["id"] for x in lines] == ["0", "err", "naïve id/1", "late", "4", "5"]
    assert [x["index"] for x in lines] == [0, 1, 2, 3, 4, 5]
    assert [x["status"] for x in lines] == ["ok", "error", "ok", "error", "error", "ok"]
    assert lines[0]["text"] == "answer to first" and lines[0]["response_id"] == "msg_0"
    assert lines[2]["text"] == "answer to mapped"
    assert lines[1]["error"]["kind"] == "invalid_request" and lines[1]["exit_code"] == 3
    assert lines[3]["error"]["type"] == "expired" and lines[3]["exit_code"] == 8
    assert lines[4]["exit_code"] == 2 and "line 5" in lines[4]["error"]["message"]
    assert "3 ok, 3 failed" in r.err


def test_status_list_and_cancel(sh, api):
    api.hold = True
    r = sh("submit", "-", "-m", "claude-test", "--json", stdin=jsonl("a", "b"))
    assert r.code == 0, r.err
    sub = json.loads(r.text)
    (batch,) = sub["batches"]
    assert sub["submission"].startswith("sub_") and batch["requests"] == 2
    status = sh("status", batch["id"], "--json")
    assert json.loads(status.text)["counts"]["processing"] == 2
    assert "in_progress: 2 processing" in sh("status", sub["submission"]).text
    cancelled = sh("cancel", batch["id"])
    assert cancelled.code == 0 and "canceling" in cancelled.text
    api.hold = False
    assert sh("wait", batch["id"], "--poll", "0.01", "-q").code == 0
    r = sh("results", batch["id"])
    assert r.code == 12
    assert [(x["status"], x["exit_code"], x["error"]["kind"]) for x in r.lines] == \
        [("cancelled", 130, "cancelled")] * 2
    listed = [json.loads(x) for x in sh("list", "--json").text.splitlines()]
    assert [(x["id"], x["state"], x["requests"]) for x in listed] == [(batch["id"], "ended", 2)]
    assert batch["id"] in sh("list").text


def test_openai_is_split_by_model_and_results_come_back_together(sh, api):
    text = jsonl({"id": "a", "prompt": "one", "model": "gpt-x"},
                 {"id": "b", "prompt": "two", "model": "gpt-y"},
                 {"id": "c", "prompt": "three", "model": "gpt-x"},
                 {"custom_id": "d", "method": "POST", "url": "/v1/chat/completions",
                  "body": {"model": "gpt-y", "messages": [{"role": "user", "content": "four"}]}})
    r = sh("submit", "-", "--json", stdin=text)
    assert r.code == 0, r.err
    sub = json.loads(r.text)
    assert [(b["model"], b["requests"]) for b in sub["batches"]] == [("gpt-x", 2), ("gpt-y", 2)]
    upload = api.created[0]["requests"]
    assert upload[0]["url"] == "/v1/chat/completions" and upload[0]["method"] == "POST"
    assert sh("wait", sub["submission"], "--poll", "0.01").code == 0
    r = sh("results", sub["submission"])
    assert r.code == 0, r.err
    assert [(x["id"], x["text"]) for x in r.lines] == [
        ("a", "answer to one"), ("b", "answer to two"), ("c", "answer to three"),
        ("d", "answer to four")]
    assert {x["provider"] for x in r.lines} == {"openai"}
    one = sh("results", sub["batches"][1]["id"])  # one batch of several: its own items
    assert [x["id"] for x in one.lines] == ["b", "d"]


def test_input_beyond_one_batch_is_split_by_count_and_bytes(sh, api, monkeypatch):
    monkeypatch.setattr(anthropic_api, "MAX_REQUESTS", 2)
    api.limits["anthropic"] = (2, 10**9)
    r = sh("submit", "-", "-m", "claude-test", "--json", stdin=jsonl(*"abcde"))
    assert r.code == 0, r.err
    sub = json.loads(r.text)
    assert [b["requests"] for b in sub["batches"]] == [2, 2, 1]
    assert "cover them all" in r.err
    sh("wait", sub["submission"], "--poll", "0.01")
    r = sh("results", sub["submission"])
    assert [x["text"] for x in r.lines] == [f"answer to {c}" for c in "abcde"]

    line_size = len(openai_api.flavor("openai").line("9", _request("gpt-test", "a")))
    monkeypatch.setattr(openai_api, "MAX_BYTES", 3 * (line_size + 1))
    r = sh("submit", "-", "-m", "gpt-test", "--json", stdin=jsonl(*"vwxyz"))
    assert [b["requests"] for b in json.loads(r.text)["batches"]] == [3, 2]
    assert all(len(b["requests"]) <= 3 for b in api.created[-2:])


def _request(model, prompt):
    from streamcli.request import Request
    return Request(provider="openai", model=model, prompt=prompt, base_url="http://x/v1",
                   api_key=None, stream=False)


def test_run_api_is_submit_wait_and_results_in_one(sh, api, tmp_path):
    api.polls_to_end = 1
    api.outcome = {"1": "expired"}
    out = tmp_path / "out.jsonl"
    r = sh("run", "-", "--api", "-m", "claude-test", "--poll", "0.01", "--output", str(out),
           stdin=jsonl("a", "b", "c"))
    assert r.code == 12, r.err
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["id"], x["status"]) for x in lines] == [("0", "ok"), ("1", "error"), ("2", "ok")]
    api.outcome = {}
    r = sh("run", "-", "--api", "-m", "claude-test", "--poll", "0.01", "--output", str(out),
           "--resume", stdin=jsonl("a", "b", "c"))
    assert r.code == 0, r.err
    assert [x["custom_id"] for x in api.created[-1]["requests"]] == ["1"]
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["0", "1", "2", "1"]


def test_the_ledger_holds_no_key(sh, api, cli):
    assert sh("submit", "-", "-m", "claude-test", stdin=jsonl("a")).code == 0
    assert sh("submit", "-", "-m", "gpt-test", stdin=jsonl("b")).code == 0
    db = cli.environ["STREAMCLI_DB"]
    data = b"".join(open(p, "rb").read() for p in (db, db + "-wal") if _exists(p))
    assert A_KEY.encode() not in data and O_KEY.encode() not in data
    assert b"Bearer" not in data and b"x-api-key" not in data
    rows = sqlite3.connect(db).execute("SELECT provider, base_url FROM batch_batches").fetchall()
    assert sorted(rows) == [("anthropic", api.anthropic_url), ("openai", api.openai_url)]


def _exists(path) -> bool:
    import os
    return os.path.exists(path)


def test_unknown_ids_and_no_ledger_are_usage_errors(sh, api):
    r = sh("status", "msgbatch_nope")
    assert r.code == 2 and "nothing was submitted from here yet" in r.err
    assert sh("list").code == 0
    sh("submit", "-", "-m", "claude-test", stdin=jsonl("a"))
    r = sh("results", "msgbatch_nope")
    assert r.code == 2 and "streamcli batch list" in r.err


def test_a_missing_key_submits_nothing(cli, api):
    cli.real_network().env(ANTHROPIC_BASE_URL=api.anthropic_url)
    r = cli.run("batch", "submit", "-", "-m", "claude-test", stdin=jsonl("a").encode())
    assert r.code == 2 and "ANTHROPIC_API_KEY" in r.err
    assert api.created == [] and r.out == b""


def test_an_api_error_on_submit_is_its_exit_status(sh, api):
    api.key = "another"
    r = sh("submit", "-", "-m", "claude-test", stdin=jsonl("a"))
    assert r.code == 4 and "invalid x-api-key" in r.err


def test_an_openai_batch_that_failed_validation_ends_and_its_items_say_why(sh, api):
    api.validation_error = "max_tokens is too large"
    r = sh("submit", "-", "-m", "gpt-test", stdin=jsonl("a", "b"))
    (batch_id,) = r.text.split()
    w = sh("wait", batch_id, "--poll", "0.01")
    assert w.code == 0 and "failed" in w.err  # a final state, whatever its items did
    r = sh("results", batch_id)
    assert r.code == 12
    for line in r.lines:
        assert line["exit_code"] == 3 and "max_tokens is too large" in line["error"]["message"]


def test_ctrl_c_while_waiting_leaves_the_batch_running(sh, api, start_cli):
    api.hold = True
    (batch_id,) = sh("submit", "-", "-m", "claude-test", stdin=jsonl("a")).text.split()
    seen = len(api.server.requests)
    proc = start_cli(["batch", "wait", batch_id, "--poll", "0.05"], env={
        **ANTHROPIC_KEY, "ANTHROPIC_BASE_URL": api.anthropic_url})
    api.server.wait_requests(seen + 2)  # polling
    proc.send_signal(signal.SIGINT)
    done = proc.finish()
    assert done.returncode == -signal.SIGINT
    assert b"the batch keeps running" in done.stderr
    assert f"streamcli batch wait {batch_id}".encode() in done.stderr
    assert not any(r.path.endswith("/cancel") for r in api.server.requests)


def test_a_submission_cut_short_prints_and_records_the_batches_it_made(sh, api, monkeypatch):
    monkeypatch.setattr(anthropic_api, "MAX_REQUESTS", 2)
    api.max_batches = 1
    r = sh("submit", "-", "-m", "claude-test", stdin=jsonl(*"abcde"))
    assert r.code == 3, r.err  # the API's refusal of the second batch
    (made,) = r.text.split()
    assert made == api.created[0]["id"] and "only 1 of 3 batches were submitted" in r.err
    assert [x["id"] for x in json.loads(_jsonl_line(sh("list", "--json").text))] == [made]


def _jsonl_line(text: str) -> str:
    return "[" + ",".join(text.splitlines()) + "]"


def test_results_of_a_running_batch_leave_the_output_file_alone(sh, api, tmp_path):
    api.hold = True
    (batch_id,) = sh("submit", "-", "-m", "claude-test", stdin=jsonl("a")).text.split()
    out = tmp_path / "kept.jsonl"
    out.write_text("earlier results\n")
    r = sh("results", batch_id, "--output", str(out))
    assert r.code == 2 and "still running" in r.err
    assert out.read_text() == "earlier results\n"


def test_a_key_echoed_by_the_batch_api_is_never_shown(cli, api, fake_server):
    key = "sk-ant-echoed-0123456789"
    cli.real_network().env(ANTHROPIC_API_KEY=key, ANTHROPIC_BASE_URL=api.anthropic_url)
    fake_server.handler = lambda req: Reply.json(
        400, {"type": "error", "error": {"type": "invalid_request_error",
                                         "message": f"bad key {key}"}, "request_id": key})
    r = cli.run("batch", "submit", "-", "-m", "claude-test", stdin=jsonl("a").encode())
    assert r.code == 3 and key not in r.err and "bad key ***" in r.err
