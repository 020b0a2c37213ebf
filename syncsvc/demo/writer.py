"""A stream of realistic changes to demo.contacts / demo.companies / demo.deals."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from syncsvc.db import Row

FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Barbara",
    "Ken",
    "Edsger",
    "Margaret",
    "Dennis",
    "Frances",
]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Dijkstra", "Hamilton"]
CITIES = ["Berlin", "Lisbon", "Austin", "Pune", "Osaka", "Lagos", "Lyon", "Toronto"]
INDUSTRIES = ["software", "retail", "finance", "health", "logistics"]
STAGES = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "contractsent",
    "closedwon",
]
LIFECYCLE = ["subscriber", "lead", "opportunity", "customer"]


@dataclass
class WriterStats:
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    invalid: int = 0
    by_table: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.inserts + self.updates + self.deletes


class DemoWriter:
    """Writes about ``rate`` changes per second until stopped; ``invalid_ratio`` of the contact
    writes carry a malformed email, to show dead letters."""

    def __init__(self, db: psycopg.Connection[Row], rate: float = 20.0, invalid_ratio: float = 0.02,
                 seed: int | None = None) -> None:  # fmt: skip
        self.db = db
        self.rate = rate
        self.invalid_ratio = invalid_ratio
        self.random = random.Random(seed)
        self.stats = WriterStats()
        self.ids: dict[str, list[int]] = {"contacts": [], "companies": [], "deals": []}
        for table in self.ids:
            query = sql.SQL("SELECT id FROM {}").format(sql.Identifier("demo", table))
            self.ids[table] = [r["id"] for r in db.execute(query)]

    def _email(self, first: str, last: str) -> str:
        if self.random.random() < self.invalid_ratio:
            self.stats.invalid += 1
            return f"{first}.{last}-at-example"
        return f"{first}.{last}.{self.random.randrange(10**6)}@example.com".lower()

    def _insert(self, table: str) -> None:
        r = self.random
        if table == "contacts":
            first, last = r.choice(FIRST), r.choice(LAST)
            company = r.choice(self.ids["companies"]) if self.ids["companies"] else None
            row = self.db.execute(
                "INSERT INTO demo.contacts (email, first_name, last_name, phone, lifecycle_stage, "
                "company_id) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (self._email(first, last), first, last, f"+1-555-{r.randrange(10**4):04d}",
                 r.choice(LIFECYCLE), company),
            ).fetchone()  # fmt: skip
        elif table == "companies":
            name = f"{r.choice(LAST)} {r.choice(['Labs', 'Systems', 'GmbH', 'Inc', 'Works'])}"
            row = self.db.execute(
                "INSERT INTO demo.companies (name, domain, industry, city) VALUES (%s, %s, %s, %s) "
                "RETURNING id",
                (
                    name,
                    name.lower().replace(" ", "") + ".example",
                    r.choice(INDUSTRIES),
                    r.choice(CITIES),
                ),
            ).fetchone()
        else:
            company = r.choice(self.ids["companies"]) if self.ids["companies"] else None
            row = self.db.execute(
                "INSERT INTO demo.deals (name, amount, stage, close_date, company_id) "
                "VALUES (%s, %s, %s, current_date + %s, %s) RETURNING id",
                (f"Deal {r.randrange(10**5)}", round(r.uniform(500, 90000), 2), r.choice(STAGES),
                 r.randrange(1, 90), company),
            ).fetchone()  # fmt: skip
        assert row is not None
        self.ids[table].append(row["id"])
        self.stats.inserts += 1

    def _update(self, table: str) -> None:
        r = self.random
        target = r.choice(self.ids[table])
        if table == "contacts":
            first, last = r.choice(FIRST), r.choice(LAST)
            self.db.execute(
                "UPDATE demo.contacts SET first_name = %s, last_name = %s, email = %s, "
                "lifecycle_stage = %s, updated_at = now() WHERE id = %s",
                (first, last, self._email(first, last), r.choice(LIFECYCLE), target),
            )
        elif table == "companies":
            self.db.execute(
                "UPDATE demo.companies SET city = %s, industry = %s, updated_at = now() "
                "WHERE id = %s",
                (r.choice(CITIES), r.choice(INDUSTRIES), target),
            )
        else:
            self.db.execute(
                "UPDATE demo.deals SET stage = %s, amount = %s, updated_at = now() WHERE id = %s",
                (r.choice(STAGES), round(r.uniform(500, 90000), 2), target),
            )
        self.stats.updates += 1

    def _delete(self, table: str) -> None:
        target = self.random.choice(self.ids[table])
        query = sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier("demo", table))
        self.db.execute(query, (target,))
        self.ids[table].remove(target)
        self.stats.deletes += 1

    def step(self) -> None:
        """One transaction of one to three changes."""
        with self.db.transaction():
            for _ in range(self.random.randint(1, 3)):
                table = self.random.choice(["contacts", "contacts", "companies", "deals"])
                roll = self.random.random()
                if roll < 0.5 or len(self.ids[table]) < 5:
                    self._insert(table)
                elif roll < 0.92:
                    self._update(table)
                else:
                    self._delete(table)
                self.stats.by_table[table] = self.stats.by_table.get(table, 0) + 1

    def run(self, stop: threading.Event) -> None:
        interval = 2.0 / self.rate
        next_at = time.monotonic()
        while not stop.is_set():
            self.step()
            next_at += interval
            stop.wait(max(0.0, next_at - time.monotonic()))
