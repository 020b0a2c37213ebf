"""The simulator's service-protection limits, driven directly."""

from __future__ import annotations

from providers.dynamics.sim.limits import CONCURRENCY_CODE, REQUESTS_CODE, TIME_CODE, Limits


def test_the_short_window_refuses_with_the_requests_code_and_a_wait() -> None:
    limits = Limits({"rate_limit_requests": 2, "rate_limit_seconds": 30})
    for _ in range(2):
        assert limits.admit("app") is None
        limits.done("app", 1)
    refused = limits.admit("app")
    assert refused is not None and refused.code == REQUESTS_CODE
    assert "limit of 2 over time window of 30 seconds" in refused.message
    assert 29 < refused.retry_after <= 30 and refused.header == "30"
    assert limits.max_in_window() == 2
    assert limits.admit("other-app") is None, "limits are per user"


def test_a_refused_user_stays_refused_and_a_penalty_lengthens_the_wait() -> None:
    limits = Limits({"protection_requests": 1, "protection_seconds": 60, "penalty_seconds": 5})
    assert limits.admit("app") is None
    first = limits.admit("app")
    second = limits.admit("app")
    assert first is not None and second is not None
    assert second.retry_after > first.retry_after + 4


def test_concurrent_requests_over_the_limit_are_refused_at_once() -> None:
    limits = Limits({"concurrent_limit": 2})
    assert limits.admit("app") is None and limits.admit("app") is None
    refused = limits.admit("app")
    assert refused is not None and refused.code == CONCURRENCY_CODE
    limits.done("app", 1)
    assert limits.admit("app") is None


def test_execution_time_over_the_limit_is_refused() -> None:
    limits = Limits({"execution_ms_limit": 100})
    assert limits.admit("app") is None
    limits.done("app", 150)
    refused = limits.admit("app")
    assert refused is not None and refused.code == TIME_CODE


def test_headers_report_what_is_left_and_a_new_limit_starts_a_new_measurement() -> None:
    limits = Limits({"rate_limit_requests": 5, "rate_limit_seconds": 10})
    assert limits.admit("app") is None
    limits.done("app", 250)
    headers = limits.headers("app")
    assert headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "4"
    assert headers["x-ms-ratelimit-time-remaining-xrm-requests"] == "1,199,750.00"
    limits.configure({"rate_limit_requests": 50})
    assert limits.max_in_window() == 0 and limits.window == (50, 10)
    limits.configure({"rate_limit_requests": None})
    assert limits.window == (6000, 300)
