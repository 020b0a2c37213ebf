"""The poll feed over HTTP: commit order, a cursor that never skips (I-6), ack semantics."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from syncsvc.db import Row, connect
from syncsvc.pipeline.batch import Batch, OutboxItem
from syncsvc.pipeline.persist import persist_batch
from tests.integration.api.conftest import Api, ApiWorld, contacts_connection
from tests.integration.conftest import execute
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


def item(key: str, version: int, name: str) -> OutboxItem:
    return OutboxItem(
        object="contacts",
        record_key=key,
        source_table="demo.contacts",
        op="upsert",
        id_property="syncsvc_id",
        id_value=key,
        payload={"syncsvc_id": key, "firstname": name},
        version=version,
    )


def persist(db: psycopg.Connection[Row], connection_id: int, *items: OutboxItem) -> None:
    """What the chain's persist step does, in the caller's (open) transaction."""
    persist_batch(
        db,
        Batch(
            connection_id=connection_id,
            table="demo.contacts",
            event_ids=[],
            records=[],
            items=list(items),
        ),
    )


def keys_of(page: dict[str, Any]) -> list[str]:
    return [c["record_key"] for c in page["changes"]]


def read_until(api: Api, name: str, cursor: str, count: int) -> list[dict[str, Any]]:
    """Follow the feed from ``cursor`` until ``count`` changes came (other sessions' open
    transactions on the same server may hold the feed back for a while: it waits, never skips).
    """
    seen: list[dict[str, Any]] = []
    position = {"cursor": cursor}

    def step() -> bool:
        page = api.changes(name, cursor=position["cursor"]).json()
        seen.extend(page["changes"])
        position["cursor"] = page["next_cursor"]
        return len(seen) >= count

    wait_until(step, 90, interval=0.1, message=lambda: f"saw {seen}")
    return seen


def test_a_later_transaction_that_commits_first_is_held_back_not_skipped(
    world: ApiWorld,
) -> None:
    world.connections(contacts_connection("feed"))
    cid = world.connection_id("feed")
    api = world.client("feed", "read")
    start = api.changes("feed").json()
    assert start["changes"] == []

    first = connect(world.pipeline.settings.db_url)  # gets the lower transaction id
    second = connect(world.pipeline.settings.db_url)
    try:
        persist(first, cid, item("a", 1, "written first, committed last"))
        persist(second, cid, item("b", 2, "written second, committed first"))
        second.commit()
        # b is committed and visible, but a transaction older than b is still running: a
        # cursor past b now would never see a. The feed waits.
        held = api.changes("feed", cursor=start["next_cursor"]).json()
        assert held["changes"] == []
        assert held["next_cursor"] == start["next_cursor"]
        first.commit()
    finally:
        first.close()
        second.close()
    changes = read_until(api, "feed", start["next_cursor"], 2)
    assert [c["record_key"] for c in changes] == ["a", "b"], "transaction order, none skipped"
    assert [c["payload"]["firstname"] for c in changes] == [
        "written first, committed last",
        "written second, committed first",
    ]


def test_a_long_transaction_anywhere_holds_the_feed_back_until_it_ends(world: ApiWorld) -> None:
    world.connections(contacts_connection("feed"))
    cid = world.connection_id("feed")
    api = world.client("feed", "read")
    start = api.changes("feed").json()["next_cursor"]
    idle = connect(world.pipeline.settings.db_url)
    try:
        idle.execute("SELECT pg_current_xact_id()")  # an unrelated writer, still open
        with connect(world.pipeline.settings.db_url) as db, db.transaction():
            persist(db, cid, item("c", 3, "committed"))
        assert api.changes("feed").json()["changes"] == []
        idle.rollback()
    finally:
        idle.close()
    assert [c["record_key"] for c in read_until(api, "feed", start, 1)] == ["c"]


def wait_pending(world: ApiWorld, cid: int, n: int) -> None:
    def count() -> bool:
        row = world.pipeline.db.execute(
            "SELECT count(*) AS n FROM syncsvc.outbox WHERE connection_id = %s AND status = 'pending'",
            (cid,),
        ).fetchone()
        return row is not None and row["n"] == n

    wait_until(count, 120, message=world.pipeline.describe)


def visible(api: Api, n: int) -> dict[str, Any]:
    """Wait until the feed (read without acknowledging) shows ``n`` changes."""
    page: dict[str, Any] = wait_until(
        lambda: p if len((p := api.changes("feed", limit=100).json())["changes"]) == n else None,
        90,
    )
    return page


def test_unacknowledged_changes_are_served_again_and_acknowledged_ones_never(
    world: ApiWorld,
) -> None:
    world.connections(contacts_connection("feed"))
    cid = world.connection_id("feed")
    api: Api = world.client("feed", "write")
    ids = [
        r["id"]
        for r in execute(
            world.pipeline.db,
            "INSERT INTO demo.contacts (email, first_name) "
            "SELECT 'p' || g || '@example.com', 'P' || g FROM generate_series(1, 5) g RETURNING id",
        )
    ]
    wait_pending(world, cid, 5)
    visible(api, 5)

    one = api.changes("feed", limit=2).json()
    assert len(one["changes"]) == 2 and one["has_more"] is True
    assert api.changes("feed", limit=2).json() == one, "not acknowledged: served again"
    two = api.changes("feed", limit=2, cursor=one["next_cursor"]).json()
    assert len(two["changes"]) == 2
    served = keys_of(one) + keys_of(two)
    assert len(set(served)) == 4 and set(served) < {str(i) for i in ids}
    (last,) = {str(i) for i in ids} - set(served)

    ack = api.ack("feed", two["next_cursor"])
    assert ack.status_code == 200
    assert ack.json() == {"connection": "feed", "acked_cursor": two["next_cursor"], "delivered": 4}

    rest = api.changes("feed").json()
    assert keys_of(rest) == [last], "without a cursor: from the acknowledged position"
    assert keys_of(api.changes("feed", cursor=one["next_cursor"]).json()) == [last], (
        "an older cursor cannot reach behind the acknowledged position"
    )
    for cursor in (two["next_cursor"], one["next_cursor"]):  # repeat, then go backwards
        again = api.ack("feed", cursor).json()
        assert again == {"connection": "feed", "acked_cursor": two["next_cursor"], "delivered": 0}

    rows = {
        r["record_key"]: r
        for r in execute(
            world.pipeline.db,
            "SELECT record_key, status, version, delivered_version FROM syncsvc.outbox "
            "WHERE connection_id = %s",
            cid,
        )
    }
    assert {k: (r["status"], r["delivered_version"] == r["version"]) for k, r in rows.items()} == {
        **{k: ("delivered", True) for k in served},
        last: ("pending", False),
    }

    # A delivered record that changes comes back, after what was already waiting.
    execute(
        world.pipeline.db, "UPDATE demo.contacts SET first_name = 'again' WHERE id = %s", served[0]
    )
    wait_pending(world, cid, 2)
    page = visible(api, 2)
    assert keys_of(page) == [last, served[0]]
    assert page["changes"][1]["payload"]["firstname"] == "again"
    assert page["changes"][1]["version"] > rows[served[0]]["version"]
    assert api.ack("feed", page["next_cursor"]).json()["delivered"] == 2
    assert api.changes("feed").json()["changes"] == []


def test_deletes_come_through_as_archive(world: ApiWorld) -> None:
    world.connections(contacts_connection("feed"))
    api = world.client("feed", "write")
    rid = execute(
        world.pipeline.db,
        "INSERT INTO demo.contacts (email) VALUES ('gone@example.com') RETURNING id",
    )[0]["id"]
    wait_until(lambda: api.changes("feed").json()["changes"], 60)
    execute(world.pipeline.db, "DELETE FROM demo.contacts WHERE id = %s", rid)

    def archived() -> dict[str, Any] | None:
        changes = api.changes("feed").json()["changes"]
        return changes[-1] if changes and changes[-1]["op"] == "archive" else None

    change = wait_until(archived, 60)
    assert change["record_key"] == str(rid)
    assert change["payload"] == {}
    assert change["id_value"] == str(rid)
