"""How often a backfill's runner counts its progress: seldom enough that counting stays cheap."""

from __future__ import annotations

import pytest

from syncsvc.backfill.runner import REFRESH_MAX_SECONDS, REFRESH_SECONDS, refresh_interval


@pytest.mark.parametrize(
    ("took", "interval"),
    [(0.0, REFRESH_SECONDS), (0.01, REFRESH_SECONDS), (0.2, 4.0), (0.5, 10.0)],
)
def test_a_slow_refresh_takes_at_most_a_twentieth_of_the_time(took: float, interval: float) -> None:
    assert refresh_interval(took) == pytest.approx(interval)


def test_the_end_is_still_seen_within_the_longest_interval() -> None:
    assert refresh_interval(60.0) == REFRESH_MAX_SECONDS
