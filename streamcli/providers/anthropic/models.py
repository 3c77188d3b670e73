"""The Anthropic Models API: the request and the pages of `GET /v1/models`.

Newest first; `has_more` and `last_id`, sent back as `after_id`, lead to the next page.
"""

from __future__ import annotations

from streamcli.providers.anthropic.request import API_VERSION
from streamcli.request import HttpRequest

PAGE_SIZE = 1000  # the largest page the API serves


def list_models_request(base_url: str, api_key: str | None, after: str | None = None) -> HttpRequest:
    url = f"{base_url.rstrip('/')}/v1/models?limit={PAGE_SIZE}"
    if after is not None:
        from urllib.parse import quote  # only for a second page
        url += f"&after_id={quote(after, safe='')}"
    headers = {"accept": "application/json", "anthropic-version": API_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    return HttpRequest(url, headers, b"", method="GET")


def models_page(obj: dict) -> tuple[list, str | None]:
    """The model objects of one page, and the cursor of the next one (None: the last)."""
    data = obj.get("data")
    if not isinstance(data, list):
        raise ValueError("no `data` list of models")
    if obj.get("has_more") is not True:
        return data, None
    last = obj.get("last_id")
    if not isinstance(last, str) or not last:
        raise ValueError("has_more without a last_id to continue from")
    return data, last
