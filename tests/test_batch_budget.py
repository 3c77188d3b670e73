"""The shared rate-limit budget of `batch run`: a 429 pauses every worker (seen from the
server: no request during the retry-after), concurrency halves and grows back, and the
remaining/reset headers are honoured before any 429."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone

import pytest

from streamcli.batch.budget import Budget, _seconds_until
from tests.helpers.batchapi import FakeMessages
from tests.helpers.fakeserver import Gate, Reply
from tests.helpers.keys import ANTHROPIC_KEY
from tests.helpers.sse import anthropic_error_body, anthropic_message


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_429_halves_once_per_pause_and_successes_grow_it_back():
    clock = Clock()
    budget = Budget(8, max_wait=60, clock=clock)
    budget.observe(429, {"retry-after": "2"})
    assert (budget.limit, budget.pause_until) == (4, 102.0)
    assert budget._wait(clock.now) == 2.0
    budget.observe(429, {"retry-after": "1"})  # the same burst: no second halving
    assert (budget.limit, budget.pause_until) == (4, 102.0)
    clock.now = 103.0
    budget.observe(429, {})  # a new pause, without retry-after: a short one
    assert budget.limit == 2 and budget.pause_until == pytest.approx(103.5)
    for expected in (3, 4, 5, 6, 7, 8, 8):
        budget.in_flight += 1
        budget.release(ok=True)
        assert budget.limit == expected
    budget.in_flight += 1
    budget.release(ok=False)
    assert budget.limit == 8 and budget.in_flight == 0


def test_a_retry_after_beyond_the_max_wait_is_cut_to_it():
    clock = Clock()
    budget = Budget(4, max_wait=5, clock=clock)
    budget.observe(429, {"retry-after": "3600"})
    assert budget.pause_until == 105.0


@pytest.mark.parametrize("headers", [
    {"anthropic-ratelimit-requests-remaining": "2", "anthropic-ratelimit-requests-reset": "3s"},
    {"x-ratelimit-remaining-requests": "2", "x-ratelimit-reset-requests": "3s"},
])
def test_remaining_requests_are_spent_then_the_window_is_waited_for(headers):
    clock = Clock()
    budget = Budget(8, max_wait=60, clock=clock)
    budget.observe(200, headers)
    assert budget.acquire() and budget.acquire()
    assert budget.left == 0 and budget._wait(clock.now) == pytest.approx(3.0)
    clock.now += 3.0
    assert budget._wait(clock.now) <= 0 and budget.left is None  # a new window


def test_no_tokens_left_pauses_until_their_reset():
    clock = Clock()
    budget = Budget(8, max_wait=60, clock=clock)
    budget.observe(200, {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"})
    assert budget.pause_until == pytest.approx(100 + 60)  # cut to max_wait
    budget.observe(200, {"anthropic-ratelimit-tokens-remaining": "5",
                         "anthropic-ratelimit-tokens-reset": "2000-01-01T00:00:00Z"})
    assert budget.pause_until == pytest.approx(160)


def test_reset_times_in_both_forms():
    assert _seconds_until("1h2m3.5s") == pytest.approx(3723.5)
    assert _seconds_until("20ms") == pytest.approx(0.02)
    soon = datetime.fromtimestamp(time.time() + 30, timezone.utc).isoformat().replace("+00:00", "Z")
    assert 25 < _seconds_until(soon) <= 30
    assert _seconds_until("2001-01-01T00:00:00Z") == 0.0
    assert _seconds_until("tomorrow-ish") == 0.0


def test_stop_wakes_a_waiting_worker_with_no_slot():
    budget = Budget(1, max_wait=60)
    assert budget.acquire()
    got = []
    waiter = threading.Thread(target=lambda: got.append(budget.acquire()))
    waiter.start()
    budget.stop()
    waiter.join(5)
    assert got == [False] and not budget.sleep(10)


# -- seen from the server --------------------------------------------------------------------


def _hang_429(gate: Gate) -> Reply:
    """A 429 whose connection the server keeps until the client closes it, so the test
    knows when the client has read it."""
    body = json.dumps(anthropic_error_body("rate_limit_error", "slow down")).encode()
    return Reply(429, {"retry-after": "1"}, [body], framing="length", end="hang",
                 content_type="application/json", content_length=len(body), before=[gate])


def test_a_429_pauses_every_worker_for_its_retry_after(cli, fake_server):
    """Four requests in flight; one gets 429 retry-after: 1; the server sees no request
    from any worker until that second has passed."""
    models = FakeMessages(fake_server)
    first, others = Gate(), Gate()
    models.script["q0"] = [_hang_429(first)]
    for i in (1, 2, 3):
        models.script[f"q{i}"] = [Reply.json(200, anthropic_message(f"a{i}"), before=[others])]

    def choreography():
        fake_server.wait_requests(4)  # all four in flight before the 429 is sent
        first.open()
        throttled = next(ex for ex in fake_server.exchanges
                         if ex.request.json["messages"][-1]["content"] == "q0")
        assert throttled.disconnected.wait(10)  # the client has read the 429 and let go
        others.open()

    helper = threading.Thread(target=choreography)
    helper.start()
    cli.real_network().env(**ANTHROPIC_KEY)
    r = cli.run("batch", "run", "--base-url", models.url, "-m", "claude-test", "-j", "4",
                stdin="".join(f'"q{i}"\n' for i in range(8)).encode())
    helper.join()
    assert r.code == 0, r.err
    assert [x["status"] for x in r.lines] == ["ok"] * 8
    throttled = next(ex for ex in fake_server.exchanges if ex.reply.status == 429)
    later = fake_server.requests[4:]
    assert len(later) == 5  # q4..q7 and the retry of q0
    assert all(req.time >= throttled.head_time + 1.0 for req in later), \
        [req.time - throttled.head_time for req in later]


def test_no_requests_left_in_the_window_holds_the_next_one_back(cli, fake_server):
    models = FakeMessages(fake_server)
    models.script["q0"] = [Reply.json(200, anthropic_message("a0"), headers={
        "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"})]
    cli.real_network().env(**ANTHROPIC_KEY)
    r = cli.run("batch", "run", "--base-url", models.url, "-m", "claude-test", "-j", "1",
                stdin=b'"q0"\n"q1"\n')
    assert r.code == 0, r.err
    first, second = fake_server.exchanges
    assert second.request.time >= first.head_time + 1.0
