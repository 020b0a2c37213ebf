"""The preview's patient throttle: our limiter's waits and a CRM-side window's (a search
limit) come out of one budget of ``MAX_WAIT`` seconds; only passed acquisitions count as
calls."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from syncsvc.errors import RateLimited
from syncsvc.preview import crmread
from syncsvc.preview.crmread import PatientThrottle


def refusing(times: int, wait: float) -> Callable[[], str]:
    """Refuses ``times`` times, asking for ``wait`` s each, then answers."""
    left = [times]

    def attempt() -> str:
        if left[0]:
            left[0] -= 1
            raise RateLimited("wait", wait)
        return "read"

    return attempt


def acquiring(attempt: Callable[[], str]) -> Callable[[], None]:
    """``attempt`` as the limiter's ``acquire`` (which answers nothing)."""

    def acquire() -> None:
        attempt()

    return acquire


def test_waits_of_the_limiter_and_of_the_crm_share_one_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crmread, "MAX_WAIT", 0.05)
    throttle = PatientThrottle(acquiring(refusing(2, 0.01)))
    throttle()
    assert throttle.calls == 1 and throttle.waited == pytest.approx(0.02)
    assert throttle.patiently(refusing(1, 0.02)) == "read"
    assert throttle.waited == pytest.approx(0.04)
    with pytest.raises(RateLimited):
        throttle.patiently(refusing(1, 0.02))  # 0.06 s in all would be over the budget
    with pytest.raises(RateLimited):
        PatientThrottle(acquiring(refusing(1, 0.1)))()
    assert throttle.calls == 1
