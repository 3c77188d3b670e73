"""OpenAI Chat Completions: its endpoint, and a Request as its HTTP request.

Compatible servers (vLLM, llama.cpp, Ollama, OpenRouter...) speak the same protocol.
"""

from __future__ import annotations

from streamcli import jsonbody
from streamcli.headers import apply as apply_headers
from streamcli.request import HttpRequest, Request

NAME = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_ENV = "OPENAI_API_KEY"
URL_ENV = "OPENAI_BASE_URL"
REQUEST_ID_HEADER = "x-request-id"
AUTH_HEADER = "authorization"

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
    if req.schema is not None:
        body["response_format"] = response_format(req.schema)
    body["stream"] = req.stream
    if req.stream:
        body["stream_options"] = {"include_usage": True}
    body.update(req.extra)
    return bearer_post(req, "/chat/completions", body)


def bearer_post(req: Request, path: str, body: dict) -> HttpRequest:
    """An OpenAI-style POST of `body` to `path` under the base URL: JSON, the key as a
    bearer token, the user's headers over these (the Responses API's too)."""
    headers = {
        "content-type": "application/json",
        "accept": "text/event-stream" if req.stream else "application/json",
    }
    if req.api_key:
        headers[AUTH_HEADER] = f"Bearer {req.api_key}"
    return HttpRequest(req.base_url.rstrip("/") + path,
                       apply_headers(headers, req.headers), jsonbody.encode(body))


def response_format(schema) -> dict:
    """Structured outputs as `response_format` of type json_schema, strict when the schema
    qualifies (developers.openai.com/api/docs/guides/structured-outputs); llama.cpp, vLLM
    and Ollama take the same field."""
    return {"type": "json_schema",
            "json_schema": {"name": schema.name, "schema": schema.json, "strict": schema.strict}}


def messages(req: Request) -> list[dict]:
    """The conversation in Chat Completions' form: the system prompt, the earlier turns,
    the user turn."""
    out = []
    if req.system:
        out.append({"role": "system", "content": req.system})
    out.extend({"role": m.role, "content": _content(m.content)} for m in req.history)
    out.append({"role": "user", "content": user_content(req)})
    return out


def _content(parts: tuple[str, ...]):
    """One text part as a plain string, several as text content parts."""
    if len(parts) == 1:
        return parts[0]
    return [{"type": "text", "text": text} for text in parts]


def user_content(req: Request):
    """The content of the user turn: the prompt alone as a string, or with attachments a
    list of content parts, the attachments first, in command-line order."""
    if not req.attachments:
        return req.prompt
    parts = [attachment_part(att) for att in req.attachments]
    if req.prompt:
        parts.append({"type": "text", "text": req.prompt})
    return parts


def attachment_part(att) -> dict:
    """An `image_url` part (a URL, or a data URL for a file: developers.openai.com/api/docs/
    guides/images-vision), a `file` part for a PDF with `filename` and `file_data` as a
    data URL (.../pdf-files), or a text file as a text part headed by its name."""
    if att.kind == "text":
        return {"type": "text", "text": f"{att.name}:\n\n{att.text}"}
    if att.kind == "image":
        return {"type": "image_url", "image_url": {"url": att.url or att.data_url()}}
    return {"type": "file", "file": {"filename": att.name, "file_data": att.data_url()}}


def _tool(tool: dict) -> dict:
    if "type" in tool:  # a built-in tool type: exactly as written
        return tool
    # Only the fields a function tool has here: Anthropic extras (cache_control) would be
    # rejected as unknown arguments.
    function = {k: tool[k] for k in ("name", "description", "strict") if tool.get(k) is not None}
    function["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
    return {"type": "function", "function": function}
