"""The HubSpot client survives the ways HubSpot's batch writes really fail (issue 11): a whole
batch refused with 409 for one input's unique value, and answers without trace ids."""

from __future__ import annotations

import math

import pytest

from providers.base import PushItem
from providers.hubspot.sim import HubSpotSim
from providers.simulation import SimServer
from syncsvc.errors import PermanentError
from tests.integration.providers.conftest import MakeClient, StartSim
from tests.integration.providers.helpers import by_id
from tests.integration.providers.hubspot_openapi import Recorder

Sim = tuple[SimServer, HubSpotSim]
HELD = "held@example.com"


def contact(n: int, op: str, email: str | None = None) -> PushItem:
    """A contact keyed by ``syncsvc_id``; its email is another unique value."""
    properties = {"syncsvc_id": str(n), "email": email or f"c{n}@example.com"}
    return PushItem(n, "contacts", op, str(n), "syncsvc_id", str(n), properties, None, 1)


@pytest.mark.parametrize(
    ("op", "options"),
    [("upsert", {}), ("create", {"strict": True})],
    ids=["upsert", "create-strict"],
)
def test_a_batch_refused_with_409_dead_letters_only_the_conflicting_input(
    start_sim: StartSim,
    make_client: MakeClient,
    recorder: Recorder,
    op: str,
    options: dict[str, bool],
) -> None:
    server, sim = start_sim(**options)
    client = make_client(server=server)
    [holder] = client.push("contacts", "upsert", [contact(1000, "upsert", HELD)])
    batch = [contact(n, op, HELD if n == 37 else None) for n in range(1, 101)]
    sent_before = len(recorder.batch_exchanges())

    results = by_id(client.push("contacts", op, batch))

    calls = recorder.batch_exchanges()[sent_before:]
    assert calls[0].status_code == 409, "HubSpot refuses the whole call"
    failed = results.pop(37)
    assert isinstance(failed.error, PermanentError) and failed.error.code == "CONFLICT"
    assert f"Contact already exists. Existing ID: {holder.external_id}" in str(failed.error)
    assert [n for n, r in results.items() if not r.ok] == []
    stored = {r["properties"]["syncsvc_id"] for r in sim.dump("contacts")}
    assert stored == {str(n) for n in range(1, 101) if n != 37} | {"1000"}
    assert len(calls) <= 1 + 2 * math.ceil(math.log2(len(batch)))


def by_email(n: int, email: str, external_id: str | None = None) -> PushItem:
    properties = {"email": email, "firstname": f"User {n}"}
    return PushItem(n, "contacts", "upsert", str(n), "email", email, properties, external_id, 1)


def test_results_without_trace_ids_are_matched_by_the_key_sent_not_a_remembered_id(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(echo_trace_ids=False)
    client = make_client(server=server)
    old = [by_email(1, "one@example.com"), by_email(2, "two@example.com")]
    first = by_id(client.push("contacts", "upsert", old))
    # Contact 1 moves to a new address and contact 2 takes over 1's old one: upserting by
    # email, HubSpot creates a record for 1 and updates 1's old record for 2.
    took_over = by_email(2, "one@example.com", first[2].external_id)
    moved = by_email(1, "moved@example.com", first[1].external_id)

    results = by_id(client.push("contacts", "upsert", [took_over, moved]))

    holder = {r["properties"]["email"]: r["id"] for r in sim.dump("contacts")}
    assert (results[1].external_id, results[1].created) == (holder["moved@example.com"], True)
    assert (results[2].external_id, results[2].created) == (holder["one@example.com"], False)
