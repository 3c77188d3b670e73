"""OpenAI and compatible servers: the request and the one page of `GET /models`."""

from __future__ import annotations

from streamcli.request import HttpRequest


def list_models_request(base_url: str, api_key: str | None, after: str | None = None) -> HttpRequest:
    headers = {"accept": "application/json"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return HttpRequest(base_url.rstrip("/") + "/models", headers, b"", method="GET")


def models_page(obj: dict) -> tuple[list, str | None]:
    """The model objects of one response, and the cursor of the next page (None)."""
    data = obj.get("data")
    if not isinstance(data, list):
        raise ValueError("no `data` list of models")
    return data, None
