"""Chunking, sending in parts and halving a refused batch (the helpers every client shares)."""

from __future__ import annotations

import pytest

from providers.base import PushItem, PushResult
from providers.batching import chunks, in_halves, in_parts, unique_chunks
from syncsvc.errors import PermanentError, RetryableError


def item(n: int) -> PushItem:
    return PushItem(n, "contacts", "upsert", str(n), "key", str(n), {}, None, 1)


def test_chunks_are_consecutive_and_at_most_the_size() -> None:
    assert chunks(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert chunks([], 3) == []


def test_unique_chunks_never_hold_a_key_twice_and_fill_the_first_chunk_with_room() -> None:
    keys = ["a", "a", "b", None, None, "a", "c"]
    parts = unique_chunks(list(enumerate(keys)), 3, lambda pair: pair[1])
    assert [[k for _, k in part] for part in parts] == [["a", "b", None], ["a", None, "c"], ["a"]]
    assert len(unique_chunks(["x", "x", "x"], 5, lambda one: None)) == 1


def test_in_parts_raises_when_nothing_went_through() -> None:
    def fail(part: list[PushItem]) -> list[PushResult]:
        raise RetryableError("down")

    with pytest.raises(RetryableError):
        in_parts([[item(1)], [item(2)]], fail, lambda part: part)


def test_in_parts_keeps_the_results_in_hand_and_fails_the_rest_item_by_item() -> None:
    def send(part: list[PushItem]) -> list[PushResult]:
        if part[0].outbox_id == 3:
            raise RetryableError("throttled")
        return [PushResult(i.outbox_id, external_id=f"x{i.outbox_id}") for i in part]

    results = in_parts([[item(1), item(2)], [item(3)], [item(4)]], send, lambda part: part)
    assert [(r.outbox_id, r.ok) for r in results] == [(1, True), (2, True), (3, False), (4, False)]
    assert all(isinstance(r.error, RetryableError) for r in results[2:])


def test_in_halves_isolates_the_record_a_whole_batch_was_refused_for() -> None:
    calls: list[list[int]] = []

    def write(part: list[PushItem]) -> list[PushResult]:
        calls.append([i.outbox_id for i in part])
        if any(i.outbox_id == 5 for i in part):
            if len(part) == 1:
                return [PushResult(5, error=PermanentError("bad", code="BAD"))]
            return in_halves(part, write, lambda i: i)
        return [PushResult(i.outbox_id) for i in part]

    results = {r.outbox_id: r for r in write([item(n) for n in range(1, 9)])}
    assert sorted(n for n, r in results.items() if not r.ok) == [5]
    assert len(results) == 8
    assert calls == [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4], [5, 6, 7, 8], [5, 6], [5], [6], [7, 8]]
