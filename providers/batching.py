"""Cutting a push into calls, and sending parts so a late failure keeps earlier results.

Every batching client needs the same three moves: chunks of at most ``size`` (some CRMs also
refuse one record twice in a call), parts sent in turn, and a whole batch the CRM refused cut
in halves until the record at fault is alone. What "refused" and "at fault" mean stays with
each client.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from providers.base import PushItem, PushResult
from syncsvc.errors import SyncError

T = TypeVar("T")
Send = Callable[[T], list[PushResult]]
ItemsOf = Callable[[T], Iterable[PushItem]]


def partition(prepared: Iterable[T | PushResult]) -> tuple[list[T], list[PushResult]]:
    """What can be sent, and the results of the items that cannot (bad payload, no key)."""
    ready: list[T] = []
    failed: list[PushResult] = []
    for one in prepared:
        if isinstance(one, PushResult):
            failed.append(one)
        else:
            ready.append(one)
    return ready, failed


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """Consecutive chunks of at most ``size``."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def unique_chunks(
    items: Sequence[T], size: int, key: Callable[[T], Hashable | None]
) -> list[list[T]]:
    """Chunks of at most ``size`` in which no key appears twice (``None`` never clashes).

    Each item goes into the first chunk with room that does not hold its key yet.
    """
    out: list[list[T]] = []
    keys: list[set[Hashable]] = []
    for item in items:
        value = key(item)
        for chunk, seen in zip(out, keys, strict=True):
            if len(chunk) < size and (value is None or value not in seen):
                break
        else:
            chunk, seen = [], set()
            out.append(chunk)
            keys.append(seen)
        chunk.append(item)
        if value is not None:
            seen.add(value)
    return out


def in_parts(parts: Sequence[T], send: Send[T], items_of: ItemsOf[T]) -> list[PushResult]:
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


def in_halves(
    items: Sequence[T], send: Send[list[T]], item_of: Callable[[T], PushItem]
) -> list[PushResult]:
    """Send the two halves of a batch the CRM refused as a whole. ``send`` is the caller's own
    batch writer, which halves again on refusal, so the record at fault ends up alone."""
    half = len(items) // 2
    return in_parts([list(items[:half]), list(items[half:])], send, lambda part: map(item_of, part))
