"""Pipedrive → internal table (issue 14): sales-rep edits in the simulator arrive through
webhooks v2 with basic auth (and through polling with webhooks off: changes by ``update_time``,
deletions from ``/v1/recents``), mapped back (emails/phones by their primary value, a custom
field by name), and nothing ping-pongs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from providers.base import ConnectionInfo
from providers.pipedrive import PipedriveClient
from providers.pipedrive.webhooks import basic_auth
from providers.simulation import SimServer
from syncsvc.settings import Settings
from tests.integration.api.conftest import ApiProcess
from tests.integration.conftest import Pipeline
from tests.support.inbound import (
    beat_and_worker_stopped,
    contacts_config,
    delete_events,
    deletes_mark,
    fresh_sim,
    inbound_statuses,
    keep_subscription,
    no_inbound_waiting,
    push_one,
    running_sim,
)
from tests.support.inbound import contact_row as row
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

CONNECTION = "pd-inbound"
USER, PASSWORD = "syncsvc-hook", "inbound-test-password"
TOKEN = {"x-api-token": "demo-api-token"}


def config(base_url: str, webhooks: bool, poll_seconds: int) -> dict[str, Any]:
    return contacts_config(
        connection=CONNECTION,
        provider="pipedrive",
        base_url=base_url,
        credentials={
            "api_token": "demo-api-token",
            "webhook_user": USER,
            "webhook_password": PASSWORD,
        },
        obj="persons",
        rule="persons",
        key_field="syncsvc_id",
        outbound=[
            {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"]},
            {"template": "{first_name} {last_name}", "target": "name"},
            {"source": "email", "target": "emails"},
            {"source": "phone", "target": "phones"},
            {"source": "lifecycle_stage", "target": "lifecycle_stage"},
        ],
        inbound=[
            {"source": "emails", "target": "email"},
            {"source": "phones", "target": "phone"},
            {"source": "lifecycle_stage", "target": "lifecycle_stage"},
        ],
        webhooks=webhooks,
        poll_seconds=poll_seconds,
    )


@pytest.fixture(scope="module")
def pipedrive_server() -> Iterator[SimServer]:
    yield from running_sim("pipedrive")


@pytest.fixture
def pipedrive(pipedrive_server: SimServer) -> SimControl:
    return fresh_sim(pipedrive_server)


@pytest.fixture
def webhook_url(api_server: ApiProcess) -> str:
    return f"{api_server.url}/v1/inbound/{CONNECTION}"


def webhooks(pipedrive: SimControl) -> list[dict[str, Any]]:
    answer = pipedrive.http.get(f"{pipedrive.base_url}/v1/webhooks", headers=TOKEN, timeout=10)
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()["data"]
    return found


def sim_edit(pipedrive: SimControl, **body: Any) -> dict[str, Any]:
    resp = requests.post(
        f"{pipedrive.base_url}/_sim/edit", json={"object": "persons", **body}, timeout=10
    )
    resp.raise_for_status()
    data: dict[str, Any] = resp.json()["data"]
    return data


def custom_key(pipedrive: SimControl, name: str) -> str:
    answer = pipedrive.http.get(
        f"{pipedrive.base_url}/v1/personFields", params={"limit": 500}, headers=TOKEN, timeout=10
    )
    answer.raise_for_status()
    return str(next(f["key"] for f in answer.json()["data"] if f["name"] == name))


def in_crm(pipedrive: SimControl, email: str) -> dict[str, Any] | None:
    for record in pipedrive.records("persons"):
        if any(e.get("value") == email for e in record.get("emails") or []):
            return record
    return None


def pushes(pipedrive: SimControl) -> list[dict[str, Any]]:
    return [a for a in pipedrive.acks() if a["object"] == "persons"]


def test_sim_edits_arrive_by_webhook_without_ping_pong(
    pipeline: Pipeline,
    pipedrive: SimControl,
    settings: Settings,
    api_server: ApiProcess,
    webhook_url: str,
) -> None:
    pipeline.apply(config(pipedrive.base_url, webhooks=True, poll_seconds=0))
    # beat's tick creates the webhook v2, with the connection's basic auth, once
    assert keep_subscription(settings, CONNECTION, api_server.url)
    assert not keep_subscription(settings, CONNECTION, api_server.url)
    (hook,) = webhooks(pipedrive)
    assert (hook["subscription_url"], hook["event_object"], hook["version"]) == (
        webhook_url,
        "person",
        "2.0",
    )
    assert hook["http_auth_user"] == USER and "http_auth_password" not in hook
    row_id, pd_id = push_one(pipeline, "ada@example.com", lambda email: in_crm(pipedrive, email))
    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline) and inbound_statuses(pipeline), 10)
    assert inbound_statuses(pipeline).get("applied", 0) == 0  # our own push came back: an echo

    stage = custom_key(pipedrive, "lifecycle_stage")
    sim_edit(
        pipedrive,
        action="update",
        id=pd_id,
        fields={"phones": [{"value": "+44 20 7946 0000"}], "custom_fields": {stage: "customer"}},
    )
    updated = wait_until(
        lambda: (r := row(pipeline, id=row_id)) and r["phone"] == "+44 20 7946 0000" and r, 10
    )
    assert updated["lifecycle_stage"] == "customer" and updated["email"] == "ada@example.com"

    created = sim_edit(
        pipedrive,
        action="create",
        fields={"name": "Grace Hopper", "emails": [{"value": "grace@example.com"}]},
    )
    new_row = wait_until(lambda: row(pipeline, email="grace@example.com"), 10)
    grace_key = custom_key(pipedrive, "syncsvc_id")
    wait_until(  # the new row's key goes back into the person created in Pipedrive
        lambda: (
            (in_crm(pipedrive, "grace@example.com") or {}).get("custom_fields", {}).get(grace_key)
            == str(new_row["id"])
        ),
        10,
    )
    assert created["id"] == in_crm(pipedrive, "grace@example.com")["id"]  # type: ignore[index]

    sim_edit(pipedrive, action="delete", id=pd_id)
    wait_until(lambda: row(pipeline, id=row_id) is None, 10)

    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline), 10)
    # Ada's create and the one link-back write for Grace: the inbound writes were not captured
    # back to Pipedrive, and the webhooks of our own writes changed nothing.
    assert [a["op"] for a in pushes(pipedrive)] == ["create", "update"], pushes(pipedrive)
    assert [r["name"] for r in pipedrive.records("persons")] == ["Grace Hopper"]
    assert inbound_statuses(pipeline).get("failed", 0) == 0


def test_a_webhook_without_the_basic_auth_is_refused(
    pipeline: Pipeline, pipedrive: SimControl, webhook_url: str
) -> None:
    pipeline.apply(config(pipedrive.base_url, webhooks=True, poll_seconds=0))
    body = {
        "data": {"id": 1},
        "previous": None,
        "meta": {"action": "create", "entity": "person", "entity_id": "1",
                 "timestamp": "2026-12-04T10:00:00.000Z", "version": "2.0"},
    }  # fmt: skip
    for headers in ({}, {"Authorization": basic_auth(USER, "wrong")}):
        answer = requests.post(webhook_url, json=body, headers=headers, timeout=10)
        assert answer.status_code == 401, answer.text
    answer = requests.post(
        webhook_url, json=body, headers={"Authorization": basic_auth(USER, PASSWORD)}, timeout=10
    )
    assert answer.status_code == 200 and answer.json() == {"received": 1, "stored": 1}
    # person 1 does not exist: read back, it is nobody's record, and nothing is written
    wait_until(lambda: inbound_statuses(pipeline) == {"ignored": 1}, 10)


def test_sim_edits_arrive_by_polling_with_webhooks_off(
    pipeline: Pipeline, pipedrive: SimControl
) -> None:
    pipeline.apply(config(pipedrive.base_url, webhooks=False, poll_seconds=2))
    row_id, pd_id = push_one(pipeline, "alan@example.com", lambda email: in_crm(pipedrive, email))
    pipeline.wait_idle()
    sim_edit(pipedrive, action="update", id=pd_id, fields={"phones": [{"value": "+1 555 0100"}]})
    wait_until(lambda: (row(pipeline, id=row_id) or {}).get("phone") == "+1 555 0100", 10)
    sim_edit(
        pipedrive,
        action="create",
        fields={"name": "Kay", "emails": [{"value": "kay@example.com"}]},
    )
    wait_until(lambda: row(pipeline, email="kay@example.com"), 10)
    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline), 10)
    applied = pipeline.db.execute(
        "SELECT count(*) AS n FROM syncsvc.inbound_event WHERE status = 'applied'"
    ).fetchone()
    assert applied is not None and applied["n"] == 2
    assert [a["op"] for a in pushes(pipedrive)] == ["create", "update"], pushes(pipedrive)


def test_deletions_arrive_by_polling_once_and_a_restart_resumes_from_the_stored_mark(
    pipeline: Pipeline, pipedrive: SimControl
) -> None:
    """With webhooks off, a person deleted in Pipedrive is deleted from the table within a poll
    interval (``/v1/recents`` shows the deleted person; the v2 list never does), its deletion
    is one event, and the mark is kept in PostgreSQL: a person deleted while beat and the
    workers are down is deleted after they restart, and nothing is applied twice."""
    pipeline.apply(config(pipedrive.base_url, webhooks=False, poll_seconds=2))
    ada_row, ada_id = push_one(pipeline, "ada@example.com", lambda e: in_crm(pipedrive, e))
    bob_row, bob_id = push_one(pipeline, "bob@example.com", lambda e: in_crm(pipedrive, e))
    pipeline.wait_idle()

    before = datetime.now(UTC).replace(microsecond=0)  # Pipedrive stamps whole seconds
    sim_edit(pipedrive, action="delete", id=ada_id)
    wait_until(lambda: row(pipeline, id=ada_row) is None, 2 + 10, message=pipeline.describe)
    assert delete_events(pipeline) == [(ada_id, "applied")]
    # the mark (the newest change recents listed) trails a pass: it gets there next
    wait_until(lambda: (mark := deletes_mark(pipeline, "persons")) and mark >= before, 10)

    with beat_and_worker_stopped(pipeline.procs):
        before = datetime.now(UTC).replace(microsecond=0)
        sim_edit(pipedrive, action="delete", id=bob_id)
    wait_until(lambda: row(pipeline, id=bob_row) is None, 30, message=pipeline.describe)
    wait_until(lambda: (mark := deletes_mark(pipeline, "persons")) and mark >= before, 10)

    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline), 10)
    assert delete_events(pipeline) == [(ada_id, "applied"), (bob_id, "applied")]
    assert [a["op"] for a in pushes(pipedrive)] == ["create", "create"], pushes(pipedrive)
    assert pipedrive.records("persons") == []


def test_the_webhooks_are_looked_for_hourly_and_replaced_when_their_auth_changes(
    pipedrive: SimControl,
) -> None:
    def client(password: str) -> PipedriveClient:
        credentials = {"api_token": "demo-api-token", "webhook_user": USER,
                       "webhook_password": password}  # fmt: skip
        info = ConnectionInfo(3, CONNECTION, "pipedrive", pipedrive.base_url, credentials, {},
                              50, 80, 2)  # fmt: skip
        return PipedriveClient(info)

    url, now = "https://sync.example.com/v1/inbound/pd-inbound", datetime.now(UTC)
    first = client(PASSWORD)
    held = first.keep_webhooks(url, ["persons", "deals"], None, now)
    assert sorted(w["event_object"] for w in webhooks(pipedrive)) == ["deal", "person"]
    asked = pipedrive.stats()["requests"]
    assert first.keep_webhooks(url, ["persons", "deals"], held, now + timedelta(minutes=59)) == held
    assert pipedrive.stats()["requests"] == asked  # nothing asked within the hour

    person_hook = next(w for w in webhooks(pipedrive) if w["event_object"] == "person")
    pipedrive.http.delete(
        f"{pipedrive.base_url}/v1/webhooks/{person_hook['id']}", headers=TOKEN, timeout=10
    ).raise_for_status()  # a person deletes one in Pipedrive's settings
    first.keep_webhooks(url, ["persons", "deals"], held, now + timedelta(minutes=61))
    assert sorted(w["event_object"] for w in webhooks(pipedrive)) == ["deal", "person"]

    second = client("a-new-password")
    second.keep_webhooks(url, ["persons", "deals"], held, now)
    hooks = webhooks(pipedrive)
    assert len(hooks) == 2 and person_hook["id"] not in {w["id"] for w in hooks}
    for c in (first, second):
        c.close()
