"""Zoho as it behaves across data centres: the token answer names the account's API host
(``api_domain``), and a token is refused at any other API host (issue 11, mismatch 5)."""

from __future__ import annotations

from urllib.parse import urlsplit

from providers.zoho.sim import ZohoSim
from tests.integration.providers.helpers import by_id
from tests.integration.providers.test_zoho_client import (
    MakeClient,
    Sim,
    contact,
    keys,
    make_client,
    session_of,
    start_sim,
    zoho,
)

__all__ = ["make_client", "start_sim", "zoho"]


def test_api_calls_go_to_the_api_domain_the_token_answer_names(
    zoho: Sim, make_client: MakeClient
) -> None:
    server, sim = zoho
    accounts, api = server.url, server.url_of("api")
    client = make_client()  # base_url and token_url: the Accounts host, as before api_domain

    results = by_id(client.push("Contacts", "upsert", [contact(1), contact(2), contact(3)]))

    assert all(r.ok for r in results.values()), results
    assert keys(sim, "Contacts") == ["1", "2", "3"]
    hosts = {urlsplit(r.url).netloc for r in session_of(client).exchanges}
    assert hosts == {urlsplit(accounts).netloc, urlsplit(api).netloc}
    upserts = session_of(client).calls("POST", "/Contacts/upsert")
    assert upserts and all(r.url.startswith(api) for r in upserts)
    assert _stats(sim)["auth_wrong_host"] == 0


def _stats(sim: ZohoSim) -> dict[str, int]:
    return {k: v for k, v in sim.extra_stats().items() if isinstance(v, int)}
