"""Retention deletes only what is past its age, in batches, and leaves the rest alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from syncsvc import retention
from syncsvc.db import connect
from syncsvc.settings import Settings
from tasks.app import beat_schedule
from tests.support import servers
from tests.support.databases import migrated_database


@pytest.fixture(scope="module")
def own_database(test_servers: servers.TestServers) -> Iterator[str]:
    """A database of its own: the session's stack runs the prune task on its beat, which would
    delete this test's old rows under it."""
    with migrated_database(test_servers) as url:
        yield url


def count(url: str, query: str) -> int:
    with connect(url) as db:
        row = db.execute(query).fetchone()
        assert row is not None
        return int(row["n"])


def test_prune_deletes_only_what_is_past_retention_in_batches(
    own_database: str, settings: Settings
) -> None:
    url = own_database
    with connect(url) as db, db.transaction():
        cid = db.execute(
            "INSERT INTO syncsvc.connection (name, provider, rate_limit_requests, "
            "rate_limit_seconds, batch_size) VALUES ('r', 'hubspot', 1, 1, 1) RETURNING id"
        ).fetchone()["id"]  # type: ignore[index]
        for age, n in (("15 days", 12), ("13 days", 3), ("1 minute", 2)):
            db.execute(
                "INSERT INTO syncsvc.sync_log (connection_id, object, record_key, version, op, "
                "status, attempt, at) SELECT %s, 'contacts', g::text, 1, 'upsert', 'delivered', "
                "1, now() - %s::interval FROM generate_series(1, %s) g",
                (cid, age, n),
            )
        for replayed, created in (
            ("31 days", "40 days"),
            ("31 days", "31 days"),
            ("29 days", "40 days"),
            (None, "400 days"),  # never replayed: stays until a person replays or purges it
        ):
            db.execute(
                "INSERT INTO syncsvc.dead_letter (connection_id, source_table, record_key, op, "
                "stage, reason, event, version, created_at, replayed_at) VALUES (%s, 'demo.t', "
                "'1', 'upsert', 'push', 'x', '{}', 1, now() - %s::interval, "
                "now() - %s::interval)",
                (cid, created, replayed),
            )
        for age in ("200 hours", "100 hours"):
            db.execute(
                "INSERT INTO syncsvc.api_event_id (connection_id, client_event_id, created_at) "
                "VALUES (%s, %s, now() - %s::interval)",
                (cid, age, age),
            )

    mine = replace(settings, database_url=url, sync_log_days=14, dead_letter_days=30)
    pruned = retention.prune(mine, batch_size=5)

    assert pruned.rows == {"sync_log": 12, "dead_letter": 2, "inbound_event": 0, "api_event_id": 1}
    assert pruned.batches["sync_log"] == 3  # 5 + 5 + 2: a short batch ends the run
    assert count(url, "SELECT count(*) AS n FROM syncsvc.sync_log") == 5
    assert count(url, "SELECT min(now() - at) < '14 days' AS n FROM syncsvc.sync_log") == 1
    assert count(url, "SELECT count(*) AS n FROM syncsvc.dead_letter") == 2
    assert (
        count(url, "SELECT count(*) AS n FROM syncsvc.dead_letter WHERE replayed_at IS NULL") == 1
    )
    assert count(url, "SELECT count(*) AS n FROM syncsvc.api_event_id") == 1

    again = retention.prune(mine, batch_size=5)
    assert again.total == 0


INBOUND_EVENTS = """
INSERT INTO syncsvc.inbound_event (connection_id, object, crm_id, event_key, kind, source, status,
                                   received_at, applied_at)
SELECT %(cid)s, 'contacts', g::text, %(status)s || '-' || %(age)s || '-' || g, 'change', 'poll',
       %(status)s, now() - %(age)s::interval - interval '1 minute',
       CASE WHEN %(status)s = 'received' THEN NULL ELSE now() - %(age)s::interval END
FROM generate_series(1, %(n)s) g
"""


def test_settled_inbound_events_are_pruned_after_their_days_and_pending_ones_never(
    own_database: str, settings: Settings
) -> None:
    url = own_database
    with connect(url) as db, db.transaction():
        cid = db.execute(
            "INSERT INTO syncsvc.connection (name, provider, rate_limit_requests, "
            "rate_limit_seconds, batch_size) VALUES ('inbound-r', 'hubspot', 1, 1, 1) "
            "RETURNING id"
        ).fetchone()["id"]  # type: ignore[index]
        for status, age, n in (
            ("applied", "15 days", 7),
            ("ignored", "15 days", 4),
            ("applied", "13 days", 3),
            ("ignored", "1 minute", 2),
            ("received", "400 days", 3),  # not applied yet: never pruned
            ("failed", "400 days", 2),  # a person looks at it, like a dead letter
        ):
            db.execute(INBOUND_EVENTS, {"cid": cid, "status": status, "age": age, "n": n})

    mine = replace(settings, database_url=url, inbound_event_days=14)
    pruned = retention.prune(mine, batch_size=5)

    assert pruned.rows["inbound_event"] == 11
    assert pruned.batches["inbound_event"] == 3  # 5 + 5 + 1
    left = "SELECT count(*) AS n FROM syncsvc.inbound_event WHERE "
    assert count(url, left + "status IN ('applied', 'ignored')") == 5
    assert count(url, left + "applied_at < now() - interval '14 days' AND status <> 'failed'") == 0
    assert count(url, left + "status = 'received'") == 3
    assert count(url, left + "status = 'failed'") == 2
    assert retention.prune(mine, batch_size=5).rows["inbound_event"] == 0
    with connect(url) as db:  # the index can serve the statement (a tiny table may not use it)
        db.execute("SET enable_seqscan = off")
        plan = db.execute(
            "EXPLAIN " + retention.PRUNE_INBOUND_EVENTS, {"days": 14, "limit": 5}
        ).fetchall()
    assert "ix_inbound_event_settled" in "\n".join(r["QUERY PLAN"] for r in plan)


def test_the_prune_task_runs_on_its_own_beat_schedule(settings: Settings) -> None:
    schedule = beat_schedule(replace(settings, prune_interval_seconds=42.0))
    assert schedule["prune"] == {
        "task": "syncsvc.prune",
        "schedule": 42.0,
        "options": {"queue": "maintenance", "expires": 42.0},
    }
    assert "sweep-outbox" in schedule
