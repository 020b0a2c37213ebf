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
from tests.support.inbound import fresh_sim, running_sim
from tests.support.inbound_flow import (
    ContactFields,
    edits_arrive_without_ping_pong,
    edits_while_down_arrive,
)
from tests.support.sim import SimControl

pytestmark = pytest.mark.e2e

CONNECTION = "sf-inbound"
CONTACTS = ContactFields(
    obj="Contact",
    id_field="Id",
    key_field="Syncsvc_Id__c",
    fields={"first_name": "FirstName", "last_name": "LastName", "email": "Email", "phone": "Phone"},
)
POLL_SECONDS = 2


def config(base_url: str) -> dict[str, Any]:
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
    )


@pytest.fixture(scope="module")
def salesforce_server() -> Iterator[SimServer]:
    yield from running_sim("salesforce")


@pytest.fixture
def salesforce(salesforce_server: SimServer) -> SimControl:
    return fresh_sim(salesforce_server)


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
