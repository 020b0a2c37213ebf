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

    assert pruned.rows == {"sync_log": 12, "dead_letter": 2, "api_event_id": 1}
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


def test_the_prune_task_runs_on_its_own_beat_schedule(settings: Settings) -> None:
    schedule = beat_schedule(replace(settings, prune_interval_seconds=42.0))
    assert schedule["prune"] == {
        "task": "syncsvc.prune",
        "schedule": 42.0,
        "options": {"queue": "maintenance", "expires": 42.0},
    }
    assert "sweep-outbox" in schedule
