"""Issue 14: every process restarted and Redis lost (flushed by a restart) while sales reps keep
editing in HubSpot: every change arrives, each written to the internal table once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.integration.inbound.conftest import InboundWorld, connection_config
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

PUSHED = 24
DELETED = 4
EDITS = 90
CREATE_EVERY = 6


@pytest.fixture
def fresh(world: InboundWorld) -> Iterator[InboundWorld]:
    world.reset()
    yield world


class SalesReps(threading.Thread):
    """Edits at a steady pace: a new first name on a pushed contact (a value never used
    before), every ``CREATE_EVERY``-th edit a new contact, and the ``DELETED`` ones deleted."""

    def __init__(self, world: InboundWorld, crm_ids: list[str], doomed: list[str]) -> None:
        super().__init__(daemon=True)
        self.world, self.crm_ids, self.doomed = world, crm_ids, doomed
        self.created: list[str] = []
        self.halfway = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for i in range(EDITS):
                if i == EDITS // 3:
                    self.halfway.set()
                if i % CREATE_EVERY == 0:
                    email = f"created{i}@example.com"
                    self.world.sim_edit("create", properties={"email": email, "firstname": "New"})
                    self.created.append(email)
                else:
                    crm_id = self.crm_ids[i % len(self.crm_ids)]
                    self.world.sim_edit("update", id=crm_id, properties={"firstname": f"e{i}"})
                if i in (10, 30, 50, 70):
                    self.world.sim_edit("delete", id=self.doomed.pop())
                threading.Event().wait(0.15)
        except BaseException as exc:  # surfaced by the test
            self.error = exc


def test_restart_everything_and_lose_redis_mid_stream(fresh: InboundWorld) -> None:
    world = fresh
    world.apply(connection_config(world.hubspot.base_url, poll_seconds=3))
    for n in range(PUSHED + DELETED):
        world.db.execute(
            "INSERT INTO demo.contacts (email, first_name, last_name) VALUES (%s, 'Ada', 'L')",
            (f"pushed{n}@example.com",),
        )
    crm = wait_until(
        lambda: (c := world.crm_contacts()) and len(c) == PUSHED + DELETED and c,
        60,
        message=world.describe,
    )
    ids = sorted(crm, key=int)
    reps = SalesReps(world, ids[:PUSHED], ids[PUSHED:])
    reps.start()
    assert reps.halfway.wait(60)
    world.kill_all()
    world.redis.restart_empty(2)
    world.start()
    # HubSpot's webhooks failed meanwhile (its retries carried them over the outage).
    assert world.hubspot.stats()["webhook_failures"] > 0
    reps.join(120)
    assert reps.error is None, reps.error
    assert not reps.is_alive()

    def settled() -> bool:
        if not world.quiet():
            return False
        crm = world.crm_contacts()
        rows = world.rows()
        by_email = {r["email"]: r for r in rows.values()}
        return len(rows) == len(crm) and all(
            (by_email.get(p["email"]) or {}).get("first_name") == p["firstname"]
            for p in crm.values()
        )

    wait_until(settled, 90, message=world.describe)

    crm = world.crm_contacts()
    rows = world.rows()
    assert len(rows) == PUSHED + len(reps.created)
    assert sorted(p["email"] for p in crm.values()) == sorted(r["email"] for r in rows.values())
    # Exactly once: every created contact was inserted once, and no first name was written twice.
    inbound = world.writes()
    inserts = Counter(w["email"] for w in inbound if w["op"] == "INSERT")
    assert sorted(inserts) == sorted(reps.created)
    assert set(inserts.values()) == {1}
    updates = Counter((w["row_id"], w["first_name"]) for w in inbound if w["op"] == "UPDATE")
    assert [u for u, n in updates.items() if n > 1] == []
    assert Counter(w["op"] for w in inbound)["DELETE"] == DELETED
    # Nothing else wrote: the only writes without the inbound origin are the test's inserts.
    assert len(world.writes(origin=None)) == PUSHED + DELETED
    # Every created contact carries its internal key at HubSpot (so pushes find it by key)...
    keys = {r["email"]: str(r["id"]) for r in rows.values()}
    wait_until(
        lambda: all(p.get("syncsvc_id") == keys[p["email"]] for p in world.crm_contacts().values()),
        30,
        message=lambda: str(world.crm_contacts()),
    )
    # ...and nothing went back and forth: HubSpot got the initial pushes and one key write per
    # created contact, none of the inbound writes as a change of ours.
    assert len(world.hubspot.acks()) == PUSHED + DELETED + len(reps.created)
    statuses = world.inbound_statuses()
    assert statuses.get("failed", 0) == 0 and statuses.get("received", 0) == 0, statuses
    print(f"inbound events {statuses}, inbound writes {len(inbound)}, sim {world.hubspot.stats()}")
