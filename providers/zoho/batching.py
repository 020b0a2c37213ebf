"""Cutting a push into Zoho calls: one duplicate-check field per upsert call, at most 100
records per call, and no record twice in one call (Zoho applies a call's records one by one, so
two writes of one record in one call race each other)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from providers.base import PushItem

Pair = tuple[PushItem, dict[str, Any]]
"""An item and the Zoho record built from it."""


def by_id_property(op: str, pairs: Sequence[Pair]) -> dict[str | None, list[Pair]]:
    """Upserts name their duplicate-check field per call: one group per key field."""
    groups: dict[str | None, list[Pair]] = {}
    for pair in pairs:
        groups.setdefault(pair[0].id_property if op == "upsert" else None, []).append(pair)
    return groups


def key_of(op: str, id_property: str | None) -> Callable[[Pair], str | None]:
    """What identifies a record within one call: its Zoho id (update) or our key (upsert)."""
    if op == "update":
        return lambda pair: str(pair[1].get("id"))
    if op == "upsert" and id_property:
        prop = id_property
        return lambda pair: str(pair[1].get(prop))
    return lambda pair: None


def id_chunks(
    targets: Sequence[tuple[PushItem, str]], size: int
) -> list[list[tuple[PushItem, str]]]:
    """Delete targets in chunks of at most ``size`` distinct Zoho ids."""
    chunks: list[list[tuple[PushItem, str]]] = []
    ids: list[set[str]] = []
    for target in targets:
        if not chunks or (target[1] not in ids[-1] and len(ids[-1]) >= size):
            chunks.append([])
            ids.append(set())
        chunks[-1].append(target)
        ids[-1].add(target[1])
    return chunks
