"""``GET /v1/connections/{name}/records/{key}/log``: a record's attempts, for its own tenant only."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from syncsvc.db import connect
from syncsvc.outbox import synclog
from tests.integration.api.conftest import ApiWorld, contacts_connection
from tests.integration.conftest import execute
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


def entry(key: str, version: int, status: str, **extra: Any) -> synclog.LogEntry:
    base: synclog.LogEntry = {
        "object": "contacts",
        "record_key": key,
        "version": version,
        "op": "upsert",
        "status": status,
        "external_id": None,
        "http_status": None,
        "error_code": None,
        "error_message": None,
        "duration_ms": 12,
        "attempt": 1,
    }
    base.update(extra)  # type: ignore[typeddict-item]
    return base


def write_log(world: ApiWorld, connection: str, entries: list[synclog.LogEntry]) -> None:
    with connect(world.pipeline.settings.db_url) as db, db.transaction():
        synclog.record(db, world.connection_id(connection), entries)


def log_path(name: str, key: str) -> str:
    return f"/v1/connections/{name}/records/{quote(key, safe='')}/log"


def test_a_read_key_pages_through_its_records_log_newest_first(world: ApiWorld) -> None:
    world.connections(contacts_connection("log-a", mode="push"), contacts_connection("log-b"))
    write_log(
        world,
        "log-a",
        [entry("42", v, "retry", http_status=503, attempt=v) for v in (1, 2, 3, 4)]
        + [entry("42", 5, "delivered", external_id="crm-42", attempt=5), entry("43", 1, "dead")],
    )
    write_log(world, "log-b", [entry("42", 9, "delivered", external_id="other-tenant")])
    api = world.client("log-a", "read")

    first = api.get(log_path("log-a", "42"), params={"limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    assert (page["connection"], page["record_key"], page["has_more"]) == ("log-a", "42", True)
    assert [(e["version"], e["status"]) for e in page["entries"]] == [
        (5, "delivered"),
        (4, "retry"),
    ]
    assert page["entries"][0]["external_id"] == "crm-42"
    assert page["entries"][1]["http_status"] == 503

    seen = [e["version"] for e in page["entries"]]
    while page["has_more"]:
        params = {"limit": 2, "before": page["next_before"]}
        page = api.get(log_path("log-a", "42"), params=params).json()
        seen += [e["version"] for e in page["entries"]]
    assert seen == [5, 4, 3, 2, 1]  # every entry once, never the other tenant's version 9
    assert page["next_before"] is None

    empty = api.get(log_path("log-a", "nobody")).json()
    assert (empty["entries"], empty["has_more"]) == ([], False)
    only = api.get(log_path("log-a", "42"), params={"object": "deals"}).json()
    assert only["entries"] == []


def test_another_connections_log_is_not_found_and_scopes_are_enforced(world: ApiWorld) -> None:
    world.connections(contacts_connection("log-c", mode="push"), contacts_connection("log-d"))
    write_log(world, "log-d", [entry("7", 1, "delivered", external_id="secret-of-d")])
    mine = world.client("log-c", "read")
    theirs = mine.get(log_path("log-d", "7"))
    assert theirs.status_code == 404
    assert "secret-of-d" not in theirs.text
    assert mine.get(log_path("no-such-connection", "7")).status_code == 404
    assert world.client("log-d", "ingest").get(log_path("log-d", "7")).status_code == 403
    for scope in ("read", "ack", "write"):
        resp = world.client("log-d", scope).get(log_path("log-d", "7"))
        assert resp.status_code == 200
        assert resp.json()["entries"][0]["external_id"] == "secret-of-d"
    assert world.anonymous().get(log_path("log-d", "7")).status_code == 401


@pytest.mark.parametrize(
    ("params", "key", "field"),
    [
        ({"limit": "0"}, "1", "limit"),
        ({"before": "0"}, "1", "before"),
        ({"before": "x"}, "1", "before"),
        ({"color": "red"}, "1", "color"),
        ({}, "a\x00b", "key"),
        ({}, "k" * 1001, "key"),
    ],
)
def test_malformed_requests_are_named(
    world: ApiWorld, params: dict[str, str], key: str, field: str
) -> None:
    world.connections(contacts_connection("log-e", mode="push"))
    resp = world.client("log-e", "read").get(log_path("log-e", key), params=params)
    assert resp.status_code == 400, resp.text
    assert resp.json()["problems"][0]["field"] == field


def test_a_pushed_records_attempts_are_served(world: ApiWorld, hubspot: SimControl) -> None:
    world.connections(contacts_connection("log-f", mode="push", base_url=hubspot.base_url))
    hubspot.fault("http_error", seconds=300, status=503)
    rid = execute(
        world.pipeline.db,
        "INSERT INTO demo.contacts (email, lifecycle_stage) VALUES ('api-log@example.com', "
        "'lead') RETURNING id",
    )[0]["id"]
    api = world.client("log-f", "read")

    def retried() -> bool:
        entries = api.get(log_path("log-f", str(rid))).json()["entries"]
        return any(e["status"] == "retry" for e in entries)

    try:
        wait_until(retried, 90, message=world.pipeline.describe)
    finally:
        hubspot.fault("none")

    def delivered() -> list[dict[str, Any]] | None:
        entries: list[dict[str, Any]] = api.get(log_path("log-f", str(rid))).json()["entries"]
        return entries if entries and entries[0]["status"] == "delivered" else None

    entries = wait_until(delivered, 90, message=world.pipeline.describe)
    assert [e["status"] for e in entries[1:]] == ["retry"] * (len(entries) - 1)
    assert len(entries) >= 2
    assert all(e["http_status"] == 503 for e in entries[1:])
    crm_id = entries[0]["external_id"]
    assert crm_id and any(r["id"] == crm_id for r in hubspot.records("contacts"))
