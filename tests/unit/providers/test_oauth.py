"""The shared token cache and the refresh-once-on-refusal call."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from providers.oauth import Issued, TokenCache, call_with_refresh, refresh_grant, unauthorized
from syncsvc.errors import CredentialsRefused


class Endpoint:
    """A token endpoint that hands out t1, t2, … living ``lifetime`` seconds."""

    def __init__(self, lifetime: float | None = 100.0, delay: float = 0.0) -> None:
        self.lifetime = lifetime
        self.delay = delay
        self.calls = 0

    def __call__(self) -> Issued:
        self.calls += 1
        time.sleep(self.delay)
        return Issued(f"t{self.calls}", self.lifetime)


def answer(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b"{}"
    return response


def test_a_token_is_renewed_within_the_margin_before_it_expires() -> None:
    now = [0.0]
    endpoint = Endpoint(lifetime=100.0)
    cache = TokenCache(endpoint, clock=lambda: now[0], max_margin=60.0)
    assert cache.token() == "t1"
    now[0] = 49.9  # margin: min(60, 100 / 2) = 50
    assert cache.token() == "t1"
    now[0] = 50.0
    assert cache.token() == "t2"
    assert endpoint.calls == 2


def test_the_margin_share_and_ceiling_are_the_callers() -> None:
    now = [0.0]
    cache = TokenCache(
        Endpoint(lifetime=3600.0), clock=lambda: now[0], max_margin=120.0, margin_share=0.25
    )
    assert cache.token() == "t1"
    now[0] = 3479.9
    assert cache.token() == "t1"
    now[0] = 3480.0
    assert cache.token() == "t2"


def test_a_token_without_a_lifetime_lives_until_it_is_refused() -> None:
    now = [0.0]
    cache = TokenCache(Endpoint(lifetime=None), clock=lambda: now[0])
    assert cache.token() == "t1"
    now[0] = 1e9
    assert cache.token() == "t1"
    assert cache.refresh(stale="t1") == "t2"


def test_many_threads_share_one_token_request_and_a_stale_refresh_is_skipped() -> None:
    endpoint = Endpoint(delay=0.05)
    cache = TokenCache(endpoint)
    threads = [threading.Thread(target=cache.token) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert endpoint.calls == 1
    assert cache.refresh(stale="t1") == "t2"
    assert cache.refresh(stale="t1") == "t2"  # another thread already replaced t1
    assert endpoint.calls == 2


def test_a_fixed_token_is_never_refreshed() -> None:
    cache = TokenCache(None, token="fixed")
    assert (cache.token(), cache.refresh(stale="fixed"), cache.refreshable) == (
        "fixed",
        "fixed",
        False,
    )


def test_refresh_grant_needs_all_three_values() -> None:
    full = {"refresh_token": "r", "client_id": "c", "client_secret": "s", "other": "x"}
    assert refresh_grant(full) == {"refresh_token": "r", "client_id": "c", "client_secret": "s"}
    assert refresh_grant({**full, "client_secret": ""}) is None


def test_a_refused_token_is_renewed_once_and_refused_again_is_credentials_refused() -> None:
    sent: list[str] = []
    statuses = [401, 200]
    cache = TokenCache(Endpoint())

    def send(token: str) -> requests.Response:
        sent.append(token)
        return answer(statuses.pop(0))

    assert call_with_refresh(cache, send, unauthorized, str).status_code == 200
    assert sent == ["t1", "t2"]
    statuses[:] = [401, 401]
    with pytest.raises(CredentialsRefused):
        call_with_refresh(cache, send, unauthorized, lambda r: "refused twice")
    assert sent == ["t1", "t2", "t2", "t3"]


def test_a_fixed_token_that_is_refused_is_not_sent_again() -> None:
    sent: list[str] = []

    def send(token: str) -> requests.Response:
        sent.append(token)
        return answer(401)

    response = call_with_refresh(TokenCache(None, token="pat"), send, unauthorized, str)
    assert response.status_code == 401 and sent == ["pat"]
