"""POST /v1/events: checked like captured rows, written into sync_event, idempotent by client id,
and from there the same path as a trigger's change (here: into a poll connection's feed)."""

from __future__ import annotations

from typing import Any

import pytest

from syncsvc import stats
from tests.integration.api.conftest import Api, ApiWorld, contacts_connection
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

NOW = "2026-11-25T12:00:00+00:00"


def contact(rid: int, email: str, first: str = "F", **extra: Any) -> dict[str, Any]:
    return {
        "table": "demo.contacts",
        "op": "insert",
        "key": {"id": rid},
        "row": {"id": rid, "email": email, "first_name": first, "updated_at": NOW},
        **extra,
    }


def drain(api: Api, name: str, count: int) -> list[dict[str, Any]]:
    """Read and acknowledge the feed until ``count`` changes came."""
    seen: list[dict[str, Any]] = []

    def step() -> bool:
        page = api.changes(name).json()
        if page["changes"]:
            seen.extend(page["changes"])
            assert api.ack(name, page["next_cursor"]).status_code == 200
        return len(seen) >= count

    wait_until(step, 120, interval=0.1, message=lambda: f"saw {seen}")
    return seen


def event_count(world: ApiWorld) -> int:
    row = world.pipeline.db.execute("SELECT count(*) AS n FROM syncsvc.sync_event").fetchone()
    assert row is not None
    return int(row["n"])


def test_events_flow_through_the_pipeline_into_the_feed(world: ApiWorld) -> None:
    world.connections(contacts_connection("ingest"))
    api = world.client("ingest", "write")
    resp = api.events(
        [
            contact(900001, "ADA@example.com", "Ada", id="crm-1"),
            contact(900002, "grace@example.com", "Grace", id="crm-2"),
            {**contact(900001, "ada@example.com", "Ada L."), "op": "update"},
        ]
    )
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert (body["accepted"], body["duplicates"]) == (3, 0)
    assert [(r["index"], r["id"], r["status"]) for r in body["results"]] == [
        (0, "crm-1", "accepted"),
        (1, "crm-2", "accepted"),
        (2, None, "accepted"),
    ]
    event_ids = [r["event_id"] for r in body["results"]]
    assert event_ids == sorted(event_ids)

    changes = drain(api, "ingest", 2)
    latest = {c["record_key"]: c["payload"] for c in changes}
    assert latest["900001"] == {
        "syncsvc_id": "900001",
        "email": "ada@example.com",
        "firstname": "Ada L.",
        "lastname": "",
    }
    assert latest["900002"]["email"] == "grace@example.com"

    deleted = api.events([{"table": "demo.contacts", "op": "delete", "key": {"id": 900002}}])
    assert deleted.status_code == 202
    (archive,) = drain(api, "ingest", 1)
    assert (archive["record_key"], archive["op"], archive["payload"]) == ("900002", "archive", {})

    settings = world.pipeline.settings
    counters = stats.read(settings.broker_url, settings.redis_prefix, world.connection_id("ingest"))
    assert counters["captured"] == 4
    assert counters["pushed"] == 3, "acknowledged by the poller"


def test_a_repeated_client_event_id_is_a_duplicate_not_a_second_event(world: ApiWorld) -> None:
    world.connections(contacts_connection("ingest"))
    api = world.client("ingest", "write")
    first = api.events(
        [contact(900010, "x@example.com", id="same"), contact(900011, "y@example.com")]
    )
    assert first.json()["accepted"] == 2
    wait_until(lambda: event_count(world) == 0, 60)

    again = api.events(
        [
            contact(900010, "x@example.com", id="same"),  # a retry after the first was processed
            contact(900012, "z@example.com", id="new"),
            contact(900013, "w@example.com", id="new"),  # repeated inside one request
        ]
    ).json()
    assert [(r["status"], r["event_id"] is None) for r in again["results"]] == [
        ("duplicate", True),
        ("accepted", False),
        ("duplicate", True),
    ]
    assert (again["accepted"], again["duplicates"]) == (1, 2)
    changes = drain(api, "ingest", 3)
    assert sorted(c["record_key"] for c in changes) == ["900010", "900011", "900012"]


def test_a_bad_row_refuses_the_whole_batch_and_consumes_no_id(world: ApiWorld) -> None:
    world.connections(contacts_connection("ingest"))
    api = world.client("ingest", "write")
    resp = api.events(
        [
            contact(900020, "ok@example.com", id="a"),
            contact(900021, "not-an-email", id="b"),
            {**contact(900022, "k@example.com"), "key": {"id": 5}},
            {**contact(900023, "t@example.com"), "row": {"id": 900023, "email": "t@example.com"}},
        ]
    )
    assert resp.status_code == 400
    problems = {(p["field"], p["message"]) for p in resp.json()["problems"]}
    assert ("events[1].row.email", "Not a valid email address.") in problems
    assert ("events[2].row.id", "does not match the key") in problems
    assert ("events[3].row.updated_at", "Missing data for required field.") in problems
    assert event_count(world) == 0
    fixed = api.events([contact(900020, "ok@example.com", id="a")]).json()
    assert fixed["accepted"] == 1, "ids of a refused batch were not used up"


def test_tables_and_keys_must_be_the_connections(world: ApiWorld) -> None:
    world.connections(contacts_connection("ingest"))
    api = world.client("ingest", "write")
    for table in ("demo.deals", "public.unknown"):
        resp = api.events([{"table": table, "op": "delete", "key": {"id": 1}}])
        assert resp.status_code == 404
        assert resp.json()["problems"] == [
            {"field": "events[0].table", "message": "no such table for this connection"}
        ]
    resp = api.events([{"table": "demo.contacts", "op": "delete", "key": {"email": "x"}}])
    assert resp.status_code == 400
    assert resp.json()["problems"][0] == {
        "field": "events[0].key",
        "message": "must hold exactly the key columns ['id']",
    }


def test_events_reach_only_the_keys_own_connection(world: ApiWorld) -> None:
    world.connections(contacts_connection("tenant-a"), contacts_connection("tenant-b"))
    a = world.client("tenant-a", "write")
    b = world.client("tenant-b", "read")
    assert a.events([contact(900030, "a@example.com")]).status_code == 202
    drain(a, "tenant-a", 1)
    wait_until(lambda: event_count(world) == 0, 60)
    assert b.changes("tenant-b").json()["changes"] == []
    row = world.pipeline.db.execute(
        "SELECT count(*) AS n FROM syncsvc.outbox WHERE connection_id = %s",
        (world.connection_id("tenant-b"),),
    ).fetchone()
    assert row is not None and row["n"] == 0


def test_client_ids_are_forgotten_after_the_retention_period(world: ApiWorld) -> None:
    world.connections(contacts_connection("ingest"))
    api = world.client("ingest", "write")
    assert api.events([contact(900040, "r@example.com", id="old")]).json()["accepted"] == 1
    assert api.events([contact(900040, "r@example.com", id="old")]).json()["duplicates"] == 1
    world.pipeline.db.execute(
        "UPDATE syncsvc.api_event_id SET created_at = now() - interval '8 days' "
        "WHERE client_event_id = 'old'"
    )
    assert api.events([contact(900041, "s@example.com", id="newer")]).json()["accepted"] == 1
    left = world.pipeline.db.execute(
        "SELECT client_event_id FROM syncsvc.api_event_id ORDER BY 1"
    ).fetchall()
    assert [r["client_event_id"] for r in left] == ["newer"], "pruned by the next request"
    assert api.events([contact(900040, "r@example.com", id="old")]).json()["accepted"] == 1


def test_a_disabled_connection_refuses_events_instead_of_dropping_them(world: ApiWorld) -> None:
    world.connections({**contacts_connection("ingest"), "enabled": False})
    resp = world.client("ingest", "write").events([contact(900050, "d@example.com")])
    assert resp.status_code == 409
    assert resp.json()["error"] == "disabled"
    assert event_count(world) == 0


def test_a_disabled_connection_can_be_neither_read_nor_acked(world: ApiWorld) -> None:
    world.connections(contacts_connection("closed"))
    api = world.client("closed", "write")
    first = api.changes("closed")
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    world.connections({**contacts_connection("closed"), "enabled": False})
    for resp in (
        api.changes("closed"),
        api.changes("closed", cursor=cursor),
        api.ack("closed", cursor),
    ):
        assert resp.status_code == 409, resp.text
        assert resp.json()["error"] == "disabled"
