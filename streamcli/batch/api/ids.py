"""The custom_id each item is known by in one provider batch, and back.

The custom_id each item is known by in one provider batch: its own id when the API
accepts it (and no other request of the batch has it yet), else a generated one that
does; the ledger keeps the mapping, so results come back under the item's own id.
"""

from __future__ import annotations


class CustomIds:
    def __init__(self, pattern=None) -> None:
        """`pattern`: the ids the API accepts (None: any string)."""
        self.pattern = pattern
        self.used: set[str] = set()

    def __call__(self, item_id: str, index: int) -> str:
        ident = item_id
        if (self.pattern is not None and not self.pattern.fullmatch(ident)) \
                or ident in self.used:
            ident, n = f"item-{index}", 1
            while ident in self.used:
                n += 1
                ident = f"item-{index}-{n}"
        self.used.add(ident)
        return ident
