"""BudgetWatch: a 429 that keeps coming after its waits were kept is the daily budget."""

from __future__ import annotations

import pytest

from providers.pipedrive.budget import BudgetWatch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def refused_in_turn(watch: BudgetWatch, clock: Clock, times: int) -> list[tuple[float, bool]]:
    """``times`` 429s, each answered after the wait the previous one asked for."""
    answers = []
    for _ in range(times):
        wait, daily = watch.throttled(2.0)
        answers.append((wait, daily))
        clock.now += wait
    return answers


def test_burst_429s_wait_the_window_until_the_third_kept_wait(clock: Clock) -> None:
    watch = BudgetWatch(clock=clock)
    answers = refused_in_turn(watch, clock, 6)
    assert answers == [
        (2.0, False),
        (2.0, False),
        (4.0, True),
        (8.0, True),
        (16.0, True),
        (32.0, True),
    ]


def test_an_answer_between_429s_ends_the_streak(clock: Clock) -> None:
    watch = BudgetWatch(clock=clock)
    for _ in range(10):
        assert watch.throttled(2.0) == (2.0, False)
        clock.now += 2.0
        watch.answered()
    assert watch.refused_for() == 0.0


def test_429s_of_calls_sent_during_a_wait_are_not_strikes(clock: Clock) -> None:
    watch = BudgetWatch(clock=clock)
    assert watch.throttled(2.0) == (2.0, False)
    for _ in range(5):  # other threads' calls, already on their way
        clock.now += 0.1
        wait, daily = watch.throttled(2.0)
        assert not daily
        assert wait == pytest.approx(2.0)
    clock.now += 2.0
    assert watch.throttled(2.0)[1] is False  # the second strike only


def test_a_suspected_budget_answers_early_calls_with_what_is_left_of_the_wait(clock: Clock) -> None:
    watch = BudgetWatch(clock=clock)
    refused_in_turn(watch, clock, 4)  # waits 2, 2, 4, 8: the last one runs until now + 8
    clock.now -= 5.0  # a call sent 3 s into that 8-s wait
    wait, daily = watch.throttled(2.0)
    assert daily
    assert wait == pytest.approx(5.0)


def test_the_wait_stops_growing_at_the_cap(clock: Clock) -> None:
    watch = BudgetWatch(cap=60.0, clock=clock)
    answers = refused_in_turn(watch, clock, 12)
    assert max(w for w, _ in answers) == 60.0
    assert watch.refused_for() == pytest.approx(sum(w for w, _ in answers))


def test_a_longer_header_wait_is_kept(clock: Clock) -> None:
    watch = BudgetWatch(clock=clock)
    assert watch.throttled(7.0) == (7.0, False)
