"""Sizing Dataverse batches by the time their answers took, without a server."""

from __future__ import annotations

from providers.dynamics.sizing import START, BatchSizer


def test_the_first_batch_is_modest_and_never_above_the_connections_batch_size() -> None:
    assert BatchSizer(1000, 30).size("contacts") == START
    assert BatchSizer(40, 30).size("contacts") == 40


def test_fast_answers_grow_the_batch_at_most_twofold_up_to_the_ceiling() -> None:
    sizer = BatchSizer(1000, 30)
    sizes = []
    for _ in range(6):
        size = sizer.size("contacts")
        sizes.append(size)
        sizer.answered("contacts", size, size * 0.001)
    assert sizes == [100, 200, 400, 800, 1000, 1000]


def test_slow_answers_size_the_next_batch_to_a_third_of_the_read_timeout() -> None:
    sizer = BatchSizer(1000, 30)
    sizer.answered("contacts", 100, 5.0)  # 50 ms a request: 10 s / 0.05 = 200
    assert sizer.size("contacts") == 200
    sizer.answered("contacts", 200, 20.0)  # slower now (100 ms): the estimate rises at once
    assert sizer.size("contacts") == 100


def test_a_faster_answer_lowers_the_estimate_by_halves() -> None:
    sizer = BatchSizer(1000, 30)
    sizer.answered("contacts", 100, 10.0)  # 100 ms a request → 100
    sizer.answered("contacts", 100, 0.0)  # estimate 50 ms → 200, not the ceiling at once
    assert sizer.size("contacts") == 200


def test_a_timeout_shrinks_the_next_batch_at_once_to_fit_the_budget() -> None:
    sizer = BatchSizer(1000, 30, start=900)
    sizer.timed_out("contacts", 900)  # ≥ 33 ms a request: 10 s fits 300
    assert sizer.size("contacts") == 300
    sizer.answered("contacts", 300, 9.0)  # 30 ms: stays under the bound the timeout set
    assert sizer.size("contacts") <= 333


def test_a_timeout_of_one_request_leaves_batches_of_one() -> None:
    sizer = BatchSizer(1000, 30)
    sizer.timed_out("contacts", 1)
    assert sizer.size("contacts") == 1


def test_a_server_error_halves_the_batch() -> None:
    sizer = BatchSizer(1000, 30)
    sizer.failed("contacts")
    assert sizer.size("contacts") == START // 2


def test_each_table_keeps_its_own_pace() -> None:
    sizer = BatchSizer(1000, 30)
    sizer.timed_out("accounts", 100)
    sizer.answered("contacts", 100, 0.1)
    assert sizer.size("accounts") == 33
    assert sizer.size("contacts") == 200
