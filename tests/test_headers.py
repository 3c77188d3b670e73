"""-H/--header and a named provider's `headers` (issue 12): sent with every request as a
local server records them, flags over the config file, what -H does to the headers
streamcli sets itself, bad headers as exit 2 with nothing sent, and credential-like values
redacted wherever the tool prints."""

from __future__ import annotations

import pytest

from streamcli import headers
from streamcli.errors import UsageError
from tests.helpers.fakeserver import Reply
from tests.helpers.keys import ANTHROPIC_KEY
from tests.helpers.sse import anthropic_error_body, anthropic_sse, openai_error_body, openai_sse

SECRET = "gw-SECRETKEY-0123456789"




def run(net, server, provider, *args, reply=True):
    if reply:
        server.enqueue(Reply(body=anthropic_sse(["ok"]) if provider == "anthropic"
                             else openai_sse(["ok"])))
    url = server.url + ("" if provider == "anthropic" else "/v1")
    model = "claude-test" if provider == "anthropic" else "gpt-test"
    return net.run("-m", model, "--provider", provider, "--base-url", url, "--retries", "0",
                   *args)


def sent(server, i=0):
    return server.requests[i].headers


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_headers_are_sent(net, server, provider):
    r = run(net, server, provider, "-H", "anthropic-beta: files-api-2025-04-14",
            "-H", "X-Trace:  abc 123 ", "q")
    assert r.code == 0, r.err
    h = sent(server)
    assert h["anthropic-beta"] == "files-api-2025-04-14" and h["x-trace"] == "abc 123"


def test_a_later_header_of_the_same_name_wins(net, server):
    run(net, server, "openai", "-H", "X-A: 1", "-H", "x-a: 2", "q")
    assert sent(server)["x-a"] == "2"


def test_config_headers_for_a_named_provider_and_flags_win(net, server):
    net.config(f'[providers.gw]\nkind = "anthropic"\nbase_url = "{server.url}"\n'
               'api_key_env = "GW_KEY"\n'
               'headers = { "X-Team" = "search", "X-Env" = "prod", "X-Drop" = "me" }\n')
    net.env(GW_KEY="gw-key")
    server.enqueue(Reply(body=anthropic_sse(["ok"])))
    r = net.run("-m", "gw:claude-test", "-H", "x-env: staging", "-H", "X-Drop:", "q")
    assert r.code == 0, r.err
    h = sent(server)
    assert (h["x-team"], h["x-env"]) == ("search", "staging")
    assert "x-drop" not in h


def test_headers_streamcli_sets_can_be_replaced_or_removed(net, server):
    run(net, server, "anthropic", "-H", "Anthropic-Version: 2099-01-01", "-H",
        "User-Agent: mytool/2", "q")
    h = sent(server)
    assert (h["anthropic-version"], h["user-agent"]) == ("2099-01-01", "mytool/2")
    assert h["x-api-key"] == ANTHROPIC_KEY["ANTHROPIC_API_KEY"]
    run(net, server, "anthropic", "-H", "anthropic-version:", "q")
    assert "anthropic-version" not in sent(server, 1)


@pytest.mark.parametrize("provider, auth, value", [
    ("anthropic", "x-api-key", SECRET), ("openai", "authorization", f"Bearer {SECRET}")])
def test_the_auth_header_given_outright_needs_no_key(net, server, provider, auth, value):
    net.environ.pop("ANTHROPIC_API_KEY")
    net.environ.pop("OPENAI_API_KEY")
    r = run(net, server, provider, "-H", f"{auth}: {value}", "q")
    assert r.code == 0, r.err
    assert sent(server)[auth] == value


def test_removing_the_auth_header_sends_no_key(net, server):
    run(net, server, "anthropic", "-H", "x-api-key:", "q")
    assert "x-api-key" not in sent(server)


@pytest.mark.parametrize("arg, why", [
    ("X-No-Colon", "has no colon"),
    ("X-Bad: one\r\nInjected: yes", "CR or LF"),
    ("X-Bad: one\ntwo", "CR or LF"),
    ("Content-Length: 5", "frames the HTTP message"),
    ("Host: evil.example", "frames the HTTP message"),
    ("Bad Name: x", "not a valid header name"),
    (": x", "not a valid header name"),
    ("X-Utf: caf\u00e9", "only printable ASCII"),
    ("X-Ctl: a\x07b", "only printable ASCII"),
])
def test_bad_headers_are_exit_2_with_nothing_sent(net, server, arg, why):
    r = run(net, server, "anthropic", "-H", arg, "q", reply=False)
    assert r.code == 2 and why in r.err, r.err
    assert server.connections == 0


@pytest.mark.parametrize("table, why", [
    ('headers = "X-A: 1"', "must be a table"),
    ("headers = { X-A = 1 }", "must be a string"),
    ('headers = { "X-A" = "a\\nb" }', "CR or LF"),
])
def test_bad_config_headers(net, server, table, why):
    net.config(f'[providers.gw]\nkind = "openai"\nbase_url = "{server.url}"\n{table}\n')
    r = net.run("-m", "gw:m", "q")
    assert r.code == 2 and why in r.err, r.err
    assert server.connections == 0


def test_a_bad_credential_header_is_not_echoed(net, server):
    r = run(net, server, "anthropic", "-H", f"Authorization: Bearer {SECRET}\x01", "q",
            reply=False)
    assert r.code == 2 and SECRET not in r.err and "Authorization: its value" in r.err
    r = run(net, server, "anthropic", "-H", SECRET, "q", reply=False)  # a token, no name
    assert r.code == 2 and SECRET not in r.err


# --------------------------------------------------------------------------- redaction


@pytest.mark.parametrize("mode", [(), ("--jsonl",), ("--no-stream",)])
def test_credential_values_echoed_by_the_server_are_redacted(net, server, mode):
    token = "tok-SECRETKEY-abcdef"
    server.enqueue(Reply.json(400, anthropic_error_body(
        "invalid_request_error",
        f"bad gateway token {token} (header was 'Bearer {token}'); cookie {SECRET}; "
        f"x-team search")))
    r = run(net, server, "anthropic", *mode, "-H", f"Authorization: Bearer {token}",
            "-H", f"Cookie: {SECRET}", "-H", "X-Team: search", "q", reply=False)
    assert r.code == 3
    everything = r.out.decode() + r.err
    assert token not in everything and SECRET not in everything
    assert "***" in everything and "x-team search" in everything  # not a credential


def test_retry_notices_are_redacted(net, server):
    server.enqueue(Reply.json(500, openai_error_body(f"upstream said {SECRET}")),
                   Reply(body=openai_sse(["ok"])))
    r = run(net, server, "openai", "--retries", "1", "--max-retry-wait", "0",
            "-H", f"X-Gateway-Token: {SECRET}", "--jsonl", "q", reply=False)
    assert r.code == 0, r.err
    assert SECRET not in r.err and SECRET not in r.out.decode()
    # the notice is short (issue 10 #23); the --jsonl retry event has the whole reason
    assert "upstream said ***" in r.out.decode() and "retry 1/1" in r.err


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize("name, secret", [
    ("Authorization", True), ("X-Api-Key", True), ("api-key", True), ("Cookie", True),
    ("x-goog-api-key", True), ("X-Session-Token", True), ("proxy-authorization", True),
    ("anthropic-beta", False), ("X-Tokenizer", False), ("key", False)])
def test_is_secret(name, secret):
    assert headers.is_secret(name) is secret


def test_secrets_include_the_credential_after_a_scheme():
    got = headers.secrets([("authorization", "Bearer abc123"), ("x-a", "visible"),
                           ("cookie", "")])
    assert got == ("Bearer abc123", "abc123")


def test_public_masks_credentials():
    assert headers.public([("x-api-key", "k"), ("x-a", "1"), ("cookie", "")]) == (
        ("x-api-key", "***"), ("x-a", "1"), ("cookie", ""))


def test_apply_is_case_insensitive_and_empty_removes():
    own = {"Content-Type": "application/json", "x-api-key": "k"}
    assert headers.apply(own, [("content-type", "text/plain"), ("x-api-key", "")]) == {
        "content-type": "text/plain"}


def test_parse_keeps_colons_in_values():
    assert headers.parse(["X-Url: http://a:8080/x"]) == (("x-url", "http://a:8080/x"),)
    with pytest.raises(UsageError):
        headers.parse(["Transfer-Encoding: chunked"])


def test_secrets_are_redacted_from_8_characters_on_and_then_everywhere():
    # issue 10 #2: a short value is no secret (OPENAI_API_KEY=x for a keyless server), and
    # masking it would garble messages ("retry 1/2" with a "1" header value)
    from streamcli.redact import Redactor
    assert Redactor(["abc"])("key abc rejected; abcdef is fine") == "key abc rejected; abcdef is fine"
    assert Redactor(["long-secret-value"])("long-secret-value and long-secret-value2") == \
        "*** and ***2"


def test_streamcli_models_sends_the_providers_config_headers(net, server):
    from tests.helpers.sse import openai_models_list
    net.config(f'[providers.gw]\nkind = "openai"\nbase_url = "{server.url}/v1"\n'
               f'headers = {{ "X-Team" = "search", "Authorization" = "Bearer {SECRET}" }}\n')
    server.enqueue(Reply.json(200, openai_models_list(["m1"])),
                   Reply.json(401, openai_error_body(f"token {SECRET} revoked", "invalid_request_error")))
    ok = net.run("models", "--provider", "gw")
    assert (ok.code, ok.out) == (0, b"m1\n"), ok.err
    assert sent(server)["x-team"] == "search"
    assert sent(server)["authorization"] == f"Bearer {SECRET}"
    bad = net.run("models", "--provider", "gw", "--refresh")
    assert bad.code == 4 and SECRET not in bad.err and "token *** revoked" in bad.err
