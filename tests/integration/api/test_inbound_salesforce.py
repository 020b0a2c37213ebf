"""Salesforce → internal table (issue 14): records changed in the simulated org arrive by
polling ``queryAll`` by ``SystemModstamp`` in beat (the high-water mark kept in
``inbound_cursor``), deletions as recycle-bin rows (``IsDeleted`` true), and nothing
ping-pongs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from providers.simulation import SimServer
from tests.integration.conftest import Pipeline
from tests.support.inbound import contact_row as row
from tests.support.inbound import (
    fresh_sim,
    inbound_statuses,
    push_one,
    pushed_ops,
    running_sim,
    sim_edit,
    stopped,
)
from tests.support.inbound_flow import (
    ContactFields,
    edits_arrive_without_ping_pong,
    edits_while_down_arrive,
)
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

CONNECTION = "sf-inbound"
CONTACTS = ContactFields(
    obj="Contact",
    id_field="Id",
    key_field="Syncsvc_Id__c",
    fields={"first_name": "FirstName", "last_name": "LastName", "email": "Email", "phone": "Phone"},
)
OBJECT = CONTACTS.obj
POLL_SECONDS = 2


def config(base_url: str, conflict: str = "internal_wins") -> dict[str, Any]:
    return CONTACTS.config(
        connection=CONNECTION,
        provider="salesforce",
        base_url=base_url,
        options={"token_url": f"{base_url}/services/oauth2/token"},
        credentials={
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "refresh_token": "demo-refresh-token",
        },
        webhooks=False,
        poll_seconds=POLL_SECONDS,
        inbound_settings={"conflict": conflict},
    )


@pytest.fixture(scope="module")
def salesforce_server() -> Iterator[SimServer]:
    yield from running_sim("salesforce")


@pytest.fixture
def salesforce(salesforce_server: SimServer) -> SimControl:
    return fresh_sim(salesforce_server)


def in_crm(salesforce: SimControl, email: str) -> dict[str, Any] | None:
    return CONTACTS.record(salesforce, email)


def with_id(salesforce: SimControl, email: str) -> dict[str, Any] | None:
    """The contact as ``push_one`` reads a record: its id under ``id``."""
    found = in_crm(salesforce, email)
    return {**found, "id": found["Id"]} if found else None


def high_water(pipeline: Pipeline) -> datetime | None:
    found = pipeline.db.execute(
        "SELECT high_water FROM syncsvc.inbound_cursor WHERE object = 'Contact'"
    ).fetchone()
    return found["high_water"] if found else None


def test_changes_arrive_by_polling_without_ping_pong(
    pipeline: Pipeline, salesforce: SimControl
) -> None:
    """The first poll stores its mark; the poll's report of our own writes changes nothing."""
    pipeline.apply(config(salesforce.base_url))
    edits_arrive_without_ping_pong(
        pipeline,
        salesforce,
        CONTACTS,
        ("phone", "+49 30 1234567"),
        settled=lambda: high_water(pipeline),
    )


def test_a_restart_resumes_from_the_stored_high_water_mark(
    pipeline: Pipeline, salesforce: SimControl
) -> None:
    """Edits made while beat and the workers are down are read by the first poll after the
    restart: it starts from the high-water mark kept in PostgreSQL, and ``queryAll`` still
    answers the record deleted meanwhile (the recycle bin)."""
    pipeline.apply(config(salesforce.base_url))
    mark, moved = edits_while_down_arrive(
        pipeline,
        salesforce,
        CONTACTS,
        settled=lambda: high_water(pipeline),
        cursor=lambda: high_water(pipeline),
    )
    assert mark is not None and moved is not None and moved >= mark


def test_a_push_before_the_poll_leaves_a_crm_wins_edit_in_place(
    pipeline: Pipeline, salesforce: SimControl
) -> None:
    """crm_wins: a rep changes Ada's first name in the org, then the table changes it too, and
    the push of that goes before any poll has read the rep's edit. The push reads the record
    first (SOQL by Id with SystemModstamp): the org keeps the rep's name, the row gets it
    (through the inbound apply path, not pushed back), the conflict is in sync_log; the poll
    afterwards finds nothing left to do."""
    pipeline.apply(config(salesforce.base_url, conflict="crm_wins"))
    row_id, sf_id = push_one(pipeline, "ada@example.com", lambda e: with_id(salesforce, e))
    pipeline.wait_idle()
    wait_until(lambda: high_water(pipeline), 10)
    with stopped(pipeline.procs, "beat"):
        with stopped(pipeline.procs, "push-salesforce"):
            sim_edit(salesforce, OBJECT, action="update", id=sf_id, fields={"FirstName": "Adele"})
            pipeline.db.execute(
                "UPDATE demo.contacts SET first_name = 'Augusta' WHERE id = %s", (row_id,)
            )
            wait_until(
                lambda: (
                    pipeline.db.execute(
                        "SELECT count(*) AS n FROM syncsvc.outbox WHERE version > delivered_version"
                    ).fetchone()["n"]  # type: ignore[index]
                    == 1
                ),
                30,
                message=pipeline.describe,
            )
        pipeline.wait_idle()
        assert (row(pipeline, id=row_id) or {}).get("first_name") == "Adele"
        assert (in_crm(salesforce, "ada@example.com") or {}).get("FirstName") == "Adele"
    wait_until(lambda: inbound_statuses(pipeline).get("received", 0) == 0, 15)
    pipeline.wait_idle()
    assert (row(pipeline, id=row_id) or {}).get("first_name") == "Adele"
    assert (in_crm(salesforce, "ada@example.com") or {}).get("FirstName") == "Adele"
    conflicts = pipeline.db.execute(
        "SELECT error_code, error_message FROM syncsvc.sync_log WHERE status = 'conflict'"
    ).fetchall()
    assert [c["error_code"] for c in conflicts] == ["first_name"], conflicts
    message = conflicts[0]["error_message"]
    assert 'internal="Augusta"' in message and 'crm="Adele"' in message, message
    assert "winner=crm" in message, message
    # Ada's upsert and the push of the table's edit (without the first name the org won)
    assert pushed_ops(salesforce, OBJECT) == ["upsert", "upsert"], salesforce.acks()
