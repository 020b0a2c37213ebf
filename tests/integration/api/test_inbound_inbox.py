"""The inbox mode (``inbox: SCHEMA.TABLE``): HubSpot's edits (create, update, delete) arrive by
webhook as rows of an inbox table for a system that applies them itself; demo.contacts, pushed
to HubSpot by the same connection, is not written, nothing goes back to HubSpot, and our own
push coming back is no inbox row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from providers.simulation import SimServer
from tests.integration.api.conftest import ApiProcess
from tests.integration.conftest import Pipeline
from tests.support.inbound import (
    contacts_config,
    fresh_sim,
    inbound_statuses,
    no_inbound_waiting,
    push_one,
    pushed_ops,
    running_sim,
    sim_edit,
)
from tests.support.inbound_table import story
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

CONNECTION = "hs-inbox"
SECRET = "inbox-test-app-secret"
INBOX = "inbox_t.changes"
DDL = """
DROP SCHEMA IF EXISTS inbox_t CASCADE;
CREATE SCHEMA inbox_t;
CREATE TABLE inbox_t.changes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id integer NOT NULL,
    object        text NOT NULL,
    crm_id        text NOT NULL,
    record_key    text,
    kind          text NOT NULL,
    fields        jsonb NOT NULL,
    modified_at   timestamptz,
    received_at   timestamptz NOT NULL DEFAULT now()
);
"""


def config(base_url: str) -> dict[str, Any]:
    return contacts_config(
        connection=CONNECTION,
        provider="hubspot",
        base_url=base_url,
        credentials={"access_token": "demo-token", "webhook_secret": SECRET},
        obj="contacts",
        key_field="syncsvc_id",
        outbound=[
            {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"]},
            {"source": "email", "target": "email"},
            {"source": "first_name", "target": "firstname"},
            {"source": "last_name", "target": "lastname"},
        ],
        inbound=[
            {"source": "email", "target": "email"},
            {"source": "firstname", "target": "first_name"},
            {"source": "lastname", "target": "last_name"},
        ],
        webhooks=True,
        poll_seconds=0,
        inbound_object={"inbox": INBOX},
    )


@pytest.fixture(scope="module")
def inbox_hubspot_server() -> Iterator[SimServer]:
    yield from running_sim("hubspot")


@pytest.fixture
def sim(inbox_hubspot_server: SimServer, api_server: ApiProcess) -> Iterator[SimControl]:
    hubspot = fresh_sim(inbox_hubspot_server)
    hubspot.configure(
        webhook_url=f"{api_server.url}/v1/inbound/{CONNECTION}", webhook_secret=SECRET
    )
    yield hubspot
    hubspot.configure(webhook_url="", webhook_secret="")


def in_crm(sim: SimControl, email: str) -> dict[str, Any] | None:
    return next((r for r in sim.records("contacts") if r["properties"].get("email") == email), None)


def inbox(pipeline: Pipeline) -> list[dict[str, Any]]:
    rows = pipeline.db.execute(
        "SELECT connection_id, object, crm_id, record_key, kind, fields, "
        "modified_at IS NOT NULL AS stamped FROM inbox_t.changes ORDER BY id"
    ).fetchall()
    return [dict(r) for r in rows]


def told(pipeline: Pipeline) -> str:
    return f"inbox: {inbox(pipeline)}\n{story(pipeline.db)}\n{pipeline.describe()}"


def test_crm_edits_land_as_inbox_rows_and_the_table_is_not_written(
    pipeline: Pipeline, sim: SimControl
) -> None:
    pipeline.db.execute(DDL)
    pipeline.apply_as_user(config(sim.base_url))  # the inbox table is checked there
    connection_id = pipeline.db.execute(
        "SELECT id FROM syncsvc.connection WHERE name = %s", (CONNECTION,)
    ).fetchone()["id"]  # type: ignore[index]
    row_id, ada_id = push_one(pipeline, "ada@example.com", lambda email: in_crm(sim, email))
    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline) and inbound_statuses(pipeline), 15)
    assert inbox(pipeline) == []  # our own push came back: no change of the CRM's
    ada = pipeline.db.execute("SELECT * FROM demo.contacts").fetchall()

    def arrived(n: int) -> list[dict[str, Any]]:
        return wait_until(
            lambda: len(rows := inbox(pipeline)) >= n and rows, 15, message=lambda: told(pipeline)
        )

    # one edit at a time: an event applies the record as the CRM holds it when applied
    sim_edit(sim, "contacts", action="update", id=ada_id, properties={"firstname": "Augusta"})
    arrived(1)
    sim_edit(sim, "contacts", action="update", id=ada_id, properties={"firstname": "Ada"})
    arrived(2)
    grace = sim_edit(
        sim, "contacts", action="create",
        properties={"email": "grace@example.com", "firstname": "Grace"},
    )  # fmt: skip
    arrived(3)
    sim_edit(sim, "contacts", action="delete", id=ada_id)
    arrived(4)
    sim_edit(sim, "contacts", action="delete", id=grace["id"])
    rows = arrived(5)

    mine = {"connection_id": connection_id, "object": "contacts"}
    ada_fields = {"email": "ada@example.com", "last_name": "Lovelace"}
    assert rows == [
        {**mine, "crm_id": ada_id, "record_key": str(row_id), "kind": "change",
         "fields": {**ada_fields, "first_name": "Augusta"}, "stamped": True},
        # set back to the value we pushed: a change of the CRM's all the same
        {**mine, "crm_id": ada_id, "record_key": str(row_id), "kind": "change",
         "fields": {**ada_fields, "first_name": "Ada"}, "stamped": True},
        {**mine, "crm_id": grace["id"], "record_key": None, "kind": "change",
         "fields": {"email": "grace@example.com", "first_name": "Grace", "last_name": None},
         "stamped": True},
        {**mine, "crm_id": ada_id, "record_key": str(row_id), "kind": "delete", "fields": {},
         "stamped": False},
        {**mine, "crm_id": grace["id"], "record_key": None, "kind": "delete", "fields": {},
         "stamped": False},
    ]  # fmt: skip
    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline), 15, message=lambda: told(pipeline))
    assert pipeline.db.execute("SELECT * FROM demo.contacts").fetchall() == ada
    assert pushed_ops(sim, "contacts") == ["upsert"], sim.acks()  # Ada's push, nothing else
    assert inbound_statuses(pipeline).get("failed", 0) == 0, told(pipeline)
    assert len(inbox(pipeline)) == 5
