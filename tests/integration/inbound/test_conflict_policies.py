"""Issue 14: the same contacts edited on both sides at once, under each conflict policy: both
sides end with the policy's answer, every conflict is in sync_log with both values, and the
writes on either side are bounded (nothing goes back and forth).

Half the contacts are edited in HubSpot after the internal edit (``later``), half before it
(``earlier``). In ``test_concurrent_edits_end_as_the_policy_says`` the inbound apply runs only
after both (beat, which hands events to it, is stopped meanwhile), and the push of the internal
edit only after that (its worker stopped). In ``test_a_push_before_the_crm_edit_is_read_ends_as
_the_policy_says`` it is the other way round: the push goes while the CRM's edits still wait to
be read (the webhooks delayed: beat stopped), so the push itself must see them
(``syncsvc.push.guard``); the ``later`` edits are made after the internal commit and before
persist ran (the sync worker stopped), where ``last_write_wins`` by persist time got it wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from syncsvc.db import Row
from tests.integration.inbound.conftest import InboundWorld, connection_config
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

LATER = 3
EARLIER = 3
OWNERSHIP = {"ownership": {"crm": ["first_name"], "internal": ["last_name"]}}

# policy → (config, which side's first_name and last_name win for (later, earlier) contacts)
POLICIES: dict[str, tuple[str, dict[str, Any], dict[str, tuple[str, str]]]] = {
    "internal_wins": ("internal_wins", {}, {"later": ("int", "int"), "earlier": ("int", "int")}),
    "crm_wins": ("crm_wins", {}, {"later": ("crm", "crm"), "earlier": ("crm", "crm")}),
    "last_write_wins": (
        "last_write_wins",
        {},
        {"later": ("crm", "crm"), "earlier": ("int", "int")},
    ),
    "ownership": ("internal_wins", OWNERSHIP, {"later": ("crm", "int"), "earlier": ("crm", "int")}),
}
STOPPABLE = ("beat", "push-hubspot", "worker")


@pytest.fixture
def fresh(world: InboundWorld) -> Iterator[InboundWorld]:
    world.reset()
    yield world
    for name in STOPPABLE:
        if not world.procs.alive(name):
            world.resume(name)


def received_ids(world: InboundWorld) -> set[str]:
    rows = world.db.execute(
        "SELECT DISTINCT crm_id FROM syncsvc.inbound_event WHERE status = 'received'"
    ).fetchall()
    return {r["crm_id"] for r in rows}


def crm_edit(world: InboundWorld, crm_id: str, n: int) -> None:
    world.sim_edit("update", id=crm_id, properties={"firstname": f"crm{n}", "lastname": f"crmL{n}"})


def synced_contacts(world: InboundWorld, policy: str) -> dict[int, str]:
    """The policy's config applied and LATER + EARLIER contacts in both places; their HubSpot
    ids by row id."""
    conflict, extra, _answer = POLICIES[policy]
    world.apply(connection_config(world.hubspot.base_url, conflict=conflict, inbound_extra=extra))
    total = LATER + EARLIER
    for n in range(total):
        world.db.execute(
            "INSERT INTO demo.contacts (id, email, first_name, last_name) "
            "VALUES (%s, %s, 'Ada', 'L')",
            (n, f"c{n}@example.com"),
        )
    wait_until(
        lambda: len(world.crm_contacts()) == total and world.quiet(), 60, message=world.describe
    )
    return {int(p["syncsvc_id"]): i for i, p in world.crm_contacts().items()}


def side(n: int) -> str:
    return "later" if n < LATER else "earlier"


def expected(policy: str, n: int) -> tuple[str, str]:
    """Contact ``n``'s first and last name once both sides settled, by the policy."""
    first, last = POLICIES[policy][2][side(n)]
    return (f"{first}{n}", f"{last}L{n}")


def internal_edit(world: InboundWorld) -> None:
    for n in range(LATER + EARLIER):
        world.db.execute(
            "UPDATE demo.contacts SET first_name = %s, last_name = %s WHERE id = %s",
            (f"int{n}", f"intL{n}", n),
        )


def wait_persisted(world: InboundWorld) -> None:
    """Every contact's internal edit is in the outbox, not yet delivered."""
    persisted = (
        "SELECT count(*) AS n FROM syncsvc.outbox WHERE status = 'pending' "
        "AND version > delivered_version"
    )
    wait_until(
        lambda: world.db.execute(persisted).fetchone()["n"] == LATER + EARLIER,  # type: ignore[index]
        30,
        message=world.describe,
    )


def both_sides_are(world: InboundWorld, crm_id: dict[int, str], policy: str) -> bool:
    rows = world.rows()
    crm = world.crm_contacts()
    return all(
        (rows[n]["first_name"], rows[n]["last_name"]) == expected(policy, n)
        and (crm[crm_id[n]]["firstname"], crm[crm_id[n]]["lastname"]) == expected(policy, n)
        for n in crm_id
    )


def both_sides(world: InboundWorld) -> str:
    return f"{world.rows()} {world.crm_contacts()} {world.describe()}"


def logged_conflicts(world: InboundWorld) -> list[Row]:
    """The conflict rows, each checked to name both values of its column."""
    conflicts = world.db.execute(
        "SELECT record_key, error_code, error_message FROM syncsvc.sync_log "
        "WHERE status = 'conflict' ORDER BY record_key, error_code"
    ).fetchall()
    for c in conflicts:
        n = int(c["record_key"])
        column = c["error_code"]
        internal, crm = (
            (f"int{n}", f"crm{n}") if column == "first_name" else (f"intL{n}", f"crmL{n}")
        )
        assert f'internal="{internal}"' in c["error_message"], c
        assert f'crm="{crm}"' in c["error_message"], c
    return conflicts


def winner(policy: str, n: int, column: str) -> str:
    first, last = POLICIES[policy][2][side(n)]
    return "crm" if (first if column == "first_name" else last) == "crm" else "internal"


@pytest.mark.parametrize("policy", list(POLICIES))
def test_concurrent_edits_end_as_the_policy_says(fresh: InboundWorld, policy: str) -> None:
    world = fresh
    crm_id = synced_contacts(world, policy)
    total = LATER + EARLIER

    world.pause("beat")
    world.pause("push-hubspot")
    for n in range(LATER, total):
        crm_edit(world, crm_id[n], n)
    wait_until(lambda: received_ids(world) >= {crm_id[n] for n in range(LATER, total)}, 30)
    internal_edit(world)
    wait_persisted(world)
    for n in range(LATER):
        crm_edit(world, crm_id[n], n)
    wait_until(lambda: received_ids(world) == set(crm_id.values()), 30)
    world.resume("beat")
    wait_until(lambda: not received_ids(world), 30, message=world.describe)
    world.resume("push-hubspot")
    wait_until(
        lambda: world.quiet() and both_sides_are(world, crm_id, policy),
        60,
        message=lambda: both_sides(world),
    )

    conflicts = logged_conflicts(world)
    assert len(conflicts) == 2 * total, conflicts
    # Bounded: besides the test's own insert and edit of each contact, the inbound path wrote
    # each contact at most once (under its origin, or none where the CRM won and the merged row
    # must reach HubSpot too), and HubSpot got the first push, the internal edit and, where the
    # CRM won, the merged row: at most three writes per contact on each side.
    writes = world.writes() + world.writes(origin=None)
    assert 2 * total <= len(writes) <= 3 * total
    assert len(world.hubspot.acks()) <= 3 * total
    print(
        f"{policy}: internal writes {len(writes)}, pushes {len(world.hubspot.acks())}, "
        f"conflicts {len(conflicts)}"
    )


@pytest.mark.parametrize("policy", list(POLICIES))
def test_a_push_before_the_crm_edit_is_read_ends_as_the_policy_says(
    fresh: InboundWorld, policy: str
) -> None:
    """The CRM's edits are made (``earlier``: before the internal edit; ``later``: after its
    commit, before persist ran) but not yet applied when the push of the internal edit goes.
    Where the policy lets the CRM win, the push reads the records first and leaves the CRM's
    values where they are; they come into the table through the inbound apply path, each
    conflict in sync_log. Under ``internal_wins`` the push overwrites them, as the policy says
    (nothing is read, nothing logged)."""
    world = fresh
    crm_id = synced_contacts(world, policy)
    total = LATER + EARLIER
    acks_before = len(world.hubspot.acks())
    settled_before = world.inbound_statuses()
    for name in STOPPABLE:
        world.pause(name)
    for n in range(LATER, total):
        crm_edit(world, crm_id[n], n)
    internal_edit(world)
    for n in range(LATER):
        crm_edit(world, crm_id[n], n)
    world.resume("worker")
    wait_persisted(world)
    world.resume("push-hubspot")
    delivered = "SELECT count(*) AS n FROM syncsvc.outbox WHERE status = 'delivered'"
    wait_until(
        lambda: world.db.execute(delivered).fetchone()["n"] == total,  # type: ignore[index]
        30,
        message=world.describe,
    )
    # The push settled while the CRM's edits still wait to be read: it decided them itself.
    statuses = world.inbound_statuses()
    assert statuses.pop("received", 0) > 0 and statuses == settled_before, statuses
    assert both_sides_are(world, crm_id, policy), both_sides(world)
    world.resume("beat")
    wait_until(
        lambda: world.quiet() and both_sides_are(world, crm_id, policy),
        60,
        message=lambda: both_sides(world),
    )

    conflicts = logged_conflicts(world)
    if policy == "internal_wins":
        assert conflicts == []
    else:
        assert len(conflicts) == 2 * total, conflicts
        for c in conflicts:
            n, column = int(c["record_key"]), c["error_code"]
            assert f"winner={winner(policy, n, column)}" in c["error_message"], c
    # Bounded: the test's own insert and edit of each contact, at most one inbound write each
    # (the CRM's won values, under the connection's origin: not pushed back), and one push of
    # each internal edit (less the fields the CRM won) after the first.
    assert len(world.writes(origin=None)) == 2 * total
    assert len(world.writes()) <= total
    assert len(world.hubspot.acks()) - acks_before == total
    print(
        f"{policy}: inbound writes {len(world.writes())}, pushes "
        f"{len(world.hubspot.acks()) - acks_before}, conflicts {len(conflicts)}"
    )


def test_a_late_echo_of_our_own_push_is_no_crm_change(fresh: InboundWorld) -> None:
    """crm_wins, the row moved on (v2 waits to be pushed) and an event for the record comes in
    (here: an edit of a property that is not mapped back): the CRM still holds v1, the value
    we delivered, which is no change of the CRM's and must not overwrite v2."""
    world = fresh
    world.apply(connection_config(world.hubspot.base_url, conflict="crm_wins"))
    world.db.execute(
        "INSERT INTO demo.contacts (id, email, first_name) VALUES (1, 'e@example.com', 'v1')"
    )
    wait_until(lambda: len(world.crm_contacts()) == 1 and world.quiet(), 60, message=world.describe)
    ((crm_id, _),) = world.crm_contacts().items()
    world.pause("push-hubspot")
    world.db.execute("UPDATE demo.contacts SET first_name = 'v2' WHERE id = 1")
    world.sim_edit("update", id=crm_id, properties={"phone": "+1 555 0100"})
    wait_until(
        lambda: world.inbound_statuses().get("ignored", 0) >= 1 and not received_ids(world),
        30,
        message=world.describe,
    )
    assert world.rows()[1]["first_name"] == "v2"
    assert world.writes() == []
    world.resume("push-hubspot")
    wait_until(
        lambda: world.quiet() and world.crm_contacts()[crm_id]["firstname"] == "v2",
        60,
        message=world.describe,
    )
    assert world.rows()[1]["first_name"] == "v2"
    conflicts = world.db.execute("SELECT * FROM syncsvc.sync_log WHERE status = 'conflict'")
    assert conflicts.fetchall() == []
