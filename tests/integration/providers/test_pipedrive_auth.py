"""Pipedrive credentials over real HTTP: API token, OAuth refresh through ``token_url``,
expiry mid-run, proactive refresh, and one refresh for many threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from providers.base import ConnectionInfo, PushItem
from providers.pipedrive import PipedriveClient
from providers.pipedrive.sim import PipedriveSim, make_simulator
from providers.simulation import SimServer
from syncsvc.demo.system import example_sim_options
from syncsvc.errors import ConfigError, CredentialsRefused
from tests.integration.providers.helpers import OAUTH, serving
from tests.support.wait import wait_until


@pytest.fixture
def sim() -> Iterator[tuple[SimServer, PipedriveSim]]:
    with serving(make_simulator(example_sim_options("pipedrive"))) as started:
        yield started


def client(server: SimServer, credentials: dict[str, Any], **options: Any) -> PipedriveClient:
    options.setdefault("token_url", server.url + "/oauth/token")
    info = ConnectionInfo(1, "t", "pipedrive", server.url, credentials, options, 50, 80, 2)
    return PipedriveClient(info)


def org(n: int) -> PushItem:
    payload = {"name": f"Org {n}", "syncsvc_id": str(n)}
    return PushItem(n, "organizations", "create", str(n), "syncsvc_id", str(n), payload, None, 1)


def stats(server: SimServer) -> dict[str, Any]:
    result: dict[str, Any] = requests.get(server.url + "/_sim/stats", timeout=5).json()
    return result


def test_api_token_goes_in_the_x_api_token_header(sim: tuple[SimServer, PipedriveSim]) -> None:
    pd = client(sim[0], {"api_token": "demo-api-token"})
    assert pd.push("organizations", "create", [org(1)])[0].ok
    assert stats(sim[0])["tokens_issued"] == 0
    # the older query parameter still authenticates against the simulator
    answer = requests.get(sim[0].url + "/api/v2/organizations?api_token=demo-api-token", timeout=5)
    assert answer.status_code == 200


def test_oauth_gets_one_token_for_many_calls(sim: tuple[SimServer, PipedriveSim]) -> None:
    pd = client(sim[0], OAUTH)
    results = pd.push("organizations", "create", [org(n) for n in range(1, 6)])
    assert all(r.ok for r in results)
    assert stats(sim[0])["tokens_issued"] == 1


def test_tokens_expired_mid_run_are_refreshed_once_and_the_call_repeated(
    sim: tuple[SimServer, PipedriveSim],
) -> None:
    pd = client(sim[0], OAUTH)
    assert pd.push("organizations", "create", [org(1)])[0].ok
    requests.post(sim[0].url + "/_sim/config", json={"expire_tokens": True}, timeout=5)
    assert all(r.ok for r in pd.push("organizations", "create", [org(2), org(3)]))
    counts = stats(sim[0])
    assert counts["tokens_issued"] == 2
    assert counts["auth_expired"] == 1
    assert len(sim[1].dump("organizations")) == 3


def test_a_short_lived_token_is_refreshed_before_it_expires(
    sim: tuple[SimServer, PipedriveSim],
) -> None:
    requests.post(sim[0].url + "/_sim/config", json={"token_ttl": 1}, timeout=5)
    pd = client(sim[0], OAUTH)
    numbers = iter(range(1, 1000))

    def refreshed() -> bool:
        assert pd.push("organizations", "create", [org(next(numbers))])[0].ok
        return int(stats(sim[0])["tokens_issued"]) >= 2

    wait_until(refreshed, timeout=30, interval=0.1)
    assert stats(sim[0])["auth_expired"] == 0


def test_many_threads_share_one_refresh(sim: tuple[SimServer, PipedriveSim]) -> None:
    pd = client(sim[0], OAUTH)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            assert pd.push("organizations", "create", [org(n)])[0].ok
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert stats(sim[0])["tokens_issued"] == 1
    assert len(sim[1].dump("organizations")) == 8


def test_a_refused_refresh_is_credentials_refused(sim: tuple[SimServer, PipedriveSim]) -> None:
    pd = client(sim[0], {**OAUTH, "client_secret": "wrong"})
    with pytest.raises(CredentialsRefused) as caught:
        pd.push("organizations", "create", [org(1)])
    assert caught.value.code == "OAUTH_REFRESH_REFUSED"
    assert "Invalid client" in str(caught.value)


def test_token_url_may_hold_an_environment_reference(
    sim: tuple[SimServer, PipedriveSim], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PD_TEST_SIM_URL", sim[0].url)
    pd = client(sim[0], OAUTH, token_url="${PD_TEST_SIM_URL:-http://127.0.0.1:9}/oauth/token")
    assert pd.token_url == sim[0].url + "/oauth/token"
    assert pd.push("organizations", "create", [org(1)])[0].ok


def test_credentials_without_a_token_or_oauth_trio_fail_at_start(
    sim: tuple[SimServer, PipedriveSim],
) -> None:
    with pytest.raises(ConfigError):
        client(sim[0], {"client_id": "demo-client"})
