"""Metrics figures: computed at most once per max age, one computation shared by concurrent
scrapes, nothing kept from a computation that failed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from syncsvc.api.metrics import Cached


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_figures_are_reused_until_they_are_older_than_the_max_age() -> None:
    clock = Clock()
    calls: list[float] = []
    cached = Cached(lambda: calls.append(clock.now) or len(calls), 15.0, clock)
    assert [cached.get() for _ in range(5)] == [1] * 5
    clock.now += 14.9
    assert cached.get() == 1
    clock.now += 0.1
    assert cached.get() == 2
    assert calls == [1000.0, 1015.0]


def test_concurrent_scrapes_wait_for_one_computation_and_share_it() -> None:
    started, release = threading.Event(), threading.Event()
    calls = 0

    def compute() -> int:
        nonlocal calls
        calls += 1
        started.set()
        assert release.wait(30)
        return calls

    cached = Cached(compute, 60.0)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cached.get) for _ in range(8)]
        assert started.wait(30)
        release.set()
        assert [f.result(timeout=30) for f in futures] == [1] * 8
    assert calls == 1


def test_a_failed_computation_is_not_kept() -> None:
    outcomes: list[BaseException | int] = [RuntimeError("database down"), 7]

    def compute() -> int:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    cached = Cached(compute, 60.0)
    with pytest.raises(RuntimeError):
        cached.get()
    assert cached.get() == 7
