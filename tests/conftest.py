"""Shared pytest fixtures: thin wrappers over tests/helpers (nothing else lives here)."""

import os
import sys

import pytest

# `from tests.helpers... import ...` needs the project root on sys.path, which
# `python -m pytest` provides but a bare `pytest` run does not.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.helpers.batchapi import FakeBatchAPI, FakeMessages  # noqa: E402
from tests.helpers.cli import Cli, Processes  # noqa: E402
from tests.helpers.fakeserver import FakeServer  # noqa: E402
from tests.helpers.keys import (ANTHROPIC_KEY, FAKE_KEYS, OPENAI_KEY,  # noqa: E402
                                assert_no_secrets)


@pytest.fixture
def fake_server():
    """A started FakeServer on 127.0.0.1 (random port), closed after the test."""
    with FakeServer() as srv:
        yield srv


@pytest.fixture
def server(fake_server):
    """The FakeServer the `net` runner's requests go to (`--base-url server.url`)."""
    return fake_server


@pytest.fixture
def net(cli):
    """The in-process runner over a real socket (to the `server` FakeServer), with both
    providers' keys."""
    cli.real_network()
    cli.env(**ANTHROPIC_KEY, **OPENAI_KEY)
    return cli


@pytest.fixture
def cli(tmp_path):
    """The in-process runner (tests/helpers/cli.py: Cli), in a clean environment under
    tmp_path/home; at the end, no request may have gone unscripted."""
    harness = Cli(tmp_path / "home")
    yield harness
    assert harness.unexpected == 0, "the command sent more requests than were scripted"


@pytest.fixture
def processes(tmp_path):
    """Real processes in a clean environment under tmp_path/home (tests/helpers/cli.py:
    Processes); any still running at the end of the test is killed."""
    procs = Processes(tmp_path / "home")
    yield procs
    procs.close()


@pytest.fixture
def start_cli(processes):
    """start_cli(args, env=None, stdin=DEVNULL, stdout=PIPE, stderr=PIPE) -> CliProcess.

    env holds extra variables on top of a clean environment (None removes one)."""
    return processes.start


@pytest.fixture
def run_cli(processes):
    """run_cli(args, input=None, env=None, timeout=20, stdin=None) -> CompletedProcess.

    input (bytes) goes through a pipe; otherwise stdin is `stdin` or /dev/null."""
    return processes.run


@pytest.fixture
def no_secrets():
    """assert_no_secrets(*outputs): no fake API key (not even part of one) in any of them."""
    return assert_no_secrets


@pytest.fixture
def fake_keys():
    """Environment entries with recognisable fake keys for both providers."""
    return dict(FAKE_KEYS)


@pytest.fixture
def models(fake_server):
    """The fake Messages and Chat Completions endpoints that `batch run` talks to
    (tests/helpers/batchapi.py: FakeMessages)."""
    return FakeMessages(fake_server)


@pytest.fixture
def batch(cli, models):
    """batch(input, *args) -> Result: `batch run` of the input (str or bytes) on stdin,
    at the fake `models`, both providers' keys set, no retries."""
    cli.real_network().env(**ANTHROPIC_KEY, **OPENAI_KEY)

    def run(text, *args: str):
        data = text.encode() if isinstance(text, str) else text
        return cli.run("batch", "run", "--base-url", models.url, "-m", "claude-test",
                       "--retries", "0", *args, stdin=data)
    return run


@pytest.fixture
def api(fake_server):
    """The fake Anthropic and OpenAI Batch APIs (tests/helpers/batchapi.py: FakeBatchAPI)."""
    return FakeBatchAPI(fake_server)


@pytest.fixture
def sh(cli, api):
    """sh(*args, stdin=None) -> Result: a `batch` subcommand, both providers at the fake
    Batch APIs."""
    cli.real_network().env(**ANTHROPIC_KEY, **OPENAI_KEY, ANTHROPIC_BASE_URL=api.anthropic_url,
                           OPENAI_BASE_URL=api.openai_url)

    def run(*args: str, stdin: str | None = None):
        return cli.run("batch", *args, stdin=None if stdin is None else stdin.encode())
    return run
