"""HubSpot → internal table (issue 14): sales-rep edits in the simulator arrive through signed
webhooks (and through polling with webhooks off: changes by search, deletions from the recycle
bin's list), and nothing ping-pongs between the sides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import requests

from tests.integration.api.conftest import ApiProcess
from tests.integration.conftest import Pipeline
from tests.support.inbound import (
    beat_and_worker_stopped,
    contacts_config,
    delete_events,
    deletes_mark,
    inbound_statuses,
    no_inbound_waiting,
    push_one,
    pushed_ops,
)
from tests.support.inbound import contact_row as row
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

SECRET = "inbound-test-app-secret"
CONNECTION = "hs-inbound"


def config(
    base_url: str, webhooks: bool, poll_seconds: int, conflict: str = "internal_wins"
) -> dict[str, Any]:
    return contacts_config(
        connection=CONNECTION,
        provider="hubspot",
        base_url=base_url,
        credentials={"access_token": "demo-token", "webhook_secret": SECRET},
        obj="contacts",
        key_field="syncsvc_id",
        outbound=[
            {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"]},
            {"source": "email", "target": "email", "transforms": ["strip", "lower"]},
            {"source": "first_name", "target": "firstname"},
            {"source": "last_name", "target": "lastname"},
        ],
        inbound=[
            {"source": "email", "target": "email"},
            {"source": "firstname", "target": "first_name"},
            {"source": "lastname", "target": "last_name"},
        ],
        webhooks=webhooks,
        poll_seconds=poll_seconds,
        inbound_settings={"conflict": conflict},
    )


def sim_edit(hubspot: SimControl, **body: Any) -> dict[str, Any]:
    resp = requests.post(
        f"{hubspot.base_url}/_sim/edit", json={"object": "contacts", **body}, timeout=10
    )
    resp.raise_for_status()
    return resp.json() if resp.content else {}


def in_crm(hubspot: SimControl, email: str) -> dict[str, Any] | None:
    for record in hubspot.records("contacts"):
        if record["properties"].get("email") == email:
            return record
    return None


@pytest.fixture
def webhooks_to(hubspot: SimControl, api_server: ApiProcess) -> Any:
    hubspot.configure(
        webhook_url=f"{api_server.url}/v1/inbound/{CONNECTION}", webhook_secret=SECRET
    )
    yield
    hubspot.configure(webhook_url="", webhook_secret="")


def test_sim_edits_arrive_by_webhook_without_ping_pong(
    pipeline: Pipeline, hubspot: SimControl, webhooks_to: None
) -> None:
    pipeline.apply(config(hubspot.base_url, webhooks=True, poll_seconds=0))
    row_id, hs_id = push_one(pipeline, "ada@example.com", lambda email: in_crm(hubspot, email))
    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline) and inbound_statuses(pipeline), 10)
    assert inbound_statuses(pipeline).get("applied", 0) == 0  # our own push came back: an echo

    sim_edit(hubspot, action="update", id=hs_id, properties={"firstname": "Augusta"})
    wait_until(lambda: (row(pipeline, id=row_id) or {}).get("first_name") == "Augusta", 10)

    sim_edit(
        hubspot, action="create", properties={"email": "grace@example.com", "firstname": "Grace"}
    )
    new_row = wait_until(lambda: row(pipeline, email="grace@example.com"), 10)
    assert new_row["first_name"] == "Grace"
    linked = wait_until(
        lambda: (
            (in_crm(hubspot, "grace@example.com") or {}).get("properties", {}).get("syncsvc_id")
            == str(new_row["id"])
        ),
        10,
    )
    assert linked

    sim_edit(hubspot, action="delete", id=hs_id)
    wait_until(lambda: row(pipeline, id=row_id) is None, 10)

    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline), 10)
    # One push of Ada (her insert) and the one link-back write for Grace: the inbound writes
    # were not captured back to HubSpot, and the webhooks of our pushes changed nothing.
    assert len(pushed_ops(hubspot, "contacts")) == 2, hubspot.acks()
    records = hubspot.records("contacts")
    assert [r["properties"]["email"] for r in records] == ["grace@example.com"]


def test_sim_edits_arrive_by_polling_with_webhooks_off(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    pipeline.apply(config(hubspot.base_url, webhooks=False, poll_seconds=2))
    row_id, hs_id = push_one(pipeline, "alan@example.com", lambda email: in_crm(hubspot, email))
    pipeline.wait_idle()
    sim_edit(hubspot, action="update", id=hs_id, properties={"lastname": "Turing"})
    wait_until(lambda: (row(pipeline, id=row_id) or {}).get("last_name") == "Turing", 10)
    sim_edit(hubspot, action="create", properties={"email": "kay@example.com", "firstname": "Kay"})
    wait_until(lambda: row(pipeline, email="kay@example.com"), 10)
    applied = pipeline.db.execute(
        "SELECT count(*) AS n FROM syncsvc.inbound_event WHERE status = 'applied'"
    ).fetchone()
    assert applied is not None and applied["n"] == 2


def archived_at(hubspot: SimControl, hs_id: str) -> datetime:
    """When HubSpot archived the record, as its recycle bin says."""
    answer = hubspot.http.get(
        f"{hubspot.base_url}/crm/v3/objects/contacts/{hs_id}",
        params={"archived": "true"},
        headers={"Authorization": "Bearer demo-token"},
        timeout=10,
    )
    answer.raise_for_status()
    return datetime.fromisoformat(answer.json()["archivedAt"].replace("Z", "+00:00"))


def test_deletions_arrive_by_polling_once_and_a_restart_resumes_from_the_stored_mark(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    """With webhooks off, a contact archived in HubSpot is deleted from the table within a poll
    interval (the recycle bin's list is polled: search never shows an archived record), its
    deletion is one event, and the mark (its ``archivedAt``) is kept in PostgreSQL: a contact
    archived while beat and the workers are down is deleted after they restart, and nothing
    read before the restart is applied again."""
    pipeline.apply(config(hubspot.base_url, webhooks=False, poll_seconds=2))
    ada_row, ada_id = push_one(pipeline, "ada@example.com", lambda email: in_crm(hubspot, email))
    bob_row, bob_id = push_one(pipeline, "bob@example.com", lambda email: in_crm(hubspot, email))
    pipeline.wait_idle()

    sim_edit(hubspot, action="delete", id=ada_id)
    wait_until(lambda: row(pipeline, id=ada_row) is None, 2 + 10, message=pipeline.describe)
    assert delete_events(pipeline) == [(ada_id, "applied")]
    ada_gone = archived_at(hubspot, ada_id)  # the mark trails a pass: it gets there next
    wait_until(lambda: deletes_mark(pipeline, "contacts") == ada_gone, 10)

    with beat_and_worker_stopped(pipeline.procs):
        sim_edit(hubspot, action="delete", id=bob_id)
        assert deletes_mark(pipeline, "contacts") == ada_gone
    wait_until(lambda: row(pipeline, id=bob_row) is None, 30, message=pipeline.describe)
    bob_gone = archived_at(hubspot, bob_id)
    wait_until(lambda: deletes_mark(pipeline, "contacts") == bob_gone, 10)

    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline), 10)
    # One event per deletion, each applied once (later passes report them again: same keys).
    assert delete_events(pipeline) == [(ada_id, "applied"), (bob_id, "applied")]
    assert pushed_ops(hubspot, "contacts") == ["upsert", "upsert"], hubspot.acks()
    assert hubspot.records("contacts") == []
