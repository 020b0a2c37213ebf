"""Pipedrive as it fails in reality (issue 11), the real client against the simulator over HTTP:
a daily-budget 429 that does not say so, and a search index that lags behind writes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from providers.base import ConnectionInfo, PushItem
from providers.pipedrive import PipedriveClient
from providers.pipedrive.sim import PipedriveSim, make_simulator
from providers.simulation import SimServer
from syncsvc.demo.system import example_pointed_at, example_sim_options
from syncsvc.errors import RateLimited
from tests.integration.conftest import Pipeline, execute
from tests.integration.providers.helpers import simulators
from tests.support.sim import SimControl
from tests.support.wait import wait_until

API_TOKEN = {"api_token": "demo-api-token"}
Started = tuple[SimServer, PipedriveSim]


@pytest.fixture
def start() -> Iterator[Callable[..., Started]]:
    with simulators(lambda o: make_simulator({**example_sim_options("pipedrive"), **o})) as run:
        yield run


@pytest.fixture
def client_for() -> Iterator[Callable[..., PipedriveClient]]:
    made: list[PipedriveClient] = []

    def make(server: SimServer, **options: Any) -> PipedriveClient:
        connection = ConnectionInfo(
            id=1,
            name="test",
            provider="pipedrive",
            base_url=server.url,
            credentials=API_TOKEN,
            options=options,
            batch_size=50,
            rate_limit_requests=80,
            rate_limit_seconds=2,
        )
        client = PipedriveClient(connection)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def person(n: int, **item: Any) -> PushItem:
    payload = {"name": f"Person {n}", "emails": f"p{n}@example.com", "syncsvc_id": str(n)}
    return PushItem(n, "persons", "upsert", str(n), "syncsvc_id", str(n), payload, None, 1, **item)


EXHAUSTED_FOR = 20.0
"""How long the test keeps the daily budget exhausted before it "resets" it."""


def test_a_daily_budget_429_without_its_headers_is_waited_out_not_hammered(
    start: Callable[..., Started], client_for: Callable[..., PipedriveClient]
) -> None:
    """Strict Pipedrive: the exhausted budget answers 429 with no x-daily-* header and the
    burst limit's body. The client, retried as the pusher does (after each wait it asks for),
    must back off instead of coming back every 2 s, and go on once the budget is back."""
    server, sim = start(strict=True)
    control = SimControl(server.url)
    client = client_for(server)
    assert client.push("persons", "upsert", [person(1, maybe_sent=False)])[0].ok
    control.configure(daily_budget=sim.extra_stats()["daily_tokens_used"])  # spent

    before = control.stats()["requests"]
    exhausted_at = time.monotonic()
    in_window: int | None = None
    waits: list[RateLimited] = []

    def budget_resets_when_due() -> None:
        nonlocal in_window
        if in_window is None and time.monotonic() - exhausted_at >= EXHAUSTED_FOR:
            in_window = control.stats()["requests"] - before
            control.configure(daily_budget=1_000_000)

    while True:
        assert time.monotonic() - exhausted_at < EXHAUSTED_FOR + 60, "never got through"
        try:
            [result] = client.push("persons", "upsert", [person(2, maybe_sent=False)])
            break
        except RateLimited as exc:
            waits.append(exc)
            due = time.monotonic() + exc.retry_after
            while time.monotonic() < due:
                budget_resets_when_due()
                time.sleep(0.02)
    assert result.ok
    assert in_window is not None, "the client got through while the budget was exhausted"
    # 2 s apart (as without the fix) would be 10+ requests; backing off 2, 2, 4, 8, 16 s is 5
    assert in_window <= 6, [round(w.retry_after, 1) for w in waits]
    assert waits[-1].daily, "the 429s should have been taken for the daily budget"
    assert waits[-1].retry_after >= 8
    assert sim.extra_stats()["daily_refused"] == len(waits)


@pytest.fixture
def lagging_pipedrive(start: Callable[..., Started], pipeline: Pipeline) -> SimControl:
    """Strict Pipedrive (search 3 s behind writes) behind the running pipeline."""
    server, _ = start(strict=True)
    pipeline.apply(example_pointed_at("pipedrive", server.url))
    return SimControl(server.url)


def people(sim: SimControl) -> dict[str, int]:
    """How many persons the account holds per syncsvc_id."""
    held: dict[str, int] = {}
    for record in sim.http.get(
        f"{sim.base_url}/_sim/view", params={"object": "persons"}, timeout=10
    ).json()["records"]:
        held[str(record["key"])] = held.get(str(record["key"]), 0) + 1
    return held


def test_a_create_whose_answer_was_lost_is_not_created_again_while_search_lags(
    pipeline: Pipeline, lagging_pipedrive: SimControl
) -> None:
    """Pipedrive applies the POST and the answer never arrives; the retry's search runs before
    the index has the new person. The row must wait for the index, then update that person,
    not create a second one."""
    sim = lagging_pipedrive
    sim.fault("lose_answer", seconds=120, method="POST", path="/api/v2/persons", count=1)
    [row] = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "VALUES ('lost.answer@example.com', 'Lost', 'Answer', 'lead') RETURNING id",
    )
    key = str(row["id"])
    wait_until(lambda: sim.stats()["faulted"] == 1, 60, message=pipeline.describe)
    pipeline.wait_idle(90)
    assert people(sim) == {key: 1}
    assert pipeline.dead_letters() == []
    log = pipeline.db.execute(
        "SELECT status, at, error_message FROM syncsvc.sync_log WHERE record_key = %s ORDER BY id",
        (key,),
    ).fetchall()
    statuses = [r["status"] for r in log]
    assert "wait" in statuses, [
        (r["status"], r["at"].time(), r["error_message"]) for r in log
    ] + sim.acks()


def test_a_push_worker_killed_after_its_create_reached_pipedrive_does_not_duplicate_it(
    pipeline: Pipeline, start: Callable[..., Started]
) -> None:
    """Pipedrive applies the POST; the push worker dies before the answer comes. The row goes
    again once the dead worker's lease is released, while search (45 s behind here) still does
    not show the person: it must wait for the index, not create a second person."""
    server, _ = start(strict=True, search_lag_seconds=45)
    pipeline.apply(example_pointed_at("pipedrive", server.url))
    sim = SimControl(server.url)
    sim.fault("slow", seconds=120, delay=30, method="POST", path="/api/v2/persons", count=1)
    [row] = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "VALUES ('killed.worker@example.com', 'Killed', 'Worker', 'lead') RETURNING id",
    )
    key = str(row["id"])
    wait_until(lambda: people(sim) == {key: 1}, 60, message=pipeline.describe)
    worker = pipeline.procs.procs["push-pipedrive"]
    pipeline.procs.kill("push-pipedrive")
    pipeline.procs.start("push-pipedrive", *worker.args)
    pipeline.wait_idle(150)
    assert people(sim) == {key: 1}
    assert pipeline.dead_letters() == []
