"""A table the project has never seen, synced to a CRM and compared with it field by field.

Each CRM's test module describes a ``Case``: which object and fields the table's columns map to
(standard fields, and one custom field it creates through the CRM's admin API), how a table row
should look in the CRM, and how to read the simulator's record. ``run_case`` does the rest:
create the table and capture it, apply the config the way ``config apply`` does (the CRM's field
definitions are read and cached), insert valid and deliberately invalid rows, update, set NULLs
and delete, and after each step compare the CRM with the table.

The table: a composite key (``region``, ``customer_no``), text with unicode, ``numeric``,
``integer``, ``date``, ``timestamptz``, ``boolean``, a column holding picklist values and a long
text column; NULLs everywhere they are allowed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from syncsvc import capture
from syncsvc.db import Row
from tests.support.sim import SimControl
from tests.support.wait import wait_until

COLUMNS = (
    "region",
    "customer_no",
    "given_name",
    "family_name",
    "email_address",
    "annual_revenue",
    "employees",
    "founded",
    "last_contacted",
    "is_active",
    "tier",
    "notes",
)
DDL = """
CREATE TABLE {table} (
    region          text NOT NULL,
    customer_no     integer NOT NULL,
    given_name      text,
    family_name     text,
    email_address   text,
    annual_revenue  numeric(16, 2),
    employees       integer,
    founded         date,
    last_contacted  timestamptz,
    is_active       boolean,
    tier            text,
    notes           text,
    PRIMARY KEY (region, customer_no)
)
"""
GIVEN = ("Zoë", "Łukasz", "José", "Ngozi", "Søren", "Aiyana", "Mei", "O'Brien", "Анна", "Jürgen")
FAMILY = ("Ōtsuka", "Ferreira", "Nowak", "Adeyemi", "Ødegaard", "Smith-Jones", "李", "Müller")
REGIONS = ("eu", "us", "ap")

Record = dict[str, Any]


@dataclass
class Case:
    """What one CRM needs to know to run the unseen-table suite."""

    crm: str
    object: str
    id_property: str
    """The field that identifies a record (a custom unique field the case creates)."""
    mappings: list[dict[str, Any]]
    """The connection's mappings for ``object``: from the table's columns to CRM fields."""
    tiers: tuple[str, ...]
    """Values the picklist field that ``tier`` maps to accepts (table values as written)."""
    notes_max: int
    """The length of the CRM field ``notes`` maps to: one character more must be refused."""
    expected: Callable[[Record], Record]
    """A table row as the CRM record's fields should read (after the CRM's conversions)."""
    actual: Callable[[Record], Record]
    """The same fields, read from a simulator record (``SimControl.records``)."""
    key_of: Callable[[Record], str | None]
    """A simulator record's id property value."""
    archived: Callable[[Record], bool] = lambda record: False
    """Whether a simulator record is deleted/archived (for CRMs that keep them visible)."""
    setup: Callable[[SimControl], None] = lambda sim: None
    """Create the custom fields the mappings use, through the CRM's admin API."""
    refused_calls: Callable[[SimControl], int] = lambda sim: 0
    """How many writes the simulator refused for a bad value (must stay 0)."""
    connection: Mapping[str, Any] = field(default_factory=dict)
    """The connection's config apart from rules and objects (name, provider, URLs, secrets)."""


def table_name(case: Case) -> str:
    return f"unseen_{case.crm}.customers"


def record_key(row: Record) -> str:
    return f"{row['region']}-{row['customer_no']}"


def letter_key(stored: str) -> str:
    """A dead letter's record key (the composite primary key as JSON) in ``record_key``'s form."""
    try:
        pk = json.loads(stored)
    except ValueError:
        return stored
    return (
        record_key(pk) if isinstance(pk, dict) and {"region", "customer_no"} <= set(pk) else stored
    )


def create_table(db: psycopg.Connection[Row], case: Case) -> str:
    schema = f"unseen_{case.crm}"
    db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    db.execute(sql.SQL(DDL).format(table=sql.Identifier(schema, "customers")))
    capture.add_capture(db, table_name(case), notify="always")
    return table_name(case)


def sample_row(case: Case, n: int) -> Record:
    """Row ``n``: every column type, unicode, NULLs in turn, offsets other than UTC."""
    offset = timezone(timedelta(hours=(n % 5) - 2))
    return {
        "region": REGIONS[n % len(REGIONS)],
        "customer_no": 1000 + n,
        "given_name": GIVEN[n % len(GIVEN)],
        "family_name": FAMILY[n % len(FAMILY)] if n % 7 else None,
        "email_address": f"customer.{n}@example.org",
        "annual_revenue": None if n % 6 == 0 else Decimal(n * 1234567) / 100,
        "employees": None if n % 5 == 0 else n * 3,
        "founded": None if n % 4 == 0 else date(1950 + n % 70, 1 + n % 12, 1 + n % 28),
        "last_contacted": None
        if n % 3 == 0
        else datetime(2026, 1 + n % 12, 1 + n % 28, n % 24, n % 60, n % 60, tzinfo=offset),
        "is_active": None if n % 8 == 0 else n % 2 == 0,
        "tier": case.tiers[n % len(case.tiers)] if n % 9 else None,
        "notes": f"note {n}: größer als 3 → ✓" if n % 2 else None,
    }


def insert(db: psycopg.Connection[Row], table: str, rows: list[Record]) -> None:
    schema, name = table.split(".")
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(schema, name),
        sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS),
        sql.SQL(", ").join(sql.Placeholder() for _ in COLUMNS),
    )
    with db.cursor() as cur:
        cur.executemany(query, [tuple(r[c] for c in COLUMNS) for r in rows])


def update(db: psycopg.Connection[Row], table: str, row: Record, **changes: Any) -> Record:
    schema, name = table.split(".")
    db.execute(
        sql.SQL("UPDATE {} SET {} WHERE region = %s AND customer_no = %s").format(
            sql.Identifier(schema, name),
            sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in changes),
        ),
        (*changes.values(), row["region"], row["customer_no"]),
    )
    return {**row, **changes}


def delete(db: psycopg.Connection[Row], table: str, row: Record) -> None:
    schema, name = table.split(".")
    db.execute(
        sql.SQL("DELETE FROM {} WHERE region = %s AND customer_no = %s").format(
            sql.Identifier(schema, name)
        ),
        (row["region"], row["customer_no"]),
    )


def rules(case: Case) -> list[dict[str, Any]]:
    table = table_name(case)
    return [
        {
            "name": "customers",
            "source": table,
            "operations": ["insert", "update"],
            "action": "upsert",
            "object": case.object,
            "id_property": case.id_property,
        },
        {
            "name": "customers-deleted",
            "source": table,
            "operations": ["delete"],
            "action": "archive",
            "object": case.object,
            "id_property": case.id_property,
        },
    ]


def config(case: Case) -> dict[str, Any]:
    return {
        "connections": [
            {
                **case.connection,
                "rules": rules(case),
                "objects": {case.object: {"mappings": case.mappings}},
            }
        ]
    }


def crm_state(case: Case, sim: SimControl) -> dict[str, Record]:
    """The live (not archived) records the simulator holds, by id property value."""
    out: dict[str, Record] = {}
    for record in sim.records(case.object):
        key = case.key_of(record)
        if key is not None and not case.archived(record):
            out[key] = case.actual(record)
    return out


def differences(case: Case, sim: SimControl, rows: Mapping[str, Record]) -> list[str]:
    """Every field where the CRM differs from what the table says it should hold."""
    state = crm_state(case, sim)
    problems: list[str] = []
    for key in sorted(set(state) - set(rows)):
        problems.append(f"{key}: in the CRM but not (any more) in the table")
    for key, row in sorted(rows.items()):
        held = state.get(key)
        if held is None:
            problems.append(f"{key}: missing in the CRM")
            continue
        want = case.expected(row)
        for name, value in want.items():
            if held.get(name) != value:
                problems.append(f"{key}.{name}: CRM {held.get(name)!r}, table says {value!r}")
    return problems


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _target_of(case: Case, column: str) -> str:
    return next(m["target"] for m in case.mappings if m.get("source") == column)


def _wait_in_step(case: Case, sim: SimControl, rows: Mapping[str, Record], describe: Any) -> None:
    wait_until(
        lambda: not differences(case, sim, rows),
        timeout=120,
        message=lambda: "\n".join(differences(case, sim, rows)[:20]) + "\n" + describe(),
    )


def run_case(pipeline: Any, case: Case, sim: SimControl, count: int = 120) -> None:
    """Insert, check, update (NULLs included), fix the invalid rows, delete; the CRM matches
    the table after each step, and only the deliberately invalid rows were dead-lettered."""
    db = pipeline.db
    table = create_table(db, case)
    case.setup(sim)
    pipeline.apply_as_user(config(case))

    valid = [sample_row(case, n) for n in range(count)]
    bad_tier = {**sample_row(case, count), "tier": "no-such-tier"}
    too_long = {**sample_row(case, count + 1), "notes": "n" * (case.notes_max + 1)}
    insert(db, table, [*valid, bad_tier, too_long])
    rows = {record_key(r): r for r in valid}
    _wait_in_step(case, sim, rows, pipeline.describe)
    pipeline.wait_idle()

    letters = pipeline.dead_letters()
    tier_field, notes_field = _target_of(case, "tier"), _target_of(case, "notes")
    assert sorted((letter_key(d["record_key"]), d["field"]) for d in letters) == sorted(
        [(record_key(bad_tier), tier_field), (record_key(too_long), notes_field)]
    ), [(d["record_key"], d["field"], d["reason"]) for d in letters]
    reasons = {d["field"]: d["reason"] for d in letters}
    assert "'no-such-tier' is not one of the field's options" in reasons[tier_field]
    assert f"at most {case.notes_max} fit" in reasons[notes_field]

    for row in valid[: count // 4]:
        rows[record_key(row)] = update(
            db,
            table,
            row,
            annual_revenue=Decimal("1.50"),
            tier=case.tiers[-1],
            notes=None,
            is_active=None,
            given_name="Ünïcødé ✓",
        )
    for row in (bad_tier, too_long):
        fixed = update(db, table, row, tier=case.tiers[0], notes="fixed")
        rows[record_key(fixed)] = fixed
    _wait_in_step(case, sim, rows, pipeline.describe)

    for row in valid[count // 4 : count // 4 + 10]:
        delete(db, table, row)
        del rows[record_key(row)]
    _wait_in_step(case, sim, rows, pipeline.describe)
    pipeline.wait_idle()
    assert case.refused_calls(sim) == 0
    assert len(pipeline.dead_letters()) == 2
