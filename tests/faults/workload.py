"""The change stream the faults hit, and the check that every CRM ends equal to the database.

Every write stamps a unique token (``T0000042X``) into a field each CRM maps (contact last name,
company name, deal name). A CRM record holding any other token is stale; a row missing from the
CRM is lost; a key held twice is a duplicate; a CRM record whose row is gone is a stale delete.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from tests.support.sim import SimControl

TABLES = {"demo.contacts": "last_name", "demo.companies": "name", "demo.deals": "name"}
_tokens = itertools.count(1)


def _ident(table: str) -> sql.Identifier:
    schema, name = table.split(".")
    return sql.Identifier(schema, name)


def token() -> str:
    return f"T{next(_tokens):07d}X"


@dataclass
class StreamStats:
    writes: int = 0
    errors: int = 0
    window: tuple[float, float] | None = None
    in_window: int = 0


class ChangeStream:
    """Inserts, updates and deletes on the demo tables, one small transaction at a time.

    It survives the database going away (reconnects and goes on): the database, not this
    writer, is the truth the CRMs are compared with afterwards.
    """

    def __init__(self, url: str, rate: float = 40.0, seed: int = 7) -> None:
        self.url = url
        self.rate = rate
        self.random = random.Random(seed)
        self.stats = StreamStats()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self._window_open = False

    def start(self) -> ChangeStream:
        self.thread.start()
        return self

    def finish(self) -> StreamStats:
        self.stop.set()
        self.thread.join(60)
        return self.stats

    def mark_window(self, start: float, end: float) -> None:
        self.stats.window = (start, end)

    def _in_window(self) -> bool:
        w = self.stats.window
        now = time.monotonic()
        return w is not None and w[0] <= now <= w[1]

    def _step(self, conn: psycopg.Connection[Any]) -> None:
        table = self.random.choice(list(TABLES))
        column = TABLES[table]
        roll = self.random.random()
        with conn.transaction():
            name = _ident(table)
            pick = sql.SQL("SELECT id FROM {} ORDER BY random() LIMIT 1").format(name)
            ids = [r[0] for r in conn.execute(pick)]
            if roll < 0.45 or not ids:
                self._insert(conn, table)
            elif roll < 0.9:
                update = sql.SQL("UPDATE {} SET {} = %s, updated_at = now() WHERE id = %s")
                conn.execute(update.format(name, sql.Identifier(column)), (token(), ids[0]))
            else:
                conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(name), (ids[0],))

    @staticmethod
    def _insert(conn: psycopg.Connection[Any], table: str) -> None:
        if table == "demo.contacts":
            conn.execute(
                "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
                "VALUES (%s, 'Fault', %s, 'lead')",
                (f"f{uuid.uuid4().hex[:12]}@example.com", token()),
            )
        elif table == "demo.companies":
            conn.execute(
                "INSERT INTO demo.companies (name, domain, city) VALUES (%s, 'faults.example', 'Bern')",
                (token(),),
            )
        else:
            conn.execute(
                "INSERT INTO demo.deals (name, amount, stage, close_date) "
                "VALUES (%s, 100, 'qualifiedtobuy', current_date + 30)",
                (token(),),
            )

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        interval = 1.0 / self.rate
        while not self.stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.url, autocommit=True, connect_timeout=3)
                self._step(conn)
                self.stats.writes += 1
                if self._in_window():
                    self.stats.in_window += 1
            except psycopg.Error:
                self.stats.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                self.stop.wait(0.5)
                continue
            self.stop.wait(interval)
        if conn is not None:
            conn.close()


@dataclass
class Verdict:
    records: int = 0
    lost: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.stale or self.duplicates or self.extra)

    def summary(self) -> str:
        return (
            f"records={self.records} lost={self.lost[:5]}({len(self.lost)}) "
            f"stale={self.stale[:5]}({len(self.stale)}) dups={self.duplicates[:5]} extra={self.extra[:5]}"
        )


def expected_state(url: str) -> dict[str, dict[str, str]]:
    """Each demo table's rows as {id: token} (the token the CRM must hold)."""
    state: dict[str, dict[str, str]] = {}
    with psycopg.connect(url) as conn:
        for table, column in TABLES.items():
            query = sql.SQL("SELECT id, {} FROM {}").format(sql.Identifier(column), _ident(table))
            rows = conn.execute(query).fetchall()
            state[table] = {str(r[0]): str(r[1]) for r in rows}
    return state


def compare(
    expected: dict[str, dict[str, str]], sims: dict[str, tuple[SimControl, dict[str, str]]]
) -> dict[str, Verdict]:
    """Per CRM: which rows are lost, stale, duplicated or left behind after a delete."""
    verdicts: dict[str, Verdict] = {}
    for crm, (sim, objects) in sims.items():
        verdict = Verdict()
        for table, rows in expected.items():
            resp = sim.http.get(
                f"{sim.base_url}/_sim/view", params={"object": objects[table]}, timeout=30
            )
            resp.raise_for_status()
            records = resp.json()["records"]
            keys = [str(r["key"]) for r in records]
            held = {str(r["key"]): json.dumps(r["fields"]) for r in records}
            verdict.records += len(rows)
            verdict.duplicates += [f"{table}:{k}" for k in set(keys) if keys.count(k) > 1]
            for key, want in rows.items():
                if key not in held:
                    verdict.lost.append(f"{table}:{key}")
                elif want not in held[key]:
                    verdict.stale.append(f"{table}:{key}")
            verdict.extra += [f"{table}:{k}" for k in held if k not in rows]
        verdicts[crm] = verdict
    return verdicts
