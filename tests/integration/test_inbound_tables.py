"""``config apply`` holds an ``inbound:`` section's tables against the catalog: a composite
primary key, a key column that is not the primary key, a missing table or column, a soft-delete
column of the wrong type, an inbox table missing or short of the columns its rows are written
with are refused, each named; a key without a default is a warning. And the inbound write finds
its row through the primary key's index, whatever the key's type."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql

from providers.base import CrmRecord
from syncsvc.config.apply import ConfigRefused, check_document
from syncsvc.config.loader import load_config_file
from syncsvc.db import Row, connect
from syncsvc.inbound.apply import Target, apply_delete, apply_record
from syncsvc.inbound.model import InboundObject
from syncsvc.mapping.mapper import compile_mapper
from syncsvc.settings import Settings

UNREACHABLE = "http://127.0.0.1:9"  # the CRM's fields are not the point: a warning only
SCHEMA = """
DROP SCHEMA IF EXISTS inbound_check CASCADE;
CREATE SCHEMA inbound_check;
CREATE TABLE inbound_check.people (
    person_ref text PRIMARY KEY, code text UNIQUE, email text, gone text
);
CREATE TABLE inbound_check.orders (
    region text, order_no integer, email text, note text, PRIMARY KEY (region, order_no)
);
CREATE TABLE inbound_check.short_inbox (
    connection_id integer, object text, crm_id text, record_key text, modified_at timestamptz
);
CREATE TABLE inbound_check.text_inbox (
    connection_id integer, object text, crm_id text, record_key text, kind text, fields text,
    modified_at timestamptz
);
CREATE TABLE inbound_check.inbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, connection_id integer NOT NULL,
    object text NOT NULL, crm_id text NOT NULL, record_key text, kind text NOT NULL,
    fields jsonb NOT NULL, modified_at timestamptz, received_at timestamptz DEFAULT now()
);
"""


@pytest.fixture
def tables(database_url: str) -> Iterator[None]:
    with connect(database_url) as db, db.transaction():
        db.execute(SCHEMA)
    yield
    with connect(database_url) as db, db.transaction():
        db.execute("DROP SCHEMA inbound_check CASCADE")


SKIP = {"name": "none", "source": "demo.contacts", "operations": ["insert"], "action": "skip",
        "object": "contacts"}  # fmt: skip


def connection(name: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "hubspot",
        "base_url": UNREACHABLE,
        "credentials": {"access_token": "t"},
        "rules": [SKIP],
        "inbound": {"webhooks": False, "poll_seconds": 30, "objects": {"contacts": obj}},
    }


def people(key: str = "person_ref", **extra: Any) -> dict[str, Any]:
    return {
        "table": "inbound_check.people",
        "key": {"column": key, "field": "syncsvc_id"},
        "mappings": [{"source": "email", "target": "email"}],
        **extra,
    }


def check(settings: Settings, tmp_path: Path, *connections: dict[str, Any]) -> Any:
    path = tmp_path / "inbound.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "connections": list(connections)}))
    return check_document(load_config_file(path), settings, strict=False)


def refused(settings: Settings, tmp_path: Path, *connections: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigRefused) as refusal:
        check(settings, tmp_path, *connections)
    prefix = f"{tmp_path / 'inbound.yaml'}: "
    return [p.removeprefix(prefix) for p in refusal.value.problems]


def test_inbound_tables_are_checked_against_the_catalog(
    settings: Settings, tmp_path: Path, tables: None
) -> None:
    orders = {
        "table": "inbound_check.orders",
        "key": {"column": "order_no", "field": "syncsvc_id"},
        "mappings": [{"source": "email", "target": "email"}, {"source": "message", "target": "note"}],
    }  # fmt: skip
    problems = refused(
        settings,
        tmp_path,
        connection("composite", orders),
        connection("not-the-key", people(key="code")),
        connection("soft-text", people(on_delete={"soft_delete": "gone"})),
        connection(
            "no-column",
            people(
                mappings=[
                    {"source": "email", "target": "email"},
                    {"source": "message", "target": "note"},
                ]
            ),
        ),
    )
    assert problems == [
        "connections[0].inbound.objects.contacts.key.column: inbound_check.orders has a "
        "composite primary key (region, order_no); inbound writes need a table keyed by one "
        "column (use inbox: SCHEMA.TABLE to receive its changes and apply them yourself)",
        "connections[1].inbound.objects.contacts.key.column: 'code' must be "
        "inbound_check.people's primary key; its primary key is 'person_ref'",
        "connections[2].inbound.objects.contacts.on_delete.soft_delete: inbound_check.people."
        "gone is text; a soft-delete column is a boolean (set true) or a date or timestamp "
        "(set to now())",
        "connections[3].inbound.objects.contacts.mappings[1].target: inbound_check.people has "
        "no column 'note'",
    ]


def test_an_inbox_table_must_have_the_columns_its_rows_are_written_with(
    settings: Settings, tmp_path: Path, tables: None
) -> None:
    problems = refused(
        settings,
        tmp_path,
        connection("missing", people(inbox="inbound_check.nothing")),
        connection("short", people(inbox="inbound_check.short_inbox")),
        connection("text", people(inbox="inbound_check.text_inbox")),
    )
    wanted = "connection_id, object, crm_id, record_key, kind, fields, modified_at"
    assert problems == [
        "connections[0].inbound.objects.contacts.inbox: table inbound_check.nothing does not "
        f"exist (it needs the columns {wanted})",
        "connections[1].inbound.objects.contacts.inbox: inbound_check.short_inbox has no "
        f"column(s) kind, fields: every inbox row is written with {wanted}",
        "connections[2].inbound.objects.contacts.inbox: inbound_check.text_inbox.fields is "
        "text, not jsonb",
    ]
    outcome = check(settings, tmp_path, connection("inbox", people(inbox="inbound_check.inbox")))
    assert not [w for w in outcome.warnings if ".inbound." in w], outcome.warnings


def test_a_table_keyed_without_a_default_is_a_warning(
    settings: Settings, tmp_path: Path, tables: None
) -> None:
    outcome = check(settings, tmp_path, connection("no-default", people()))
    assert [w.split(": ", 1)[1] for w in outcome.warnings if ".inbound." in w] == [
        "connections[0].inbound.objects.contacts.key.column: inbound_check.people.person_ref "
        "has no default: a record created in the CRM (without our key) cannot become a row"
    ]


KEYED = """
CREATE SCHEMA inbound_index;
CREATE TABLE inbound_index.by_text (k text PRIMARY KEY, note text, gone boolean NOT NULL
                                    DEFAULT false);
CREATE TABLE inbound_index.by_bigint (k bigint PRIMARY KEY, note text, gone boolean NOT NULL
                                      DEFAULT false);
INSERT INTO inbound_index.by_text SELECT 'k' || g, 'n' FROM generate_series(1, 20000) g;
INSERT INTO inbound_index.by_bigint SELECT g, 'n' FROM generate_series(1, 20000) g;
ANALYZE inbound_index.by_text;
ANALYZE inbound_index.by_bigint;
"""
CONNECTION = """
INSERT INTO syncsvc.connection (name, provider, rate_limit_requests, rate_limit_seconds,
                                batch_size)
VALUES ('inbound-index', 'hubspot', 1, 1, 1) RETURNING id
"""
LINK = """
INSERT INTO syncsvc.inbound_link (connection_id, object, crm_id, record_key)
VALUES (%s, 'contacts', 'crm-1', %s)
"""
SCANS = """
SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables
WHERE schemaname = 'inbound_index' AND relname = %s
"""


def _target(connection_id: int, table: str) -> Target:
    spec = InboundObject(
        object="contacts",
        table=f"inbound_index.{table}",
        key_column="k",
        key_field="syncsvc_id",
        mappings=({"source": "note", "target": "note"},),
        writable=("note",),
        on_delete="soft_delete",
        soft_delete_column="gone",
    )
    mapper = compile_mapper(spec.mappings, "mappings")
    return Target(connection_id, "inbound:inbound-index", spec, mapper, link_back=False)


def _scans(db: psycopg.Connection[Row], table: str) -> tuple[int, int]:
    row = db.execute(SCANS, (table,)).fetchone()
    assert row is not None
    return int(row["seq_scan"]), int(row["idx_scan"])


@pytest.mark.parametrize(("table", "key"), [("by_text", "k19999"), ("by_bigint", "19999")])
def test_the_inbound_write_finds_its_row_by_the_primary_key_index(
    database_url: str, table: str, key: str
) -> None:
    """20,000 rows: an update and a (boolean) soft delete, each through the index alone (all in
    one transaction, rolled back: ``pg_stat_xact_user_tables`` counts its own scans)."""
    with connect(database_url) as db, db.transaction():
        db.execute(KEYED)
        cid = db.execute(CONNECTION).fetchone()["id"]  # type: ignore[index]
        target = _target(cid, table)
        seq, idx = _scans(db, table)  # (creating the table's index read it once)
        record = CrmRecord("crm-1", {"syncsvc_id": key, "note": "changed"}, None)
        assert apply_record(db, target, record).written == ["note"]
        db.execute(LINK, (cid, key))
        assert apply_delete(db, target, "crm-1").status == "applied"
        assert _scans(db, table) == (seq, idx + 3)  # read for update, written, soft-deleted
        query = sql.SQL("SELECT note, gone FROM {} WHERE k::text = %s")
        row = db.execute(query.format(sql.Identifier("inbound_index", table)), (key,)).fetchone()
        assert row == {"note": "changed", "gone": True}
        raise psycopg.Rollback()


VALUES = """
CREATE SCHEMA inbound_values;
CREATE TABLE inbound_values.t (k bigint PRIMARY KEY, note text, n numeric(10, 2));
INSERT INTO inbound_values.t VALUES (1, 'x', 5);
"""


def test_an_empty_crm_field_is_null_and_a_value_the_mapping_refuses_fails_the_record(
    database_url: str,
) -> None:
    spec = InboundObject(
        object="contacts",
        table="inbound_values.t",
        key_column="k",
        key_field="syncsvc_id",
        mappings=(
            {"source": "note", "target": "note"},
            {"source": "amount", "target": "n", "transforms": ["strip", "to_number"]},
        ),
        writable=("note", "n"),
    )
    target = Target(0, "inbound:values", spec, compile_mapper(spec.mappings, "m"), link_back=False)
    read = "SELECT note, n FROM inbound_values.t"
    with connect(database_url) as db, db.transaction():
        db.execute(VALUES)
        refused = apply_record(
            db, target, CrmRecord("c1", {"syncsvc_id": "1", "amount": "abc"}, None)
        )
        assert (refused.status, refused.detail) == (
            "failed",
            "contacts c1: n: cannot transform: not a number: 'abc'",
        )
        assert db.execute(read).fetchone() == {"note": "x", "n": Decimal("5.00")}  # untouched
        emptied = apply_record(db, target, CrmRecord("c1", {"syncsvc_id": "1", "amount": ""}, None))
        assert (emptied.status, sorted(emptied.written)) == ("applied", ["n", "note"])
        assert db.execute(read).fetchone() == {"note": None, "n": None}
        raise psycopg.Rollback()
