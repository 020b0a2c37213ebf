"""Pipedrive → internal table (issue 14): sales-rep edits in the simulator arrive through
webhooks v2 with basic auth (and through polling with webhooks off: changes by ``update_time``,
deletions from ``/v1/recents``), mapped back (emails/phones by their primary value, a custom
field by name), and nothing ping-pongs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

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
    no_inbound_waiting,
    push_one,
    pushed_ops,
    running_sim,
    sim_edit,
)
from tests.support.inbound import contact_row as row
from tests.support.inbound_flow import only_authenticated_notifications_are_stored, subscribed_once
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


def edit(pipedrive: SimControl, **body: Any) -> dict[str, Any]:
    """A sales rep's edit of a person in Pipedrive's UI; the person."""
    person: dict[str, Any] = sim_edit(pipedrive, "persons", **body)["data"]
    return person


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


def test_sim_edits_arrive_by_webhook_without_ping_pong(
    pipeline: Pipeline,
    pipedrive: SimControl,
    settings: Settings,
    api_server: ApiProcess,
    webhook_url: str,
) -> None:
    pipeline.apply(config(pipedrive.base_url, webhooks=True, poll_seconds=0))
    # beat's tick creates the webhook v2, with the connection's basic auth, once
    subscribed_once(settings, CONNECTION, api_server.url)
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
    edit(
        pipedrive,
        action="update",
        id=pd_id,
        fields={"phones": [{"value": "+44 20 7946 0000"}], "custom_fields": {stage: "customer"}},
    )
    updated = wait_until(
        lambda: (r := row(pipeline, id=row_id)) and r["phone"] == "+44 20 7946 0000" and r, 10
    )
    assert updated["lifecycle_stage"] == "customer" and updated["email"] == "ada@example.com"

    created = edit(
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

    edit(pipedrive, action="delete", id=pd_id)
    wait_until(lambda: row(pipeline, id=row_id) is None, 10)

    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline), 10)
    # Ada's create and the one link-back write for Grace: the inbound writes were not captured
    # back to Pipedrive, and the webhooks of our own writes changed nothing.
    assert pushed_ops(pipedrive, "persons") == ["create", "update"], pipedrive.acks()
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
    # person 1 does not exist: read back, it is nobody's record, and nothing is written
    only_authenticated_notifications_are_stored(
        pipeline,
        webhook_url,
        refused=[
            {"json": body, "headers": headers}
            for headers in ({}, {"Authorization": basic_auth(USER, "wrong")})
        ],
        accepted={"json": body, "headers": {"Authorization": basic_auth(USER, PASSWORD)}},
    )


def test_sim_edits_arrive_by_polling_with_webhooks_off(
    pipeline: Pipeline, pipedrive: SimControl
) -> None:
    pipeline.apply(config(pipedrive.base_url, webhooks=False, poll_seconds=2))
    row_id, pd_id = push_one(pipeline, "alan@example.com", lambda email: in_crm(pipedrive, email))
    pipeline.wait_idle()
    edit(pipedrive, action="update", id=pd_id, fields={"phones": [{"value": "+1 555 0100"}]})
    wait_until(lambda: (row(pipeline, id=row_id) or {}).get("phone") == "+1 555 0100", 10)
    edit(
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
    assert pushed_ops(pipedrive, "persons") == ["create", "update"], pipedrive.acks()


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
    sim_edit(pipedrive, "persons", action="delete", id=ada_id)
    wait_until(lambda: row(pipeline, id=ada_row) is None, 2 + 10, message=pipeline.describe)
    assert delete_events(pipeline) == [(ada_id, "applied")]
    # the mark (the newest change recents listed) trails a pass: it gets there next
    wait_until(lambda: (mark := deletes_mark(pipeline, "persons")) and mark >= before, 10)

    with beat_and_worker_stopped(pipeline.procs):
        before = datetime.now(UTC).replace(microsecond=0)
        sim_edit(pipedrive, "persons", action="delete", id=bob_id)
    wait_until(lambda: row(pipeline, id=bob_row) is None, 30, message=pipeline.describe)
    wait_until(lambda: (mark := deletes_mark(pipeline, "persons")) and mark >= before, 10)

    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline), 10)
    assert delete_events(pipeline) == [(ada_id, "applied"), (bob_id, "applied")]
    assert pushed_ops(pipedrive, "persons") == ["create", "create"], pipedrive.acks()
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
