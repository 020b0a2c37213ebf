"""Zoho CRM → internal table (issue 14): sales-rep edits in the simulator arrive through a
notification channel (subscribed with ``POST /crm/v8/actions/watch`` by the client, checked by
its token) and through polling by ``Modified_Time`` with ``If-Modified-Since`` (deletions from
the recycle bin) with notifications off; nothing ping-pongs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from providers.base import ConnectionInfo
from providers.simulation import SimServer
from providers.zoho import ZohoClient
from providers.zoho.notifications import channel_state
from syncsvc.inbound import subscriptions
from syncsvc.inbound.subscriptions import notify_url
from syncsvc.settings import Settings
from tests.integration.api.conftest import ApiProcess
from tests.integration.conftest import Pipeline
from tests.support.inbound import fresh_sim, running_sim
from tests.support.inbound_flow import (
    ContactFields,
    edits_arrive_without_ping_pong,
    only_authenticated_notifications_are_stored,
    subscribed_once,
)
from tests.support.sim import SimControl

pytestmark = pytest.mark.e2e

CONNECTION = "zoho-inbound"
CONTACTS = ContactFields(
    obj="Contacts",
    id_field="id",
    key_field="Syncsvc_Id",
    fields={
        "email": "Email",
        "first_name": "First_Name",
        "last_name": "Last_Name",
        "phone": "Phone",
    },
)
TOKEN = "channel-token-for-zoho-inbound"
CHANNEL = 1000000068001
OAUTH = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "refresh_token": "demo-refresh-token",
}


def config(base_url: str, webhooks: bool, poll_seconds: int) -> dict[str, Any]:
    return CONTACTS.config(
        connection=CONNECTION,
        provider="zoho",
        base_url=base_url,
        options={"token_url": f"{base_url}/oauth/v2/token"},
        credentials={**OAUTH, "webhook_token": TOKEN},
        webhooks=webhooks,
        poll_seconds=poll_seconds,
    )


@pytest.fixture(scope="module")
def zoho_server() -> Iterator[SimServer]:
    yield from running_sim("zoho")


@pytest.fixture
def zoho(zoho_server: SimServer) -> SimControl:
    return fresh_sim(zoho_server)


def zoho_client(zoho: SimControl) -> ZohoClient:
    connection = ConnectionInfo(
        id=7,
        name=CONNECTION,
        provider="zoho",
        base_url=zoho.base_url,
        credentials={**OAUTH, "webhook_token": TOKEN},
        options={"token_url": f"{zoho.base_url}/oauth/v2/token"},
        batch_size=100,
        rate_limit_requests=100,
        rate_limit_seconds=10,
    )
    return ZohoClient(connection)


def test_sim_edits_arrive_by_notification_channel_without_ping_pong(
    pipeline: Pipeline, zoho: SimControl, settings: Settings, api_server: ApiProcess
) -> None:
    pipeline.apply(config(zoho.base_url, webhooks=True, poll_seconds=0))
    subscribed_once(settings, CONNECTION, api_server.url)  # a day left: nothing to renew
    held = pipeline.db.execute(
        "SELECT token FROM syncsvc.inbound_cursor WHERE object = %s", (subscriptions.CURSOR,)
    ).fetchone()
    assert held is not None
    until = channel_state(notify_url(api_server.url, CONNECTION), ["Contacts"], held["token"])
    assert until is not None and until > datetime.now(UTC) + timedelta(hours=23)
    edits_arrive_without_ping_pong(pipeline, zoho, CONTACTS, ("first_name", "Augusta"))
    sources = pipeline.db.execute("SELECT DISTINCT source FROM syncsvc.inbound_event").fetchall()
    assert [s["source"] for s in sources] == ["webhook"]


def test_a_notification_without_the_channel_token_is_refused(
    pipeline: Pipeline, zoho: SimControl, api_server: ApiProcess
) -> None:
    pipeline.apply(config(zoho.base_url, webhooks=True, poll_seconds=0))
    url = f"{api_server.url}/v1/inbound/{CONNECTION}"
    body = {"server_time": 1764842400000, "module": "Contacts", "ids": ["5725767000000001001"],
            "operation": "update", "channel_id": str(CHANNEL), "query_params": {},
            "resource_uri": "https://www.zohoapis.com/crm/v8/Contacts", "affected_fields": []}  # fmt: skip
    only_authenticated_notifications_are_stored(
        pipeline,
        url,
        refused=[{"json": {**body, "token": token}} for token in (None, "not-the-token")],
        accepted={"json": {**body, "token": TOKEN}},
    )


def test_sim_edits_arrive_by_polling_with_notifications_off(
    pipeline: Pipeline, zoho: SimControl
) -> None:
    pipeline.apply(config(zoho.base_url, webhooks=False, poll_seconds=2))
    edits_arrive_without_ping_pong(pipeline, zoho, CONTACTS, ("first_name", "Augusta"))
    sources = pipeline.db.execute("SELECT DISTINCT source FROM syncsvc.inbound_event").fetchall()
    assert [s["source"] for s in sources] == ["poll"]


def test_the_channel_is_renewed_only_when_it_nears_its_end_or_changes(zoho: SimControl) -> None:
    client = zoho_client(zoho)
    url, now = "https://sync.example.com/v1/inbound/zoho-inbound", datetime.now(UTC)
    try:
        first = client.keep_webhooks(url, ["Contacts"], None, now)
        until = channel_state(url, ["Contacts"], first)
        assert until is not None and until > now + timedelta(hours=23)
        asked = zoho.stats()["requests"]
        assert client.keep_webhooks(url, ["Contacts"], first, now + timedelta(hours=11)) == first
        assert zoho.stats()["requests"] == asked  # nothing sent while the channel has time left
        later = client.keep_webhooks(url, ["Contacts"], first, now + timedelta(hours=13))
        renewed = channel_state(url, ["Contacts"], later)
        assert renewed is not None and renewed > until
        wider = client.keep_webhooks(url, ["Contacts", "Deals"], later, now)
        assert channel_state(url, ["Contacts", "Deals"], wider) is not None
        assert channel_state(url, ["Contacts"], wider) is None
    finally:
        client.close()
