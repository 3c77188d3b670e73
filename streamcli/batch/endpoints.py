"""Where a recorded batch's calls go, found again without stored credentials.

Where a recorded batch's calls go. The ledger keeps each batch's URL without its
credentials (a user:password@ part, a ?key= parameter: shown as ***); a later command
finds them again in the provider's own settings (config file, *_BASE_URL), never on disk.
"""

from __future__ import annotations

from streamcli.config import Target, resolve
from streamcli.errors import UsageError
from streamcli.redact import MASK, without_password


def recorded(url: str) -> str:
    """`url` as the ledger keeps it."""
    return without_password(url)


def target_of(batch, config: dict, environ, headers: tuple) -> Target:
    """The target of recorded `batch`: its provider (key looked up again), at its URL."""
    args = dict(model=batch.model, provider=batch.provider, provider_is_flag=True,
                environ=environ, headers=headers)
    if MASK not in batch.base_url:
        return resolve(config, base_url=batch.base_url, **args)
    own = resolve(config, base_url=None, **args)  # the provider's URL, credentials and all
    if recorded(own.base_url) != batch.base_url:
        raise UsageError(f"batch {batch.id} went to {batch.base_url}, whose credentials "
                         f"are not kept: set that URL as the provider's base URL (config "
                         f"file or *_BASE_URL) to reach it again")
    return own
