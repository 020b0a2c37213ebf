"""The push step against a real simulator, driven directly (no Celery)."""

from __future__ import annotations

import psycopg
import requests
from psycopg.types.json import Jsonb

from providers.base import ConnectionInfo
from providers.registry import get_provider
from syncsvc.db import Row
from syncsvc.outbox.lease import LEASE, RESCHEDULE
from syncsvc.outbox.versions import UPSERT_OUTBOX
from syncsvc.pipeline.batch import PushGroup
from syncsvc.push.deliver import Pusher, release_leases_of
from syncsvc.settings import Settings
from tests.support.sim import SimControl


def fresh_connection(
    db: psycopg.Connection[Row],
    name: str,
    provider: str,
    base_url: str = "http://127.0.0.1:9",
    rate_limit: tuple[int, int] = (100, 10),
) -> int:
    """A connection row of its own (autocommit), replacing one left by an earlier run."""
    db.autocommit = True
    db.execute("DELETE FROM syncsvc.connection WHERE name = %s", (name,))
    row = db.execute(
        "INSERT INTO syncsvc.connection (name, provider, base_url, rate_limit_requests, "
        "rate_limit_seconds, batch_size) VALUES (%s, %s, %s, %s, %s, 100) RETURNING id",
        (name, provider, base_url, *rate_limit),
    ).fetchone()
    assert row is not None
    return int(row["id"])


def test_a_row_deleted_after_its_push_was_ordered_goes_as_an_archive(
    db: psycopg.Connection[Row], settings: Settings, hubspot: SimControl
) -> None:
    hubspot.reset()
    cid = fresh_connection(db, "push-test", "hubspot", hubspot.base_url)
    created = requests.post(
        f"{hubspot.base_url}/crm/v3/objects/contacts",
        json={"properties": {"email": "gone@example.com", "syncsvc_id": "77"}},
        headers={"Authorization": "Bearer demo-token"},
        timeout=10,
    ).json()
    # The push was ordered as an upsert, but the record was deleted before the push leased it.
    row = db.execute(
        "INSERT INTO syncsvc.outbox (connection_id, object, record_key, source_table, op, id_property, "
        "id_value, payload, version, external_id) VALUES (%s, 'contacts', '77', 'demo.contacts', "
        "'archive', 'syncsvc_id', '77', %s, 2, %s) RETURNING id",
        (cid, Jsonb({}), created["id"]),
    ).fetchone()
    info = ConnectionInfo(cid, "push-test", "hubspot", hubspot.base_url, {"access_token": "demo-token"},
                          {}, 100, 100, 10)  # fmt: skip
    client = get_provider("hubspot").client_class(info)
    try:
        pusher = Pusher(settings.db_url, cid, client, 100, 10, 30)
        outcome = pusher.run([PushGroup(object="contacts", op="upsert", ids=[row["id"]])])  # type: ignore[index]
    finally:
        client.close()
        db.execute("DELETE FROM syncsvc.connection WHERE id = %s", (cid,))
    assert outcome.delivered == 1
    assert hubspot.records("contacts") == [], "the record must be archived, not upserted again"


def test_a_row_leased_once_stays_maybe_sent_after_its_record_changes(
    db: psycopg.Connection[Row],
) -> None:
    """A push that timed out may have created the record; a later version must not forget it."""
    cid = fresh_connection(db, "maybe-sent-test", "pipedrive", rate_limit=(80, 2))

    def persist(key: str, version: int) -> None:
        item = {"object": "persons", "record_key": key, "source_table": "demo.contacts",
                "op": "upsert", "id_property": "syncsvc_id", "id_value": key,
                "payload": {"name": key}, "version": version}  # fmt: skip
        db.execute(
            UPSERT_OUTBOX, {"connection_id": cid, "items": Jsonb([item]), "backfill_id": None}
        )

    def lease(token: int) -> dict[str, bool]:
        ids = [r["id"] for r in db.execute(  # type: ignore[index]
            "SELECT id FROM syncsvc.outbox WHERE connection_id = %s", (cid,)).fetchall()]  # fmt: skip
        rows = db.execute(
            LEASE,
            {"ids": ids, "connection_id": cid, "token": token, "lease_seconds": 30, "holder": None},
        ).fetchall()
        return {r["record_key"]: r["maybe_sent"] for r in rows}  # type: ignore[index]

    try:
        persist("sent", 1)
        persist("fresh", 1)
        assert lease(1) == {"sent": False, "fresh": False}
        ids = [r["id"] for r in db.execute(  # type: ignore[index]
            "SELECT id FROM syncsvc.outbox WHERE connection_id = %s", (cid,)).fetchall()]  # fmt: skip
        db.execute(RESCHEDULE, {"ids": ids, "token": 1, "delay": 0, "error": "timeout",
                                "count_attempt": 1, "unsent": []})  # fmt: skip
        persist("sent", 2)  # the record changed after the timed-out push: attempts back to 0
        persist("new", 1)
        attempts = db.execute(
            "SELECT attempts FROM syncsvc.outbox WHERE connection_id = %s AND record_key = 'sent'",
            (cid,),
        ).fetchone()["attempts"]  # type: ignore[index]
        assert attempts == 0
        assert lease(2) == {"sent": True, "fresh": True, "new": False}
    finally:
        db.execute("DELETE FROM syncsvc.connection WHERE id = %s", (cid,))


def test_the_leases_of_a_dead_worker_are_released_and_no_others(
    db: psycopg.Connection[Row], settings: Settings
) -> None:
    cid = fresh_connection(db, "lease-holder-test", "hubspot")
    try:
        for key in ("dead-1", "dead-2", "alive-1"):
            item = {"object": "contacts", "record_key": key, "source_table": "demo.contacts",
                    "op": "upsert", "id_property": "syncsvc_id", "id_value": key,
                    "payload": {"email": f"{key}@example.com"}, "version": 1}  # fmt: skip
            db.execute(
                UPSERT_OUTBOX, {"connection_id": cid, "items": Jsonb([item]), "backfill_id": None}
            )
        ids = {r["record_key"]: r["id"] for r in db.execute(  # type: ignore[index]
            "SELECT id, record_key FROM syncsvc.outbox WHERE connection_id = %s", (cid,))}  # fmt: skip
        for holder, keys in (("w@h 1-dead", ["dead-1", "dead-2"]), ("w@h 2-alive", ["alive-1"])):
            db.execute(LEASE, {"ids": [ids[k] for k in keys], "connection_id": cid,
                               "token": 7, "lease_seconds": 300, "holder": holder})  # fmt: skip

        assert release_leases_of(settings.db_url, ["w@h 1-dead"]) == 2

        leased = db.execute(
            "SELECT record_key FROM syncsvc.outbox WHERE connection_id = %s "
            "AND lease_token IS NOT NULL ORDER BY 1",
            (cid,),
        ).fetchall()
        assert [r["record_key"] for r in leased] == ["alive-1"]  # type: ignore[index]
    finally:
        db.execute("DELETE FROM syncsvc.connection WHERE id = %s", (cid,))


def test_a_first_lease_that_only_waited_leaves_the_row_not_maybe_sent(
    db: psycopg.Connection[Row],
) -> None:
    """A rate-limit wait sends nothing: a row held back by it is not looked up for nothing
    later (Pipedrive's lookups cost searches); a row an earlier lease took stays maybe_sent."""
    cid = fresh_connection(db, "wait-unsent-test", "pipedrive")
    item = {"object": "persons", "source_table": "demo.contacts", "op": "upsert",
            "id_property": "syncsvc_id", "payload": {"name": "x"}, "version": 1}  # fmt: skip
    items = [{**item, "record_key": k, "id_value": k} for k in ("fresh", "seen")]
    db.execute(UPSERT_OUTBOX, {"connection_id": cid, "items": Jsonb(items), "backfill_id": None})
    ids = {r["record_key"]: r["id"] for r in db.execute(  # type: ignore[index]
        "SELECT id, record_key FROM syncsvc.outbox WHERE connection_id = %s", (cid,))}  # fmt: skip
    db.execute("UPDATE syncsvc.outbox SET maybe_sent = true WHERE id = %s", (ids["seen"],))

    def lease(token: int) -> dict[str, tuple[bool, bool]]:
        rows = db.execute(LEASE, {"ids": list(ids.values()), "connection_id": cid,
                                  "token": token, "lease_seconds": 30, "holder": None})  # fmt: skip
        return {r["record_key"]: (r["was_leased"], r["maybe_sent"]) for r in rows}  # type: ignore[index]

    try:
        assert lease(1) == {"fresh": (False, False), "seen": (True, True)}
        db.execute(RESCHEDULE, {"ids": list(ids.values()), "token": 1, "delay": 0,
                                "error": "wait", "count_attempt": 0,
                                "unsent": [ids["fresh"]]})  # fmt: skip
        assert lease(2) == {"fresh": (False, False), "seen": (True, True)}
    finally:
        db.execute("DELETE FROM syncsvc.connection WHERE id = %s", (cid,))
