"""Capture triggers and the bridge on a real PostgreSQL (enqueue recorded instead of sent)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest

from syncsvc import capture
from syncsvc.bridge.loop import Backlog, Bridge
from syncsvc.db import Row, connect
from syncsvc.errors import ConfigError
from syncsvc.pipeline.batch import Batch
from syncsvc.settings import Settings
from tests.support.wait import wait_until


@pytest.fixture
def clean(
    db: psycopg.Connection[Row], stack_bridge_paused: None, demo_tables: None
) -> Iterator[psycopg.Connection[Row]]:
    db.autocommit = True
    db.execute("DROP TABLE IF EXISTS public.cap_composite, public.cap_nokey")
    db.execute("TRUNCATE syncsvc.sync_event, demo.contacts")
    db.execute("DELETE FROM syncsvc.connection")
    db.execute("UPDATE syncsvc.config_state SET generation = generation + 1")
    yield db
    db.execute("TRUNCATE syncsvc.sync_event")
    db.execute("DELETE FROM syncsvc.connection")


def events(db: psycopg.Connection[Row]) -> list[Row]:
    return db.execute("SELECT table_name, op, pk FROM syncsvc.sync_event ORDER BY id").fetchall()


def test_capture_records_keys_of_composite_primary_keys_and_key_changes(
    clean: psycopg.Connection[Row],
) -> None:
    db = clean
    db.execute("CREATE TABLE public.cap_composite (a int, b text, v text, PRIMARY KEY (b, a))")
    info = capture.add_capture(db, "public.cap_composite", notify="off")
    assert info.key_columns == ["b", "a"]
    db.execute("INSERT INTO public.cap_composite VALUES (1, 'x', 'v'), (2, 'y', 'w')")
    db.execute("UPDATE public.cap_composite SET v = 'z' WHERE a = 2")
    db.execute("UPDATE public.cap_composite SET b = 'q' WHERE a = 1")
    db.execute("DELETE FROM public.cap_composite WHERE a = 2")
    assert [(e["op"], e["pk"]) for e in events(db)] == [
        ("I", {"a": 1, "b": "x"}),
        ("I", {"a": 2, "b": "y"}),
        ("U", {"a": 2, "b": "y"}),
        ("D", {"a": 1, "b": "x"}),
        ("U", {"a": 1, "b": "q"}),
        ("D", {"a": 2, "b": "y"}),
    ]
    assert [c.table_name for c in capture.list_captures(db)].count("public.cap_composite") == 1
    assert capture.remove_capture(db, "public.cap_composite")
    db.execute("INSERT INTO public.cap_composite VALUES (3, 'z', 'v')")
    assert len(events(db)) == 6


def test_rolled_back_changes_produce_no_events(clean: psycopg.Connection[Row]) -> None:
    db = clean
    capture.add_capture(db, "demo.contacts", notify="always")
    db.autocommit = False
    db.execute("INSERT INTO demo.contacts (email) VALUES ('gone@example.com')")
    db.rollback()
    db.autocommit = True
    assert events(db) == []
    db.execute("INSERT INTO demo.contacts (email) VALUES ('kept@example.com')")
    assert [e["op"] for e in events(db)] == ["I"]


def test_capture_refuses_tables_without_a_primary_key(clean: psycopg.Connection[Row]) -> None:
    clean.execute("CREATE TABLE public.cap_nokey (v text)")
    with pytest.raises(ConfigError, match="has no primary key"):
        capture.add_capture(clean, "public.cap_nokey")
    with pytest.raises(ConfigError, match="does not exist"):
        capture.add_capture(clean, "public.nothing_here")


def _hubspot_connection(db: psycopg.Connection[Row]) -> None:
    row = db.execute(
        "INSERT INTO syncsvc.connection (name, provider, base_url, rate_limit_requests, rate_limit_seconds, batch_size) "
        "VALUES ('bridge-test', 'hubspot', 'http://127.0.0.1:9', 100, 10, 100) RETURNING id"
    ).fetchone()
    assert row is not None
    db.execute(
        "INSERT INTO syncsvc.sync_rule (connection_id, name, position, source_table, operations, action, target_object) "
        "VALUES (%s, 'c', 0, 'demo.contacts', ARRAY['insert','update','delete'], 'upsert', 'contacts')",
        (row["id"],),
    )
    db.execute("UPDATE syncsvc.config_state SET generation = generation + 1")


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches: list[Batch] = []

    def __call__(self, provider: str, batch: Batch) -> None:
        assert provider == "hubspot"
        with self.lock:
            self.batches.append(batch)

    def event_ids(self) -> list[int]:
        with self.lock:
            return [i for b in self.batches for i in b["event_ids"]]


def test_two_bridges_dispatch_every_event_exactly_once(
    clean: psycopg.Connection[Row], settings: Settings
) -> None:
    db = clean
    capture.add_capture(db, "demo.contacts", notify="off")
    _hubspot_connection(db)
    fast = replace(settings, bridge_batch_size=100, bridge_poll_max_ms=20)
    recorder = Recorder()
    stop = threading.Event()
    bridges = [Bridge(fast, recorder, stop=stop) for _ in range(2)]
    threads = [threading.Thread(target=b.run_forever, daemon=True) for b in bridges]
    for t in threads:
        t.start()
    try:
        for _ in range(20):
            db.execute(
                "INSERT INTO demo.contacts (email) SELECT 'b' || g || '@example.com' FROM generate_series(1, 100) g"
            )
        all_ids = {r["id"] for r in db.execute("SELECT id FROM syncsvc.sync_event")}
        assert len(all_ids) == 2000
        wait_until(lambda: set(recorder.event_ids()) >= all_ids, 30)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    dispatched = recorder.event_ids()
    assert len(dispatched) == len(set(dispatched)) == 2000, "an event was dispatched twice"
    assert all(b.stats.events > 0 for b in bridges), "both bridges should have shared the work"
    undispatched = db.execute(
        "SELECT count(*) AS n FROM syncsvc.sync_event WHERE dispatched_at IS NULL"
    ).fetchone()
    assert undispatched is not None and undispatched["n"] == 0


def test_bridge_coalesces_changes_of_one_record_into_its_latest(
    clean: psycopg.Connection[Row], settings: Settings
) -> None:
    db = clean
    capture.add_capture(db, "demo.contacts", notify="off")
    _hubspot_connection(db)
    rid = db.execute(
        "INSERT INTO demo.contacts (email) VALUES ('c@example.com') RETURNING id"
    ).fetchone()["id"]  # type: ignore[index]
    for i in range(5):
        db.execute("UPDATE demo.contacts SET first_name = %s WHERE id = %s", (str(i), rid))
    db.execute("DELETE FROM demo.contacts WHERE id = %s", (rid,))
    ids = [r["id"] for r in db.execute("SELECT id FROM syncsvc.sync_event ORDER BY id")]
    recorder = Recorder()
    bridge = Bridge(settings, recorder)
    bridge._connect()
    try:
        assert bridge.step() == 7
    finally:
        bridge._close()
    assert len(recorder.batches) == 1
    batch = recorder.batches[0]
    assert batch["records"] == [{"pk": {"id": rid}, "op": "D", "version": ids[-1]}]
    assert sorted(batch["event_ids"]) == ids


def test_bridge_survives_its_database_connections_being_killed(
    clean: psycopg.Connection[Row], settings: Settings
) -> None:
    db = clean
    capture.add_capture(db, "demo.contacts", notify="always")
    _hubspot_connection(db)
    recorder = Recorder()
    stop = threading.Event()
    bridge = Bridge(replace(settings, bridge_poll_max_ms=50), recorder, stop=stop)
    thread = threading.Thread(target=bridge.run_forever, daemon=True)
    thread.start()
    try:
        db.execute("INSERT INTO demo.contacts (email) VALUES ('before@example.com')")
        wait_until(lambda: len(recorder.event_ids()) == 1, 20)
        killed = db.execute(
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = 'syncsvc-bridge'"
        ).fetchone()
        assert killed is not None and killed["n"] >= 1
        db.execute("INSERT INTO demo.contacts (email) VALUES ('after@example.com')")
        wait_until(lambda: len(recorder.event_ids()) == 2, 30)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(10)


def test_events_of_tables_no_rule_wants_are_dropped(
    clean: psycopg.Connection[Row], settings: Settings
) -> None:
    db = clean
    capture.add_capture(db, "demo.contacts", notify="off")
    db.execute("INSERT INTO demo.contacts (email) VALUES ('nobody@example.com')")
    recorder = Recorder()
    bridge = Bridge(settings, recorder)
    with connect(settings.db_url) as _:
        bridge._connect()
        try:
            assert bridge.step() == 1
        finally:
            bridge._close()
    assert recorder.batches == []
    assert events(db) == []


def test_a_bridge_whose_workers_are_behind_claims_nothing_then_one_bigger_batch(
    clean: psycopg.Connection[Row], settings: Settings
) -> None:
    db = clean
    capture.add_capture(db, "demo.contacts", notify="off")
    _hubspot_connection(db)
    db.execute("INSERT INTO demo.contacts (email) VALUES ('stale@example.com')")
    queued = [0]
    recorder = Recorder()
    bridge = Bridge(
        replace(settings, bridge_redispatch_seconds=1),
        recorder,
        backlog=lambda: Backlog(live=queued[0]),
    )
    bridge._connect()
    try:
        assert bridge.step() == 1  # dispatched; its chain never persists
        db.execute("UPDATE syncsvc.sync_event SET dispatched_at = now() - interval '1 minute'")
        queued[0] = 500
        for n in range(3):
            db.execute("INSERT INTO demo.contacts (email) VALUES (%s)", (f"held{n}@example.com",))
            bridge._last_stale_check = 0.0
            assert bridge.step() == 0, "500 chains queued: nothing new is claimed"
        assert len(recorder.batches) == 1, "nor re-dispatched: its own chain may still be queued"
        queued[0] = 0
        bridge._last_stale_check = 0.0
        assert bridge.step() == 3
        assert [len(b["records"]) for b in recorder.batches[1:]] == [3, 1]
        assert bridge.stats.redispatched == 1
    finally:
        bridge._close()


def test_live_events_are_claimed_before_a_backfill_and_while_backfill_chains_queue_up(
    clean: psycopg.Connection[Row], settings: Settings
) -> None:
    """A backfill's pages wait in ``sync_event`` behind live changes: live events written after
    them are claimed first, and claimed alone while the queues hold more backfill chains than
    the bridge's bound (live chains there would still be served first)."""
    db = clean
    capture.add_capture(db, "demo.contacts", notify="off")
    _hubspot_connection(db)
    db.execute(
        "INSERT INTO demo.contacts (email) SELECT 'page' || g || '@example.com' "
        "FROM generate_series(1, 4) AS g"
    )
    db.execute("UPDATE syncsvc.sync_event SET backfill_id = 7")
    db.execute(
        "INSERT INTO demo.contacts (email) VALUES ('live1@example.com'), ('live2@example.com')"
    )
    backfill_events = {
        r["id"] for r in db.execute("SELECT id FROM syncsvc.sync_event WHERE backfill_id = 7")
    }
    queued = [Backlog(live=0, backfill=500)]
    recorder = Recorder()
    bridge = Bridge(replace(settings, bridge_batch_size=3), recorder, backlog=lambda: queued[0])
    bridge._connect()
    try:
        assert bridge.step() == 2, "backfill chains queued up: live events only"
        assert [b.get("backfill_id") for b in recorder.batches] == [None]
        assert bridge.step() == 0
        queued[0] = Backlog(live=0, backfill=10)
        assert bridge.step() == 3
        assert bridge.step() == 1
        assert set(recorder.batches[1]["event_ids"]) | set(recorder.batches[2]["event_ids"]) == (
            backfill_events
        )
        assert [b.get("backfill_id") for b in recorder.batches[1:]] == [7, 7]
        db.execute("INSERT INTO demo.contacts (email) VALUES ('live3@example.com')")
        queued[0] = Backlog(live=8, backfill=0)
        assert bridge.step() == 0, "live chains behind: nothing is claimed"
        queued[0] = Backlog()
        assert bridge.step() == 1
    finally:
        bridge._close()


def test_a_backfill_chain_waiting_behind_live_ones_is_not_dispatched_again(
    clean: psycopg.Connection[Row], settings: Settings
) -> None:
    """Backfill chains may wait in their queue longer than the re-dispatch timeout (live work
    goes first): while any is queued, stale backfill events are left alone; once none is, they
    are sent again (their chains were lost)."""
    db = clean
    capture.add_capture(db, "demo.contacts", notify="off")
    _hubspot_connection(db)
    db.execute("INSERT INTO demo.contacts (email) VALUES ('a@example.com'), ('b@example.com')")
    db.execute(
        "UPDATE syncsvc.sync_event SET backfill_id = 7, dispatched_at = now() - interval '5 min'"
    )
    queued = [Backlog(live=0, backfill=3)]
    recorder = Recorder()
    bridge = Bridge(
        replace(settings, bridge_redispatch_seconds=1), recorder, backlog=lambda: queued[0]
    )
    bridge._connect()
    try:
        bridge._last_stale_check = 0.0
        bridge.step()
        assert recorder.batches == [] and bridge.stats.redispatched == 0
        queued[0] = Backlog()
        bridge._last_stale_check = 0.0
        bridge.step()
        assert bridge.stats.redispatched == 2
        assert [b.get("backfill_id") for b in recorder.batches] == [7]
    finally:
        bridge._close()


def test_a_connection_created_just_before_its_first_events_gets_them(
    clean: psycopg.Connection[Row], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config committed before rows are written must be seen by the claim of their events,
    however the bridge's statements interleave with those commits (found under load: the
    bridge read the config, `config apply` and the writes committed, the claim then found the
    events and dropped them as wanted by no connection)."""
    from syncsvc.bridge import loop

    db = clean
    capture.add_capture(db, "demo.contacts", notify="off")
    claim = loop.claim_events
    committed: list[bool] = []

    def config_and_writes_commit_first(*args: object, **kwargs: object) -> list[Row]:
        if not committed:
            _hubspot_connection(db)
            db.execute("INSERT INTO demo.contacts (email) VALUES ('first@example.com')")
            committed.append(True)
        return claim(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "claim_events", config_and_writes_commit_first)
    recorder = Recorder()
    bridge = Bridge(settings, recorder)
    bridge._connect()
    try:
        assert bridge.step() == 1
    finally:
        bridge._close()
    assert len(recorder.event_ids()) == 1
    assert len(events(db)) == 1, "dispatched, not dropped"
