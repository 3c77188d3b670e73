"""The fake Batch APIs (tests/helpers/batchapi.py) hold to the documented shapes: the
official SDKs' clients, pointed at it, parse everything it returns, with their types
validated strictly (pydantic's model_validate, not the SDKs' lenient construction)."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest
from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse
from openai.types import Batch, FileObject
from openai.types.chat import ChatCompletion

from tests.helpers.batchapi import FakeBatchAPI

KEY = "sk-fake-key"


@pytest.fixture
def api(fake_server):
    return FakeBatchAPI(fake_server, key=KEY)


def _anthropic_request(custom_id: str, text: str) -> dict:
    return {"custom_id": custom_id, "params": {"model": "claude-test", "max_tokens": 64,
                                               "messages": [{"role": "user", "content": text}]}}


def test_the_anthropic_sdk_parses_every_reply(api):
    client = anthropic.Anthropic(api_key=KEY, base_url=api.anthropic_url, max_retries=0)
    api.polls_to_end = 1
    api.outcome = {"b": ("error", 400, "invalid_request_error", "bad"), "c": "expired"}
    batch = client.messages.batches.create(
        requests=[_anthropic_request(i, f"q {i}") for i in "abcd"])
    raw = client.messages.batches.with_raw_response.retrieve(batch.id)
    MessageBatch.model_validate(json.loads(raw.http_response.content))
    assert raw.parse().processing_status == "in_progress"
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.results_url
    assert ended.request_counts.model_dump() == {"processing": 0, "succeeded": 2, "errored": 1,
                                                 "canceled": 0, "expired": 1}
    results = {r.custom_id: r for r in client.messages.batches.results(batch.id)}
    assert set(results) == set("abcd")
    for r in results.values():
        MessageBatchIndividualResponse.model_validate(r.model_dump())
    assert results["a"].result.type == "succeeded"
    assert results["a"].result.message.content[0].text == "answer to q a"
    assert results["b"].result.type == "errored"
    assert results["b"].result.error.error.type == "invalid_request_error"
    assert results["c"].result.type == "expired"
    listed = client.messages.batches.list(limit=5)
    assert [b.id for b in listed.data] == [batch.id]
    MessageBatch.model_validate(listed.data[0].model_dump())


def test_anthropic_cancel_and_its_canceled_results(api):
    client = anthropic.Anthropic(api_key=KEY, base_url=api.anthropic_url, max_retries=0)
    api.polls_to_end = 5
    batch = client.messages.batches.create(requests=[_anthropic_request("x", "q")])
    cancelled = client.messages.batches.cancel(batch.id)
    assert cancelled.processing_status == "canceling" and cancelled.cancel_initiated_at
    api.end(api.batches[batch.id])
    (only,) = list(client.messages.batches.results(batch.id))
    assert only.result.type == "canceled"


def test_the_fake_refuses_what_the_api_refuses(api):
    client = anthropic.Anthropic(api_key=KEY, base_url=api.anthropic_url, max_retries=0)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.batches.create(requests=[_anthropic_request("not ok!", "q")])
    api.limits["anthropic"] = (1, 10**9)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.batches.create(requests=[_anthropic_request("a", "q"),
                                                 _anthropic_request("b", "q")])
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(api_key="wrong", base_url=api.anthropic_url, max_retries=0) \
            .messages.batches.list()


def _openai_line(custom_id: str, text: str, model: str = "gpt-test") -> bytes:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": model, "messages": [{"role": "user", "content": text}]}
                       }).encode() + b"\n"


def test_the_openai_sdk_parses_every_reply(api):
    client = openai.OpenAI(api_key=KEY, base_url=api.openai_url, max_retries=0)
    api.polls_to_end = 1
    api.outcome = {"b": ("error", 400, "invalid_request_error", "bad")}
    uploaded = client.files.create(file=("in.jsonl", b"".join(_openai_line(i, f"q {i}")
                                                              for i in "abc")), purpose="batch")
    FileObject.model_validate(uploaded.model_dump())
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    Batch.model_validate(batch.model_dump())
    assert client.batches.retrieve(batch.id).status == "in_progress"
    ended = client.batches.retrieve(batch.id)
    Batch.model_validate(ended.model_dump())
    assert ended.status == "completed" and ended.request_counts.completed == 2
    out = client.files.content(ended.output_file_id).content.decode().splitlines()
    err = client.files.content(ended.error_file_id).content.decode().splitlines()
    bodies = {json.loads(x)["custom_id"]: json.loads(x) for x in out}
    for line in bodies.values():
        completion = ChatCompletion.model_validate(line["response"]["body"])
        assert completion.choices[0].message.content.startswith("answer to q ")
    (failed,) = [json.loads(x) for x in err]
    assert failed["custom_id"] == "b" and failed["response"]["status_code"] == 400
    assert [b.id for b in client.batches.list(limit=3).data] == [batch.id]
    assert client.batches.cancel(batch.id).status == "completed"  # already ended


def test_openai_expired_and_cancelled_requests_are_in_the_error_file(api):
    client = openai.OpenAI(api_key=KEY, base_url=api.openai_url, max_retries=0)
    api.polls_to_end = 3
    api.outcome = {"late": "expired"}
    up = client.files.create(file=("in.jsonl", _openai_line("late", "q") + _openai_line("ok", "q")),
                             purpose="batch")
    batch = client.batches.create(input_file_id=up.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    api.end(api.batches[batch.id])
    ended = client.batches.retrieve(batch.id)
    assert ended.status == "expired"
    (line,) = client.files.content(ended.error_file_id).content.decode().splitlines()
    assert json.loads(line)["error"]["code"] == "batch_expired"
    up2 = client.files.create(file=("in.jsonl", _openai_line("z", "q")), purpose="batch")
    second = client.batches.create(input_file_id=up2.id, endpoint="/v1/chat/completions",
                                   completion_window="24h")
    assert client.batches.cancel(second.id).status == "cancelling"
    api.end(api.batches[second.id])
    done = client.batches.retrieve(second.id)
    assert done.status == "cancelled"
    (line,) = client.files.content(done.error_file_id).content.decode().splitlines()
    assert json.loads(line)["error"]["code"] == "batch_cancelled"


def test_openai_one_model_per_file(api):
    client = openai.OpenAI(api_key=KEY, base_url=api.openai_url, max_retries=0)
    up = client.files.create(file=("in.jsonl", _openai_line("a", "q", "gpt-a")
                                   + _openai_line("b", "q", "gpt-b")), purpose="batch")
    with pytest.raises(openai.BadRequestError):
        client.batches.create(input_file_id=up.id, endpoint="/v1/chat/completions",
                              completion_window="24h")
