"""Zoho CRM → internal table (issue 14): sales-rep edits in the simulator arrive through a
notification channel (subscribed with ``POST /crm/v8/actions/watch`` by the client, checked by
its token) and through polling by ``Modified_Time`` with ``If-Modified-Since`` (deletions from
the recycle bin) with notifications off; nothing ping-pongs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from providers.base import ConnectionInfo
from providers.simulation import SimServer
from providers.zoho import ZohoClient
from providers.zoho.notifications import channel_state
from syncsvc.inbound import subscriptions
from syncsvc.inbound.subscriptions import notify_url
from syncsvc.settings import Settings
from tests.integration.api.conftest import ApiProcess
from tests.integration.conftest import Pipeline
from tests.support.inbound import contact_row as row
from tests.support.inbound import (
    contacts_config,
    fresh_sim,
    inbound_statuses,
    keep_subscription,
    no_inbound_waiting,
    push_one,
    pushed_ops,
    running_sim,
    sim_edit,
)
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

CONNECTION = "zoho-inbound"
OBJECT = "Contacts"
TOKEN = "channel-token-for-zoho-inbound"
CHANNEL = 1000000068001
OAUTH = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "refresh_token": "demo-refresh-token",
}


def config(base_url: str, webhooks: bool, poll_seconds: int) -> dict[str, Any]:
    return contacts_config(
        connection=CONNECTION,
        provider="zoho",
        base_url=base_url,
        options={"token_url": f"{base_url}/oauth/v2/token"},
        credentials={**OAUTH, "webhook_token": TOKEN},
        obj=OBJECT,
        key_field="Syncsvc_Id",
        outbound=[
            {"source": "id", "target": "Syncsvc_Id", "transforms": ["to_string"]},
            {"source": "email", "target": "Email"},
            {"source": "first_name", "target": "First_Name"},
            {"source": "last_name", "target": "Last_Name"},
            {"source": "phone", "target": "Phone"},
        ],
        inbound=[
            {"source": "Email", "target": "email"},
            {"source": "First_Name", "target": "first_name"},
            {"source": "Last_Name", "target": "last_name"},
            {"source": "Phone", "target": "phone"},
        ],
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


def in_crm(zoho: SimControl, email: str) -> dict[str, Any] | None:
    return next((r for r in zoho.records("Contacts") if r.get("Email") == email), None)


def _edits_arrive(pipeline: Pipeline, zoho: SimControl) -> None:
    """Ada pushed, then changed, a contact created and Ada deleted in Zoho's UI; every change
    in the table, and the only writes to Zoho are Ada's upsert and Grace's key going back."""
    row_id, zoho_id = push_one(pipeline, "ada@example.com", lambda email: in_crm(zoho, email))
    pipeline.wait_idle()
    sim_edit(zoho, OBJECT, action="update", id=zoho_id, fields={"First_Name": "Augusta"})
    wait_until(lambda: (row(pipeline, id=row_id) or {}).get("first_name") == "Augusta", 10)

    sim_edit(
        zoho,
        OBJECT,
        action="create",
        fields={"Last_Name": "Hopper", "First_Name": "Grace", "Email": "grace@example.com"},
    )
    new_row = wait_until(lambda: row(pipeline, email="grace@example.com"), 10)
    assert (new_row["first_name"], new_row["last_name"]) == ("Grace", "Hopper")
    wait_until(
        lambda: (in_crm(zoho, "grace@example.com") or {}).get("Syncsvc_Id") == str(new_row["id"]),
        10,
    )

    sim_edit(zoho, OBJECT, action="delete", id=zoho_id)
    wait_until(lambda: row(pipeline, id=row_id) is None, 10)

    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline), 10)
    assert pushed_ops(zoho, OBJECT) == ["upsert", "update"], zoho.acks()
    assert [r["Email"] for r in zoho.records("Contacts")] == ["grace@example.com"]
    assert inbound_statuses(pipeline).get("failed", 0) == 0


def test_sim_edits_arrive_by_notification_channel_without_ping_pong(
    pipeline: Pipeline, zoho: SimControl, settings: Settings, api_server: ApiProcess
) -> None:
    pipeline.apply(config(zoho.base_url, webhooks=True, poll_seconds=0))
    assert keep_subscription(settings, CONNECTION, api_server.url)  # subscribed
    assert not keep_subscription(
        settings, CONNECTION, api_server.url
    )  # a day left: nothing to renew
    held = pipeline.db.execute(
        "SELECT token FROM syncsvc.inbound_cursor WHERE object = %s", (subscriptions.CURSOR,)
    ).fetchone()
    assert held is not None
    until = channel_state(notify_url(api_server.url, CONNECTION), ["Contacts"], held["token"])
    assert until is not None and until > datetime.now(UTC) + timedelta(hours=23)
    _edits_arrive(pipeline, zoho)
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
    for token in (None, "not-the-token"):
        answer = requests.post(url, json={**body, "token": token}, timeout=10)
        assert answer.status_code == 401, answer.text
    answer = requests.post(url, json={**body, "token": TOKEN}, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"received": 1, "stored": 1}
    wait_until(lambda: inbound_statuses(pipeline) == {"ignored": 1}, 10)


def test_sim_edits_arrive_by_polling_with_notifications_off(
    pipeline: Pipeline, zoho: SimControl
) -> None:
    pipeline.apply(config(zoho.base_url, webhooks=False, poll_seconds=2))
    _edits_arrive(pipeline, zoho)
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
