"""OpenAI Chat Completions: its endpoint, and a Request as its HTTP request.

Compatible servers (vLLM, llama.cpp, Ollama, OpenRouter...) speak the same protocol.
"""

from __future__ import annotations

import json

from streamcli.request import HttpRequest, Request

NAME = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_ENV = "OPENAI_API_KEY"
URL_ENV = "OPENAI_BASE_URL"
REQUEST_ID_HEADER = "x-request-id"



def is_official(base_url: str) -> bool:
    return "://api.openai.com" in base_url


def build_request(req: Request) -> HttpRequest:
    body: dict = {"model": req.model, "messages": messages(req)}
    if req.max_tokens is not None:
        # OpenAI's own API wants max_completion_tokens (reasoning models reject
        # max_tokens); compatible servers (llama.cpp, older vLLM) know only max_tokens.
        key = "max_completion_tokens" if is_official(req.base_url) else "max_tokens"
        body[key] = req.max_tokens
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.stop:
        body["stop"] = list(req.stop)
    if req.tools:
        body["tools"] = [_tool(t) for t in req.tools]
    body["stream"] = req.stream
    if req.stream:
        body["stream_options"] = {"include_usage": True}
    body.update(req.extra)
    headers = {
        "content-type": "application/json",
        "accept": "text/event-stream" if req.stream else "application/json",
    }
    if req.api_key:
        headers["authorization"] = f"Bearer {req.api_key}"
    return HttpRequest(req.base_url.rstrip("/") + "/chat/completions", headers,
                       json.dumps(body, ensure_ascii=False).encode())


def messages(req: Request) -> list[dict]:
    """The conversation in Chat Completions' form: the system prompt, the user turn."""
    out = []
    if req.system:
        out.append({"role": "system", "content": req.system})
    out.append({"role": "user", "content": user_content(req)})
    return out


def user_content(req: Request):
    """The content of the user turn: the prompt."""
    return req.prompt


def _tool(tool: dict) -> dict:
    if "type" in tool:  # a built-in tool type: exactly as written
        return tool
    # Only the fields a function tool has here: Anthropic extras (cache_control) would be
    # rejected as unknown arguments.
    function = {k: tool[k] for k in ("name", "description", "strict") if tool.get(k) is not None}
    function["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
    return {"type": "function", "function": function}
