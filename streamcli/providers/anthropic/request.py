"""The Anthropic Messages API: its endpoint, and a Request as its HTTP request."""

from __future__ import annotations

import json

from streamcli.request import HttpRequest, Request

NAME = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
KEY_ENV = "ANTHROPIC_API_KEY"
URL_ENV = "ANTHROPIC_BASE_URL"
REQUEST_ID_HEADER = "request-id"
DEFAULT_MAX_TOKENS = 8192  # the API requires max_tokens; current models allow far more



def build_request(req: Request) -> HttpRequest:
    body: dict = {
        "model": req.model,
        "max_tokens": req.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages(req),
    }
    if req.system:
        body["system"] = req.system
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.stop:
        body["stop_sequences"] = list(req.stop)
    if req.tools:
        body["tools"] = [_tool(t) for t in req.tools]
    body["stream"] = req.stream
    body.update(req.extra)
    headers = {
        "anthropic-version": API_VERSION,
        "content-type": "application/json",
        "accept": "text/event-stream" if req.stream else "application/json",
    }
    if req.api_key:
        headers["x-api-key"] = req.api_key
    return HttpRequest(req.base_url.rstrip("/") + "/v1/messages", headers,
                       json.dumps(body, ensure_ascii=False).encode())


def messages(req: Request) -> list[dict]:
    """The conversation in the Messages API's form: the user turn."""
    return [{"role": "user", "content": user_content(req)}]


def user_content(req: Request):
    """The content of the user turn: the prompt."""
    return req.prompt


def _tool(tool: dict) -> dict:
    if "type" in tool:  # a server tool (web_search_20250305...): exactly as written
        return tool
    out = {k: v for k, v in tool.items() if v is not None}  # keeps e.g. cache_control
    out["input_schema"] = tool.get("input_schema") or {"type": "object"}
    return out
