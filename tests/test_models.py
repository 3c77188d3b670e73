"""`streamcli models`: the listing of each provider (Anthropic over several pages, OpenAI and
compatible servers), the cache under $XDG_CACHE_HOME/streamcli/, and every failure row of
the exit table, against local fakes of both listing endpoints (real processes) and
scripted responses (in-process)."""

from __future__ import annotations

import json
import os
import signal
import stat
from urllib.parse import parse_qs, urlsplit

import pytest

from streamcli import modelcache
from tests.helpers.cli import json_response, sse
from tests.helpers.fakeserver import FakeServer, Gate, Reply
from tests.helpers.keys import ANTHROPIC_KEY, FAKE_ANTHROPIC_KEY, OPENAI_KEY
from tests.helpers.sse import anthropic_error_body, anthropic_models_page, openai_error_body, openai_models_list

PAGES = [["claude-new-3", "claude-new-2"], ["claude-mid-1", "claude-mid-0"], ["claude-old-9"]]
ALL_IDS = [i for page in PAGES for i in page]


def anthropic_pages() -> list[Reply]:
    return [Reply.json(200, anthropic_models_page(ids, has_more=n < len(PAGES) - 1))
            for n, ids in enumerate(PAGES)]


def query(path: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


def cache_file(home_env: dict) -> str:
    return modelcache.cache_path(home_env)


# --------------------------------------------------------------------------- real processes


def test_anthropic_listing_over_three_pages(run_cli, fake_keys, processes):
    with FakeServer() as srv:
        srv.enqueue(*anthropic_pages())
        url = srv.url
        r = run_cli(["models", "--provider", "anthropic", "--base-url", url], env=fake_keys)
        requests = list(srv.requests)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == ALL_IDS and r.stderr == b""
    assert [req.method for req in requests] == ["GET"] * 3
    assert [urlsplit(req.path).path for req in requests] == ["/v1/models"] * 3
    # The cursor of each next page is the last id of the one before.
    assert [query(req.path) for req in requests] == [
        {"limit": "1000"}, {"limit": "1000", "after_id": "claude-new-2"},
        {"limit": "1000", "after_id": "claude-mid-0"}]
    assert all(req.headers["x-api-key"] == FAKE_ANTHROPIC_KEY for req in requests)
    assert all(req.headers["anthropic-version"] == "2023-06-01" for req in requests)
    # Cached whole (0600 in a 0700 folder, no key), and the next run asks no one.
    path = cache_file(processes.env())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert b"SECRETKEY" not in open(path, "rb").read()
    # The server is gone: the listing still comes, from the cache.
    again = run_cli(["models", "--provider", "anthropic", "--base-url", url, "--json"],
                    env=fake_keys)
    assert again.returncode == 0, again.stderr
    assert [json.loads(line)["id"] for line in again.stdout.splitlines()] == ALL_IDS


def test_cache_hit_refresh_and_json(run_cli, fake_keys, processes):
    with FakeServer() as srv:
        srv.enqueue(*anthropic_pages(), *anthropic_pages())
        args = ["models", "--provider", "anthropic", "--base-url", srv.url]
        first = run_cli(args, env=fake_keys)
        cached = run_cli([*args, "--json"], env=fake_keys)
        assert len(srv.requests) == 3  # the second run read the cache
        refreshed = run_cli([*args, "--refresh"], env=fake_keys)
        assert len(srv.requests) == 6
    assert first.returncode == cached.returncode == refreshed.returncode == 0
    objects = [json.loads(line) for line in cached.stdout.decode().splitlines()]
    assert [o["id"] for o in objects] == ALL_IDS and objects[0]["type"] == "model"
    assert refreshed.stdout == first.stdout


def test_a_listing_older_than_a_day_is_fetched_again(run_cli, fake_keys, processes):
    env = processes.env()
    with FakeServer() as srv:
        modelcache.store(env, "openai", "openai", srv.url + "/v1", [{"id": "stale-model"}],
                         now=0)
        srv.enqueue(Reply.json(200, openai_models_list(["fresh-model"])))
        r = run_cli(["models", "--base-url", srv.url + "/v1"], env=fake_keys)
        assert len(srv.requests) == 1
    assert r.stdout == b"fresh-model\n"


def test_openai_and_a_keyless_compatible_server(run_cli, fake_keys):
    with FakeServer() as srv:
        srv.enqueue(Reply.json(200, openai_models_list(["gpt-5", "gpt-4o"])),
                    Reply.json(200, openai_models_list(["llama3.2:3b"])))
        r = run_cli(["models", "--provider", "openai", "--base-url", srv.url + "/v1"], env=fake_keys)
        keyless = run_cli(["models", "--base-url", srv.url + "/compat/v1"], env={})
        requests = list(srv.requests)
    assert (r.returncode, r.stdout) == (0, b"gpt-5\ngpt-4o\n")
    assert (keyless.returncode, keyless.stdout) == (0, b"llama3.2:3b\n")
    assert [(q.method, q.path) for q in requests] == [("GET", "/v1/models"),
                                                     ("GET", "/compat/v1/models")]
    assert requests[0].headers["authorization"] == "Bearer " + fake_keys["OPENAI_API_KEY"]
    assert "authorization" not in requests[1].headers


def anthropic_error(status, etype):
    return Reply.json(status, anthropic_error_body(etype, f"fake-{etype}"),
                      {"request-id": "req_models"})


FAST = ["--max-retry-wait", "0.05"]
FAILURES = [
    # (id, provider, replies, extra args, exit status, a piece of the message, requests)
    ("401", "anthropic", [anthropic_error(401, "authentication_error")], [], 4,
     "fake-authentication_error", 1),
    ("403", "openai", [Reply.json(403, openai_error_body("fake-forbidden", "permission"))], [], 4,
     "fake-forbidden", 1),
    ("404", "anthropic", [anthropic_error(404, "not_found_error")], [], 3, "req_models", 1),
    ("429-retried-then-5", "openai",
     [Reply.json(429, openai_error_body("fake-slow", "requests", "rate_limit_exceeded"))] * 3,
     ["--retries", "2", *FAST], 5, "fake-slow", 3),
    ("quota-never-retried", "openai",
     [Reply.json(429, openai_error_body("fake-quota", "insufficient_quota", "insufficient_quota"))],
     ["--retries", "2", *FAST], 4, "fake-quota", 1),
    ("529-retried-then-6", "anthropic", [anthropic_error(529, "overloaded_error")] * 2,
     ["--retries", "1", *FAST], 6, "fake-overloaded_error", 2),
    ("500-on-page-2", "anthropic",
     [anthropic_pages()[0], anthropic_error(500, "api_error")], [], 6, "fake-api_error", 2),
    ("stall", "openai", [Reply.json(200, openai_models_list(["x"]), end="hang")],
     ["--idle-timeout", "0.5"], 8, "--idle-timeout", 1),
    ("not-json", "openai", [Reply(200, body=["<html>login</html>"], content_type="text/html",
                                  framing="length")], [], 9, "not JSON", 1),
    ("no-data", "openai", [Reply.json(200, {"object": "list"})], [], 9, "data", 1),
    ("has-more-without-cursor", "anthropic",
     [Reply.json(200, {"data": [], "has_more": True, "last_id": None})], [], 9, "last_id", 1),
    ("cursor-that-repeats", "anthropic",
     [Reply.json(200, anthropic_models_page(["a"], has_more=True))] * 2, [], 9, "advance", 2),
    ("error-object-on-200", "openai",
     [Reply.json(200, {"error": {"message": "fake-in-body", "type": "server_error"}})], [], 6,
     "fake-in-body", 1),
    ("dropped", "anthropic", [Reply.json(200, anthropic_models_page(["a"], has_more=False),
                                         end="drop")], [], 7, "connection", 1),
]


@pytest.mark.parametrize("case", FAILURES, ids=[c[0] for c in FAILURES])
def test_failures_follow_the_exit_table(run_cli, fake_keys, case):
    name, provider, replies, args, code, words, count = case
    with FakeServer() as srv:
        srv.enqueue(*replies)
        base = srv.url if provider == "anthropic" else srv.url + "/v1"
        r = run_cli(["models", "--provider", provider, "--base-url", base, "--retries", "0",
                     *args], env=fake_keys)
        assert len(srv.requests) == count
    err = r.stderr.decode()
    assert r.returncode == code, err
    assert r.stdout == b""  # nothing half-listed
    assert "Traceback" not in err and words in err.splitlines()[-1], err
    assert err.splitlines()[-1].startswith("streamcli: error: ")
    if "retried" in name:
        assert err.count("streamcli: retry ") == count - 1


def test_retry_then_success(run_cli, fake_keys):
    with FakeServer() as srv:
        srv.enqueue(anthropic_error(529, "overloaded_error"), *anthropic_pages())
        r = run_cli(["models", "--provider", "anthropic", "--base-url", srv.url, *FAST],
                    env=fake_keys)
    assert r.returncode == 0 and r.stdout.decode().splitlines() == ALL_IDS
    assert r.stderr.decode().startswith("streamcli: retry 1/2 in ")


@pytest.mark.parametrize("argv, words", [
    (["models", "--provider", "nowhere"], "unknown provider"),
    (["models", "--provider", "anthropic"], "ANTHROPIC_API_KEY"),
    (["models", "--bogus"], "--bogus"),
    (["models", "--retries", "-1"], "--retries"),
], ids=["unknown-provider", "no-key", "unknown-option", "bad-value"])
def test_usage_errors(run_cli, argv, words):
    r = run_cli(argv, env={})
    assert r.returncode == 2 and r.stdout == b""
    assert words in r.stderr.decode() and "Traceback" not in r.stderr.decode()


def test_connection_refused_is_7(run_cli, fake_keys):
    r = run_cli(["models", "--base-url", f"http://127.0.0.1:{FakeServer.closed_port()}/v1",
                 "--retries", "0"], env=fake_keys)
    assert r.returncode == 7 and "connect" in r.stderr.decode()


def test_an_unwritable_cache_costs_a_warning_not_the_listing(run_cli, fake_keys, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with FakeServer() as srv:
        srv.enqueue(Reply.json(200, openai_models_list(["m1"])))
        r = run_cli(["models", "--base-url", srv.url + "/v1"],
                    env={**fake_keys, "XDG_CACHE_HOME": str(blocker)})
    assert (r.returncode, r.stdout) == (0, b"m1\n")
    assert r.stderr.decode().startswith("streamcli: warning: cannot write the model cache")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_waiting_ends_the_run(start_cli, fake_keys, signum):
    gate = Gate()
    with FakeServer() as srv:
        srv.enqueue(Reply.json(200, openai_models_list(["m"]), before=[gate]))
        proc = start_cli(["models", "--base-url", srv.url + "/v1"], env=fake_keys)
        gate.wait_reached(10)
        proc.send_signal(signum)
        r = proc.finish()
        assert srv.disconnected.wait(5)
    assert r.returncode == -signum and r.stdout == b""
    assert "cancelled" in r.stderr.decode() and "Traceback" not in r.stderr.decode()


def test_a_closed_stdout_is_sigpipe(start_cli, fake_keys):
    gate = Gate()
    with FakeServer() as srv:
        srv.enqueue(Reply.json(200, openai_models_list([f"model-{i}" for i in range(20000)]),
                               before=[gate]))
        proc = start_cli(["models", "--base-url", srv.url + "/v1"], env=fake_keys)
        gate.wait_reached(10)
        proc.proc.stdout.close()  # the reader goes away before the listing comes
        gate.open()
        r = proc.finish()
    assert r.returncode == -signal.SIGPIPE and r.stderr == b""


# --------------------------------------------------------------------------- in-process


def test_the_provider_is_chosen_as_for_a_prompt(cli):
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY)
    cli.config('model = "claude-sonnet-4-5"\n[providers.local]\nkind = "openai"\n'
               'base_url = "http://127.0.0.1:8080/v1"\n')
    listing = json_response(200, openai_models_list(["a"]))
    pages = json_response(200, anthropic_models_page(["c"], has_more=False))
    cli.serve(pages, listing, listing, listing, listing)
    assert cli.run("models").code == 0  # the config's model: Anthropic
    assert cli.run("models", "-m", "gpt-4o").code == 0  # -m's provider
    assert cli.run("models", "-m", "local:llama").code == 0  # a named provider
    assert cli.run("models", "--provider", "local", "--refresh").code == 0
    assert cli.env(STREAMCLI_MODEL="gpt-5-pro").run("models", "--refresh").code == 0
    assert [str(r.url) for r in cli.requests] == [
        "https://api.anthropic.com/v1/models?limit=1000", "https://api.openai.com/v1/models",
        "http://127.0.0.1:8080/v1/models", "http://127.0.0.1:8080/v1/models",
        "https://api.openai.com/v1/models"]


def test_the_key_is_never_shown_even_when_a_server_echoes_it(cli):
    cli.env(**OPENAI_KEY).serve(json_response(401, openai_error_body(
        "bad key " + OPENAI_KEY["OPENAI_API_KEY"], "invalid_request_error", "invalid_api_key")))
    r = cli.run("models", "--provider", "openai")
    assert r.code == 4 and OPENAI_KEY["OPENAI_API_KEY"] not in r.err and "***" in r.err


def test_odd_names_and_deep_json_neither_crash_nor_break_the_cache(cli):
    body = b'{"data": [{"id": "half-\\ud800-name"}, {"id": "emoji-\\ud83d\\ude00"}]}'
    cli.env(**OPENAI_KEY).serve(sse([body], content_type="application/json"))
    r = cli.run("models", "--provider", "openai")
    assert r.code == 0 and r.out == "half-?-name\nemoji-\U0001f600\n".encode()
    cached = cli.run("models", "--provider", "openai", "--json")  # from the cache
    assert cached.code == 0 and len(cli.requests) == 1
    deep = b'{"data": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    cli.serve(sse([deep], content_type="application/json"))
    r = cli.run("models", "--provider", "openai", "--refresh")
    assert r.code == 9 and "not JSON" in r.err


def test_ids_that_are_not_strings_are_left_out_of_the_plain_listing(cli):
    cli.env(**OPENAI_KEY).serve(json_response(200, {"data": [
        {"id": "ok"}, {"id": 5}, "junk", {"no": "id"}, {"id": "caf\u00e9"}]}))
    r = cli.run("models", "--provider", "openai")
    assert r.code == 0 and r.out == "ok\ncaf\u00e9\n".encode()
    j = cli.run("models", "--provider", "openai", "--json")
    assert [json.loads(line) for line in j.out.splitlines()][2] == "junk"


def test_models_is_a_subcommand_only_as_the_first_word(cli):
    cli.env(**ANTHROPIC_KEY).serve(json_response(200, {
        "id": "m", "type": "message", "role": "assistant", "model": "c", "stop_reason": "end_turn",
        "content": [{"type": "text", "text": "ok"}], "usage": {"input_tokens": 1, "output_tokens": 1}}))
    r = cli.run("--no-stream", "--", "models", "are", "great")
    assert r.code == 0 and cli.body["messages"][0]["content"] == "models are great"


def test_the_file_settings_apply_to_models_too(cli):
    cli.config("retries = 0\n")
    cli.env(**OPENAI_KEY).serve(json_response(503, openai_error_body("fake-503")))
    r = cli.run("models", "--provider", "openai")
    assert r.code == 6 and len(cli.requests) == 1  # no retry: the file said 0


@pytest.mark.parametrize("redirect, words", [(">&-", "stdout is closed"),
                                             (">/dev/full", "No space left")])
def test_stdout_that_cannot_be_written_is_an_output_error(processes, fake_keys, redirect, words):
    """Exit 11 (errors.OutputError), one line on stderr: the listing came from the cache."""
    if redirect == ">/dev/full" and not os.path.exists("/dev/full"):
        pytest.fail("/dev/full is missing")
    modelcache.store(processes.env(), "openai", "openai", "http://127.0.0.1:9/v1", [{"id": "a"}])
    from tests.helpers.cli import shell_words
    r = processes.shell(f"{shell_words(['models', '--base-url', 'http://127.0.0.1:9/v1'])} "
                        f"{redirect}; echo \" $?\" >&2", env=fake_keys)
    err = r.stderr.decode()
    assert err.endswith(" 11\n") and words in err and "Traceback" not in err, err
