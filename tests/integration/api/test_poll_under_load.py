"""Must show (issue 4): 8 concurrent writers — half of them committing in the reverse order of
their transaction ids — write 50,000 changes while a poller (plain ``requests``) drains the API.
The poller ends with exactly the final state of every record and never sees a change twice
after acknowledging it (I-6: the cursor never skips)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from syncsvc import capture
from syncsvc.db import Row, connect
from tests.integration.api.conftest import Api, ApiWorld, contacts_connection
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

TOTAL_CHANGES = 50_000
WRITERS = 8
PAIRED = 4
"""Writers 0-1 and 2-3 are pairs: in every round the first writes, then the second writes, and
the second commits before the first — so a later transaction id commits earlier."""
CHANGES_PER_WRITER = TOTAL_CHANGES // WRITERS
RECORDS_PER_WRITER = 250
DELETES_PER_WRITER = 100
CHANGES_PER_TX = 25
TRANSACTIONS_PER_WRITER = CHANGES_PER_WRITER // CHANGES_PER_TX
BARRIER_TIMEOUT = 120.0
DEADLINE = 900.0


@dataclass
class Writer:
    number: int
    url: str
    barrier: threading.Barrier | None = None
    leads: bool = False
    changes: int = 0
    ids: list[int] = field(default_factory=list)
    reversed_pairs: list[tuple[int, int]] = field(default_factory=list)
    """(this writer's xid, the partner's xid) for every round where the partner committed first."""
    xids: list[int] = field(default_factory=list)
    error: BaseException | None = None

    def transactions(self) -> list[tuple[str, list[Any]]]:
        """This writer's work, in transactions of CHANGES_PER_TX changes: inserts, updates of its
        own records (no two writers touch one record, so pairs never wait on each other's
        row locks), then deletes."""
        rnd = random.Random(self.number)
        plan: list[tuple[str, list[Any]]] = []
        plan += [("insert", [CHANGES_PER_TX])] * (RECORDS_PER_WRITER // CHANGES_PER_TX)
        updates = CHANGES_PER_WRITER - RECORDS_PER_WRITER - DELETES_PER_WRITER
        for t in range(updates // CHANGES_PER_TX):
            plan.append(
                ("update", [(t, rnd.randrange(RECORDS_PER_WRITER)) for _ in range(CHANGES_PER_TX)])
            )
        doomed = rnd.sample(range(RECORDS_PER_WRITER), DELETES_PER_WRITER)
        for start in range(0, DELETES_PER_WRITER, CHANGES_PER_TX):
            plan.append(("delete", doomed[start : start + CHANGES_PER_TX]))
        assert len(plan) == TRANSACTIONS_PER_WRITER
        return plan

    def write(self, db: psycopg.Connection[Row], kind: str, args: list[Any]) -> int:
        if kind == "insert":
            rows = db.execute(
                "INSERT INTO demo.contacts (email, first_name, last_name) "
                "SELECT 'w' || %(w)s || '.' || g || '@example.com', 'new', 'W' || %(w)s "
                "FROM generate_series(1, %(n)s) g RETURNING id",
                {"w": self.number, "n": args[0]},
            ).fetchall()
            self.ids += [r["id"] for r in rows]
            return len(rows)
        if kind == "update":
            with db.cursor() as cur:
                cur.executemany(
                    "UPDATE demo.contacts SET first_name = %s, email = %s WHERE id = %s",
                    [
                        (
                            f"w{self.number}-t{t}-{i}",
                            f"w{self.number}.t{t}.{i}@example.com",
                            self.ids[r],
                        )
                        for i, (t, r) in enumerate(args)
                    ],
                )
            return len(args)
        db.execute("DELETE FROM demo.contacts WHERE id = ANY(%s)", ([self.ids[i] for i in args],))
        return len(args)

    def run(self) -> None:
        try:
            with connect(self.url) as db:
                for kind, args in self.transactions():
                    self.changes += self.round(db, kind, args)
        except BaseException as exc:
            self.error = exc
            if self.barrier is not None:
                self.barrier.abort()

    def round(self, db: psycopg.Connection[Row], kind: str, args: list[Any]) -> int:
        if self.barrier is None:
            n = self.write(db, kind, args)
            db.commit()
            return n
        if self.leads:  # write first (lower xid), commit last
            n = self.write(db, kind, args)
            mine = self.xid(db)
            self.barrier.wait()  # partner: now write and commit
            self.barrier.wait()  # partner committed
            db.commit()
            self.xids.append(mine)
            return n
        self.barrier.wait()  # the leader has written and holds its transaction open
        n = self.write(db, kind, args)
        self.xids.append(self.xid(db))
        db.commit()
        self.barrier.wait()
        return n

    @staticmethod
    def xid(db: psycopg.Connection[Row]) -> int:
        row = db.execute("SELECT pg_current_xact_id()::text AS x").fetchone()
        assert row is not None
        return int(row["x"])


@dataclass
class Poller:
    """What a CRM's puller would do: page through the feed, apply, acknowledge each page."""

    api: Api
    name: str
    stop: threading.Event
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    acked: set[tuple[str, int]] = field(default_factory=set)
    seen_after_ack: list[tuple[str, int]] = field(default_factory=list)
    out_of_order: list[tuple[str, int, int]] = field(default_factory=list)
    requests: int = 0
    changes: int = 0
    error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.error = exc

    def _run(self) -> None:
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if cursor is not None:
                params["cursor"] = cursor
            resp = self.api.changes(self.name, **params)
            self.requests += 1
            assert resp.status_code == 200, resp.text
            page = resp.json()
            for change in page["changes"]:
                self.apply(change)
            if page["changes"]:
                ack = self.api.ack(self.name, page["next_cursor"])
                self.requests += 1
                assert ack.status_code == 200, ack.text
                self.acked.update((c["record_key"], c["version"]) for c in page["changes"])
            cursor = page["next_cursor"]
            if not page["changes"] and not page["has_more"]:
                if self.stop.is_set():
                    return
                self.stop.wait(0.05)

    def apply(self, change: dict[str, Any]) -> None:
        key, version = change["record_key"], change["version"]
        self.changes += 1
        if (key, version) in self.acked:
            self.seen_after_ack.append((key, version))
        if version <= self.versions.get(key, 0):
            self.out_of_order.append((key, self.versions[key], version))
        self.versions[key] = version
        if change["op"] == "archive":
            self.state.pop(key, None)
        else:
            self.state[key] = change["payload"]


def count(db: psycopg.Connection[Row], query: str, *params: Any) -> int:
    row = db.execute(query, params).fetchone()
    assert row is not None
    return int(row["n"])


def test_fifty_thousand_changes_from_out_of_order_writers_reach_the_poller_exactly(
    world: ApiWorld,
) -> None:
    world.connections(contacts_connection("bulk", mode="poll"))
    db = world.pipeline.db
    capture.add_capture(db, "demo.contacts", notify="throttled")
    cid = world.connection_id("bulk")
    url = world.pipeline.settings.db_url

    barriers = [threading.Barrier(2, timeout=BARRIER_TIMEOUT) for _ in range(PAIRED // 2)]
    writers = [
        Writer(
            n,
            url,
            barrier=barriers[n // 2] if n < PAIRED else None,
            leads=n < PAIRED and n % 2 == 0,
        )
        for n in range(WRITERS)
    ]
    stop = threading.Event()
    poller = Poller(world.client("bulk", "write"), "bulk", stop)
    poll_thread = threading.Thread(target=poller.run, name="poller", daemon=True)
    threads = [
        threading.Thread(target=w.run, name=f"writer-{w.number}", daemon=True) for w in writers
    ]

    started = time.monotonic()
    poll_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    written = time.monotonic()
    polled_while_writing = poller.changes
    try:
        for w in writers:
            assert w.error is None, f"writer {w.number}: {w.error!r}"
        assert sum(w.changes for w in writers) == TOTAL_CHANGES

        def drained() -> bool:
            assert poller.error is None, repr(poller.error)
            return count(db, "SELECT count(*) AS n FROM syncsvc.sync_event") == 0 and (
                count(
                    db,
                    "SELECT count(*) AS n FROM syncsvc.outbox "
                    "WHERE connection_id = %s AND status = 'pending'",
                    cid,
                )
                == 0
            )

        wait_until(drained, DEADLINE, interval=0.5, message=world.pipeline.describe)
    finally:
        stop.set()
        poll_thread.join(60)
    finished = time.monotonic()
    assert poller.error is None, repr(poller.error)

    # Half the writers really committed out of order: the partner's xid is higher, and it
    # committed first.
    for lead, follow in zip(writers[0:PAIRED:2], writers[1:PAIRED:2], strict=True):
        assert len(lead.xids) == len(follow.xids) == TRANSACTIONS_PER_WRITER
        assert all(a < b for a, b in zip(lead.xids, follow.xids, strict=True))

    assert polled_while_writing > 0, "the poller drained concurrently with the writers"
    assert poller.seen_after_ack == [], "a change came again after it was acknowledged"
    assert poller.out_of_order == [], "a record's versions must only grow along the feed"

    final = {
        str(r["id"]): r
        for r in db.execute("SELECT id, email, first_name, last_name FROM demo.contacts")
    }
    assert len(final) == WRITERS * (RECORDS_PER_WRITER - DELETES_PER_WRITER)
    assert set(poller.state) == set(final), "deleted records archived, every live one present"
    mismatched = [
        key
        for key, row in final.items()
        if poller.state[key]
        != {
            "syncsvc_id": key,
            "email": row["email"].lower(),
            "firstname": row["first_name"],
            "lastname": row["last_name"],
        }
    ]
    assert mismatched == [], f"{len(mismatched)} records differ, e.g. {mismatched[:5]}"
    delivered = count(
        db,
        "SELECT count(*) AS n FROM syncsvc.outbox "
        "WHERE connection_id = %s AND status = 'delivered' AND delivered_version = version",
        cid,
    )
    assert delivered == count(
        db, "SELECT count(*) AS n FROM syncsvc.outbox WHERE connection_id = %s", cid
    )

    elapsed = finished - started
    print(
        f"\n50k poll: {TOTAL_CHANGES} changes written in {written - started:.1f}s, "
        f"drained by the poller in {elapsed:.1f}s total; poller saw {poller.changes} changes "
        f"(coalesced; {polled_while_writing} while writers ran) in {poller.requests} requests "
        f"({poller.requests / elapsed:.0f} req/s)"
    )
