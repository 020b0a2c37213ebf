"""Issue 11, part 1: the simulators fail the way the CRMs fail, and the whole pipeline survives.

- An access token that expires mid-run (each CRM's own expiry answer: HubSpot 401
  ``EXPIRED_AUTHENTICATION``, Salesforce 401 ``INVALID_SESSION_ID``, Zoho 401 ``INVALID_TOKEN``,
  Pipedrive 401, Dataverse 401 with ``WWW-Authenticate``) is renewed once and the push goes on:
  nothing dead-lettered, nothing paused.
- A revoked refresh token (HubSpot 400 ``BAD_REFRESH_TOKEN``, Salesforce 400 ``invalid_grant``,
  Zoho ``{"error": "invalid_code"}``, Pipedrive 400 ``invalid_grant``) pauses the connection;
  its rows wait, and after ``config apply`` with the new refresh token every row lands once.
- A batch write that fails midway (a 5xx, a dropped connection, an answer later than the read
  timeout) after the CRM applied part of it: every row ends in the CRM once, none dead.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc.demo.system import example_pointed_at, example_sim_options
from syncsvc.processes import ProcessSet
from tests.integration.conftest import Pipeline, execute
from tests.support.contacts import insert_contacts, pause_of
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

OAUTH_REFRESH = ["hubspot", "salesforce", "zoho", "pipedrive"]
"""The CRMs whose connections renew access tokens with a refresh token."""
BATCH_WRITES = ["hubspot", "salesforce", "zoho"]
"""The CRMs with batch writes (Dataverse's ``$batch``: test_dynamics_fidelity.py)."""
REFUSALS = {
    "hubspot": "BAD_REFRESH_TOKEN",
    "salesforce": "invalid_grant",
    "zoho": "invalid_code",
    "pipedrive": "Invalid grant",
}
"""What each CRM answers a revoked refresh token with, as the pause message names it."""


class Crm:
    def __init__(self, provider: str, server: SimServer) -> None:
        self.provider = provider
        self.sim = SimControl(server.url)
        self.config = example_pointed_at(provider, server.url)
        self.name: str = self.config["connections"][0]["name"]
        self.contacts: str = next(
            r["object"]
            for r in self.config["connections"][0]["rules"]
            if r["source"] == "demo.contacts"
        )

    def keys(self) -> Counter[str]:
        """How many records the CRM holds per source key (more than 1: a duplicate)."""
        answer = self.sim.http.get(
            f"{self.sim.base_url}/_sim/view", params={"object": self.contacts}, timeout=10
        )
        answer.raise_for_status()
        return Counter(str(r["key"]) for r in answer.json()["records"])

    def holds(self, wanted: set[str]) -> bool:
        return set(self.keys()) >= wanted


@pytest.fixture
def crm(request: pytest.FixtureRequest) -> Iterator[Crm]:
    provider: str = request.param
    server = SimServer(make_simulator(provider, example_sim_options(provider)), port=0).start()
    yield Crm(provider, server)
    server.stop()


def connection(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(config))
    copy["connections"][0].update(changes)
    return copy


def outbox_states(pipeline: Pipeline) -> dict[str, int]:
    rows = execute(pipeline.db, "SELECT status, count(*) AS n FROM syncsvc.outbox GROUP BY 1")
    return {r["status"]: r["n"] for r in rows}


def assert_each_once(crm: Crm, wanted: set[str], pipeline: Pipeline) -> None:
    keys = crm.keys()
    assert {k: n for k, n in keys.items() if n > 1} == {}, "a record was created twice"
    assert set(keys) == wanted
    assert pipeline.dead_letters() == []
    assert outbox_states(pipeline) == {"delivered": len(wanted)}


# expired access tokens ------------------------------------------------------------------


@pytest.mark.parametrize("crm", [*OAUTH_REFRESH, "dynamics"], indirect=True)
def test_access_tokens_expiring_mid_run_are_renewed_and_nothing_pauses(
    pipeline: Pipeline, crm: Crm
) -> None:
    rows = 100
    # Five records a call and five calls a second: the run lasts seconds, long enough to
    # expire the token twice while rows are still waiting.
    pipeline.apply(
        connection(crm.config, batch_size=5, rate_limit={"requests": 5, "per_seconds": 1})
    )
    wanted = insert_contacts(pipeline.db, rows, f"exp-{crm.provider}-")
    expired_at: list[int] = []

    def expire_twice() -> None:
        for third in (1, 2):
            while len(crm.keys()) * 3 < rows * third and not done.is_set():
                done.wait(0.05)
            if done.is_set():
                return
            # tokens issued in the last second live on: a worker process that renewed just
            # now is not refused its fresh token (which would rightly pause the connection)
            crm.sim.configure(expire_tokens=1.0)
            expired_at.append(len(crm.keys()))

    done = threading.Event()
    expirer = threading.Thread(target=expire_twice, daemon=True)
    expirer.start()
    try:
        wait_until(lambda: crm.holds(wanted), 120, message=pipeline.describe)
    finally:
        done.set()
        expirer.join(10)
    pipeline.wait_idle(60)

    assert len(expired_at) == 2 and max(expired_at) < rows, f"expired at {expired_at}"
    stats = crm.sim.stats()
    assert stats["auth_expired"] >= 1, "a call met an expired token"
    assert stats["tokens_issued"] >= 2, "the client renewed its token"
    assert pause_of(pipeline.db, crm.name) is None
    assert_each_once(crm, wanted, pipeline)


# revoked refresh tokens -----------------------------------------------------------------


def waiting_paused(pipeline: Pipeline, name: str, pending: int) -> bool:
    row = execute(
        pipeline.db,
        "SELECT count(*) FILTER (WHERE status = 'pending') AS pending, "
        "count(*) FILTER (WHERE lease_until > now()) AS leased FROM syncsvc.outbox",
    )[0]
    return pause_of(pipeline.db, name) is not None and (row["pending"], row["leased"]) == (
        pending,
        0,
    )


@pytest.mark.parametrize("crm", OAUTH_REFRESH, indirect=True)
def test_a_revoked_refresh_token_pauses_and_the_new_one_delivers_every_row_once(
    pipeline: Pipeline, crm: Crm
) -> None:
    pipeline.apply(crm.config)
    first = insert_contacts(pipeline.db, 20, f"rev-{crm.provider}-a-")
    wait_until(lambda: crm.holds(first), 60, message=pipeline.describe)
    pipeline.wait_idle(60)

    renewed = f"renewed-refresh-token-{crm.provider}"
    # The app's access is revoked; the access token in hand ends its life now.
    crm.sim.configure(revoke_refresh_tokens=renewed, expire_tokens=True)
    later = insert_contacts(pipeline.db, 60, f"rev-{crm.provider}-b-")
    wait_until(lambda: waiting_paused(pipeline, crm.name, 60), 90, message=pipeline.describe)

    pause = pause_of(pipeline.db, crm.name)
    assert pause is not None and pause["reason"] == "credentials"
    assert REFUSALS[crm.provider] in pause["message"], pause["message"]
    assert pipeline.dead_letters() == []
    attempts = execute(
        pipeline.db, "SELECT max(attempts) AS n FROM syncsvc.outbox WHERE status = 'pending'"
    )
    assert attempts[0]["n"] == 0, "a refused credential is not a failed attempt"
    assert set(crm.keys()) == first

    credentials = crm.config["connections"][0]["credentials"]
    pipeline.apply(connection(crm.config, credentials={**credentials, "refresh_token": renewed}))
    wait_until(lambda: crm.holds(first | later), 90, message=pipeline.describe)
    pipeline.wait_idle(60)
    assert pause_of(pipeline.db, crm.name) is None
    assert_each_once(crm, first | later, pipeline)


# batch writes failing midway ------------------------------------------------------------


APPLIED_FIRST = 30
ROWS = 200


def fail_a_batch_midway(pipeline: Pipeline, crm: Crm, fault: dict[str, Any]) -> None:
    pipeline.apply(crm.config)
    crm.sim.configure(batch_fault={"after": APPLIED_FIRST, "times": 1, **fault})
    wanted = insert_contacts(pipeline.db, ROWS, f"mid-{crm.provider}-")
    wait_until(lambda: crm.holds(wanted), 120, message=pipeline.describe)
    pipeline.wait_idle(90)
    assert crm.sim.stats()["batch_faults"] == 1, "the fault met a batch"
    assert pause_of(pipeline.db, crm.name) is None
    assert_each_once(crm, wanted, pipeline)


@pytest.mark.parametrize("status", [503, 0], ids=["5xx", "dropped"])
@pytest.mark.parametrize("crm", BATCH_WRITES, indirect=True)
def test_a_batch_failing_midway_leaves_every_row_in_the_crm_once(
    pipeline: Pipeline, crm: Crm, status: int
) -> None:
    fail_a_batch_midway(pipeline, crm, {"status": status})


READ_TIMEOUT = 2.0
"""The push workers' read timeout in the stall test (30 s by default)."""


@pytest.fixture
def short_read_timeout(stack: ProcessSet, crm: Crm) -> Iterator[None]:
    """The CRM's push worker restarted with a read timeout the stalled answer outlasts."""
    name, args = f"push-{crm.provider}", ("worker", "--push", crm.provider, "--concurrency", "4")
    stack.stop(name)
    stack.start(name, *args, extra_env={"SYNCSVC_HTTP_READ_TIMEOUT": str(READ_TIMEOUT)})
    yield
    stack.stop(name)
    stack.start(name, *args)


@pytest.mark.parametrize("crm", BATCH_WRITES, indirect=True)
def test_a_batch_answered_after_the_read_timeout_leaves_every_row_in_the_crm_once(
    pipeline: Pipeline, crm: Crm, short_read_timeout: None
) -> None:
    fail_a_batch_midway(pipeline, crm, {"status": 503, "stall": READ_TIMEOUT * 2})
