"""Dataverse → internal table (issue 14): rows changed in the simulated environment arrive by
change tracking polled in beat (``Prefer: odata.track-changes``, the delta link kept in
``inbound_cursor``), deletions as ``$deletedEntity`` entries, and nothing ping-pongs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from providers.simulation import SimServer
from tests.integration.conftest import Pipeline
from tests.support.inbound import fresh_sim, running_sim
from tests.support.inbound_flow import (
    ContactFields,
    edits_arrive_without_ping_pong,
    edits_while_down_arrive,
)
from tests.support.sim import SimControl

pytestmark = pytest.mark.e2e

CONNECTION = "dv-inbound"
CONTACTS = ContactFields(
    obj="contacts",
    id_field="contactid",
    key_field="syncsvc_externalid",
    fields={
        "first_name": "firstname",
        "last_name": "lastname",
        "email": "emailaddress1",
        "phone": "telephone1",
    },
)
POLL_SECONDS = 2


def config(base_url: str) -> dict[str, Any]:
    return CONTACTS.config(
        connection=CONNECTION,
        provider="dynamics",
        base_url=base_url,
        options={"token_url": f"{base_url}/demo-tenant/oauth2/v2.0/token"},
        credentials={
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "tenant_id": "demo-tenant",
        },
        webhooks=False,
        poll_seconds=POLL_SECONDS,
    )


@pytest.fixture(scope="module")
def dynamics_server() -> Iterator[SimServer]:
    yield from running_sim("dynamics")


@pytest.fixture
def dynamics(dynamics_server: SimServer) -> SimControl:
    return fresh_sim(dynamics_server)


def cursor_token(pipeline: Pipeline) -> str:
    found = pipeline.db.execute(
        "SELECT token FROM syncsvc.inbound_cursor WHERE object = 'contacts'"
    ).fetchone()
    return str(found["token"]) if found and found["token"] else ""


def test_changes_arrive_by_change_tracking_without_ping_pong(
    pipeline: Pipeline, dynamics: SimControl
) -> None:
    """The first poll reads the table once and keeps its delta link in PostgreSQL; change
    tracking's report of our own writes changes nothing."""
    pipeline.apply(config(dynamics.base_url))
    statuses = edits_arrive_without_ping_pong(
        pipeline,
        dynamics,
        CONTACTS,
        ("phone", "+49 30 1234567"),
        settled=lambda: cursor_token(pipeline).startswith("delta /api/data/v9.2/contacts?"),
    )
    assert statuses["applied"] == 3, statuses


def test_a_restart_resumes_from_the_stored_delta_link(
    pipeline: Pipeline, dynamics: SimControl
) -> None:
    """Deletions appear only in delta answers (a fresh read of the table does not show what is
    gone): a row deleted in Dataverse while beat and the workers were down is deleted once they
    are back, because the next poll starts from the delta link kept in PostgreSQL."""
    pipeline.apply(config(dynamics.base_url))
    token, after = edits_while_down_arrive(
        pipeline,
        dynamics,
        CONTACTS,
        settled=lambda: cursor_token(pipeline).startswith("delta "),
        cursor=lambda: cursor_token(pipeline),
    )
    assert after != token  # moved on from the link it resumed from
