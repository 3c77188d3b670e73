"""The Anthropic Messages API: its endpoint, and a Request as its HTTP request."""

from __future__ import annotations

from streamcli import jsonbody
from streamcli.headers import apply as apply_headers
from streamcli.request import HttpRequest, Request

NAME = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
KEY_ENV = "ANTHROPIC_API_KEY"
URL_ENV = "ANTHROPIC_BASE_URL"
REQUEST_ID_HEADER = "request-id"
AUTH_HEADER = "x-api-key"
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
    if req.schema is not None:
        # Structured outputs: output_config.format of type json_schema (platform.claude.com/
        # docs/en/build-with-claude/structured-outputs; it replaced the beta output_format).
        body["output_config"] = {"format": {"type": "json_schema", "schema": req.schema.json}}
    body["stream"] = req.stream
    body.update(req.extra)
    headers = {
        "anthropic-version": API_VERSION,
        "content-type": "application/json",
        "accept": "text/event-stream" if req.stream else "application/json",
    }
    if req.api_key:
        headers[AUTH_HEADER] = req.api_key
    return HttpRequest(req.base_url.rstrip("/") + "/v1/messages",
                       apply_headers(headers, req.headers), jsonbody.encode(body))


def messages(req: Request) -> list[dict]:
    """The conversation in the Messages API's form: the earlier turns, then the user turn
    (the system prompt is a field of its own)."""
    out = [{"role": m.role, "content": _content(m.content)} for m in req.history]
    out.append({"role": "user", "content": user_content(req)})
    return out


def _content(blocks: tuple[str, ...]):
    """One text block as a plain string, several as text content blocks."""
    if len(blocks) == 1:
        return blocks[0]
    return [{"type": "text", "text": text} for text in blocks]


def user_content(req: Request):
    """The content of the user turn: the prompt alone as a string, or with attachments a
    list of content blocks, the attachments first, in command-line order ("Claude works
    best when images come before text", the vision guide)."""
    if not req.attachments:
        return req.prompt
    blocks = [attachment_block(att) for att in req.attachments]
    if req.prompt:
        blocks.append({"type": "text", "text": req.prompt})
    return blocks


def attachment_block(att) -> dict:
    """An `image` or `document` content block (platform.claude.com/docs/en/build-with-claude/
    vision and .../pdf-support): a base64 or url source; a text file as a document with a
    text source and the file name as its title (.../citations: plain text documents)."""
    if att.kind == "text":
        return {"type": "document", "title": att.name,
                "source": {"type": "text", "media_type": "text/plain", "data": att.text}}
    kind = "image" if att.kind == "image" else "document"
    if att.url is not None:
        return {"type": kind, "source": {"type": "url", "url": att.url}}
    block = {"type": kind,
             "source": {"type": "base64", "media_type": att.mime, "data": att.base64()}}
    if kind == "document":
        block["title"] = att.name
    return block


def _tool(tool: dict) -> dict:
    if "type" in tool:  # a server tool (web_search_20250305...): exactly as written
        return tool
    out = {k: v for k, v in tool.items() if v is not None}  # keeps e.g. cache_control
    out["input_schema"] = tool.get("input_schema") or {"type": "object"}
    return out
