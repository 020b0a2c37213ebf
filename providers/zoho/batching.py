"""Cutting a push into Zoho calls: one duplicate-check field per upsert call, at most 100
records per call, and no record twice in one call."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from providers.base import PushItem, PushResult
from syncsvc.errors import SyncError

Pair = tuple[PushItem, dict[str, Any]]
"""An item and the Zoho record built from it."""
T = TypeVar("T")


def chunk_pairs(
    pairs: Sequence[Pair], size: int, key: Callable[[Pair], str | None]
) -> list[list[Pair]]:
    """Chunks of at most ``size``; a record key appears at most once per chunk (Zoho applies a
    call's records one by one, so two writes of one record in one call race each other)."""
    chunks: list[list[Pair]] = []
    seen: list[set[str]] = []
    for pair in pairs:
        value = key(pair)
        for chunk, keys in zip(chunks, seen, strict=True):
            if len(chunk) < size and (value is None or value not in keys):
                break
        else:
            chunk, keys = [], set()
            chunks.append(chunk)
            seen.append(keys)
        chunk.append(pair)
        if value is not None:
            keys.add(value)
    return chunks


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


def in_parts(
    parts: Sequence[T],
    send: Callable[[T], list[PushResult]],
    items_of: Callable[[T], Iterable[PushItem]],
) -> list[PushResult]:
    """Send parts in turn. A failure after some part went through is reported per item for the
    parts not sent, so the results already in hand are not thrown away."""
    results: list[PushResult] = []
    for number, part in enumerate(parts):
        try:
            results.extend(send(part))
        except SyncError as exc:
            if not results:
                raise
            for rest in parts[number:]:
                results.extend(PushResult(item.outbox_id, error=exc) for item in items_of(rest))
            break
    return results
