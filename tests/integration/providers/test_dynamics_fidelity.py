"""Issue 11: the Dataverse simulator fails the way Dataverse fails, and the client survives it.

- Mismatch 4: Dataverse runs a ``$batch``'s requests one after another, so a batch takes as long
  as its requests; 1000 of them outlast a read timeout and are abandoned and sent again. The
  client sizes batches by the time answers take.
- 5xx and dropped connections mid-batch: the first requests were applied, the rest not, and the
  client cannot know which. Every resend must find what the first send made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from providers.base import ConnectionInfo, HttpTimeouts, PushItem
from providers.dynamics import DynamicsClient
from providers.dynamics.sim import make_simulator as make_dynamics
from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc.demo.system import example_pointed_at, example_sim_options
from syncsvc.errors import RetryableError
from tests.integration.conftest import Pipeline, execute
from tests.integration.providers.helpers import serving
from tests.support.sim import SimControl

CREDENTIALS = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "tenant_id": "demo-tenant",
}
KEY = "syncsvc_externalid"
READ_TIMEOUT = 3.0
"""Lowered from 30 s to keep the test short; the ratio to the server's pace is what matters."""
OP_SECONDS = 0.01
"""Server time per request: 1000 requests take 10 s, more than three times the read timeout."""


def contact(n: int) -> PushItem:
    payload = {KEY: str(n), "firstname": f"User {n}", "lastname": f"Last {n}"}
    return PushItem(n, "contacts", "upsert", str(n), KEY, str(n), payload, None, 1)


def test_batches_sized_by_time_are_answered_within_the_read_timeout_and_sent_once() -> None:
    rows = 500
    options = {**example_sim_options("dynamics"), "batch_op_seconds": OP_SECONDS}
    with serving(make_dynamics(options)) as (server, sim):
        connection = ConnectionInfo(
            1, "fidelity", "dynamics", server.url, CREDENTIALS,
            {"token_url": f"{server.url}/demo-tenant/oauth2/v2.0/token"}, 1000, 6000, 300,
        )  # fmt: skip
        client = DynamicsClient(connection, timeouts=HttpTimeouts(5.0, READ_TIMEOUT))
        assert client.batch_size == 1000, "the connection allows Dataverse's maximum"
        pending, timeouts, pushes = [contact(n) for n in range(1, rows + 1)], 0, 0
        while pending and pushes < 5:  # what the Pusher does: unanswered rows go again
            pushes += 1
            try:
                results = {r.outbox_id: r for r in client.push("contacts", "upsert", pending)}
            except RetryableError:
                timeouts += 1
                continue
            pending = [i for i in pending if not results[i.outbox_id].ok]
        client.close()
        stats = sim.extra_stats()
        writes = Counter(a["key"] for a in sim.acks)

    assert pending == [], f"{len(pending)} rows never answered; {timeouts} pushes timed out"
    assert timeouts == 0
    assert stats["slowest_batch_seconds"] < READ_TIMEOUT
    assert stats["records"]["contacts"] == rows
    assert set(writes) == {str(n) for n in range(1, rows + 1)}
    assert set(writes.values()) == {1}, "every row written once: no batch was sent twice"
    assert stats["operations"] == rows


# The whole pipeline: rows in the CRM once each vs dead letters ---------------------------------


@pytest.fixture(scope="module")
def dataverse() -> Iterator[tuple[SimServer, SimControl]]:
    server = SimServer(make_simulator("dynamics", example_sim_options("dynamics")), port=0).start()
    yield server, SimControl(server.url)
    server.stop()


def keyless_creates(url: str) -> dict[str, Any]:
    """The example connection, but contacts are created in a table with no alternate key in the
    mapping: nothing in the record itself stops a second copy."""
    config = example_pointed_at("dynamics", url)
    connection = config["connections"][0]
    mappings = connection["objects"]["contacts"]["mappings"]
    connection["objects"]["contacts"]["mappings"] = [m for m in mappings if m["target"] != KEY]
    connection["rules"] = [
        {"name": "contacts", "source": "demo.contacts", "operations": ["insert"],
         "action": "create", "object": "contacts"},
    ]  # fmt: skip
    return config


def held_contacts(sim: SimControl) -> list[dict[str, Any]]:
    answer = sim.http.get(f"{sim.base_url}/_sim/view", params={"object": "contacts"}, timeout=10)
    answer.raise_for_status()
    records: list[dict[str, Any]] = answer.json()["records"]
    return records


@pytest.mark.e2e
@pytest.mark.parametrize("status", [503, 0], ids=["5xx", "dropped"])
def test_a_batch_failing_midway_leaves_every_row_delivered_once_and_none_dead(
    pipeline: Pipeline, dataverse: tuple[SimServer, SimControl], status: int
) -> None:
    server, sim = dataverse
    sim.reset()
    pipeline.apply(keyless_creates(server.url))
    applied_first = 30
    sim.configure(batch_fault={"after": applied_first, "status": status, "times": 1})
    rows = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "SELECT 'mid' || g || '@example.com', 'Mid', 'Batch' || g, 'lead' "
        "FROM generate_series(1, 200) g RETURNING email",
    )
    emails = {r["email"] for r in rows}

    pipeline.wait_idle(90)
    assert sim.stats()["batch_faults"] == 1, "the fault hit a batch"
    held = Counter(r["fields"].get("emailaddress1") for r in held_contacts(sim))
    duplicated = {e: n for e, n in held.items() if n > 1}
    assert duplicated == {}, f"{len(duplicated)} rows created twice"
    assert set(held) == emails
    assert pipeline.dead_letters() == []
    states = execute(pipeline.db, "SELECT status, count(*) AS n FROM syncsvc.outbox GROUP BY 1")
    assert {r["status"]: r["n"] for r in states} == {"delivered": len(emails)}
