"""Dataverse → internal table (issue 14): rows changed in the simulated environment arrive by
change tracking polled in beat (``Prefer: odata.track-changes``, the delta link kept in
``inbound_cursor``), deletions as ``$deletedEntity`` entries, and nothing ping-pongs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from providers.simulation import SimServer
from tests.integration.conftest import Pipeline
from tests.support.inbound import (
    beat_and_worker_stopped,
    contacts_config,
    fresh_sim,
    inbound_statuses,
    pushed_ops,
    running_sim,
    sim_edit,
)
from tests.support.inbound import contact_row as row
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

CONNECTION = "dv-inbound"
OBJECT = "contacts"
POLL_SECONDS = 2


def config(base_url: str) -> dict[str, Any]:
    return contacts_config(
        connection=CONNECTION,
        provider="dynamics",
        base_url=base_url,
        options={"token_url": f"{base_url}/demo-tenant/oauth2/v2.0/token"},
        credentials={
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "tenant_id": "demo-tenant",
        },
        obj=OBJECT,
        key_field="syncsvc_externalid",
        outbound=[
            {"source": "id", "target": "syncsvc_externalid", "transforms": ["to_string"]},
            {"source": "first_name", "target": "firstname"},
            {"source": "last_name", "target": "lastname"},
            {"source": "email", "target": "emailaddress1"},
            {"source": "phone", "target": "telephone1"},
        ],
        inbound=[
            {"source": "emailaddress1", "target": "email"},
            {"source": "firstname", "target": "first_name"},
            {"source": "lastname", "target": "last_name"},
            {"source": "telephone1", "target": "phone"},
        ],
        webhooks=False,
        poll_seconds=POLL_SECONDS,
    )


@pytest.fixture(scope="module")
def dynamics_server() -> Iterator[SimServer]:
    yield from running_sim("dynamics")


@pytest.fixture
def dynamics(dynamics_server: SimServer) -> SimControl:
    return fresh_sim(dynamics_server)


def in_crm(dynamics: SimControl, email: str) -> dict[str, Any] | None:
    return next((r for r in dynamics.records("contacts") if r.get("emailaddress1") == email), None)


def cursor_token(pipeline: Pipeline) -> str:
    found = pipeline.db.execute(
        "SELECT token FROM syncsvc.inbound_cursor WHERE object = 'contacts'"
    ).fetchone()
    return str(found["token"]) if found and found["token"] else ""


def test_changes_arrive_by_change_tracking_without_ping_pong(
    pipeline: Pipeline, dynamics: SimControl
) -> None:
    pipeline.apply(config(dynamics.base_url))
    inserted = pipeline.db.execute(
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "VALUES ('ada@example.com', 'Ada', 'Lovelace', 'lead') RETURNING id"
    ).fetchone()
    assert inserted is not None
    row_id = int(inserted["id"])
    ada = wait_until(lambda: in_crm(dynamics, "ada@example.com"), 30, message=pipeline.describe)
    pipeline.wait_idle()
    # the first poll read the table once and keeps its delta link in PostgreSQL
    wait_until(lambda: cursor_token(pipeline).startswith("delta /api/data/v9.2/contacts?"), 10)

    dv_id = ada["contactid"]
    sim_edit(dynamics, OBJECT, action="update", id=dv_id, fields={"telephone1": "+49 30 1234567"})
    wait_until(lambda: (row(pipeline, id=row_id) or {}).get("phone") == "+49 30 1234567", 10)

    sim_edit(
        dynamics,
        OBJECT,
        action="create",
        fields={"firstname": "Grace", "lastname": "Hopper", "emailaddress1": "grace@example.com"},
    )
    new_row = wait_until(lambda: row(pipeline, email="grace@example.com"), 10)
    assert (new_row["first_name"], new_row["last_name"]) == ("Grace", "Hopper")
    wait_until(
        lambda: (
            (in_crm(dynamics, "grace@example.com") or {}).get("syncsvc_externalid")
            == str(new_row["id"])
        ),
        10,
    )

    sim_edit(dynamics, OBJECT, action="delete", id=dv_id)
    wait_until(lambda: row(pipeline, id=row_id) is None, 10)

    pipeline.wait_idle()
    wait_until(lambda: inbound_statuses(pipeline).get("received", 0) == 0, 10)
    statuses = inbound_statuses(pipeline)
    assert statuses.get("failed", 0) == 0 and statuses["applied"] == 3, statuses
    # Ada's upsert and Grace's key going back: the inbound writes were not captured back to
    # Dataverse, and change tracking's report of our own writes changed nothing.
    assert pushed_ops(dynamics, OBJECT) == ["upsert", "update"], dynamics.acks()
    assert [r["emailaddress1"] for r in dynamics.records("contacts")] == ["grace@example.com"]
    deleted = pipeline.db.execute(
        "SELECT count(*) AS n FROM syncsvc.inbound_event WHERE kind = 'delete'"
    ).fetchone()
    assert deleted is not None and deleted["n"] == 1


def test_a_restart_resumes_from_the_stored_delta_link(
    pipeline: Pipeline, dynamics: SimControl
) -> None:
    """Deletions appear only in delta answers (a fresh read of the table does not show what is
    gone): a row deleted in Dataverse while beat and the workers were down is deleted once they
    are back, because the next poll starts from the delta link kept in PostgreSQL."""
    pipeline.apply(config(dynamics.base_url))
    inserted = pipeline.db.execute(
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "VALUES ('alan@example.com', 'Alan', 'Turing', 'lead'), "
        "('joan@example.com', 'Joan', 'Clarke', 'lead') RETURNING id"
    ).fetchall()
    alan_row, joan_row = (int(r["id"]) for r in inserted)
    alan = wait_until(lambda: in_crm(dynamics, "alan@example.com"), 30, message=pipeline.describe)
    joan = wait_until(lambda: in_crm(dynamics, "joan@example.com"), 30, message=pipeline.describe)
    pipeline.wait_idle()
    wait_until(lambda: cursor_token(pipeline).startswith("delta "), 10)
    with beat_and_worker_stopped(pipeline.procs):
        token = cursor_token(pipeline)
        sim_edit(dynamics, OBJECT, action="delete", id=alan["contactid"])
        sim_edit(
            dynamics, OBJECT, action="update", id=joan["contactid"], fields={"lastname": "Murray"}
        )
    wait_until(lambda: row(pipeline, id=alan_row) is None, 30, message=pipeline.describe)
    wait_until(lambda: (row(pipeline, id=joan_row) or {}).get("last_name") == "Murray", 30)
    assert cursor_token(pipeline) != token  # moved on from the link it resumed from
    assert pushed_ops(dynamics, OBJECT) == ["upsert", "upsert"], dynamics.acks()
