"""Capture on awkward tables: names that join alike, mixed case, installs of the first release,
and tables that must not be captured (issue 12, items 4, 5 and 11)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from syncsvc import capture
from syncsvc.capture import trigger_v1
from syncsvc.db import Row, connect
from syncsvc.errors import ConfigError
from syncsvc.settings import REPO_ROOT


@pytest.fixture
def tx(db: psycopg.Connection[Row]) -> Iterator[psycopg.Connection[Row]]:
    """One transaction, rolled back at the end: nothing a test creates outlives it, and no
    bridge (the shared stack's) sees its events."""
    db.autocommit = False
    yield db
    db.rollback()


def colliding_pair(db: psycopg.Connection[Row]) -> tuple[str, str]:
    """Two tables, ``<p>_a_b.c`` and ``<p>_a.b_c``: joined with ``_`` their names read alike."""
    prefix = f"cs{uuid.uuid4().hex[:8]}"
    tables = [(f"{prefix}_a_b", "c"), (f"{prefix}_a", "b_c")]
    for schema, table in tables:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        db.execute(
            sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, v text)").format(
                sql.Identifier(schema, table)
            )
        )
    return f"{tables[0][0]}.{tables[0][1]}", f"{tables[1][0]}.{tables[1][1]}"


def events_of(db: psycopg.Connection[Row], *tables: str) -> list[tuple[str, str, int]]:
    rows = db.execute(
        "SELECT table_name, op, pk FROM syncsvc.sync_event WHERE table_name = ANY(%s) ORDER BY id",
        (list(tables),),
    ).fetchall()
    return [(r["table_name"], r["op"], r["pk"]["id"]) for r in rows]


def insert(db: psycopg.Connection[Row], table: str, key: int) -> None:
    schema, name = table.split(".")
    db.execute(
        sql.SQL("INSERT INTO {} (id) VALUES (%s)").format(sql.Identifier(schema, name)), (key,)
    )


def capture_functions(db: psycopg.Connection[Row], like: str) -> set[str]:
    rows = db.execute(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'syncsvc' AND p.proname LIKE %s",
        (like,),
    ).fetchall()
    return {r["proname"] for r in rows}


def state(db: psycopg.Connection[Row], table: str) -> str | None:
    found = [c.triggers for c in capture.list_captures(db) if c.table_name == table]
    return found[0] if found else None


def installed(db: psycopg.Connection[Row], table: str) -> bool | None:
    found = [c.installed for c in capture.list_captures(db) if c.table_name == table]
    return found[0] if found else None


def test_tables_whose_names_join_alike_keep_their_own_capture(
    tx: psycopg.Connection[Row],
) -> None:
    first, second = colliding_pair(tx)
    capture.add_capture(tx, first, notify="off")
    capture.add_capture(tx, second, notify="off")
    insert(tx, first, 1)
    insert(tx, second, 2)
    assert events_of(tx, first, second) == [(first, "I", 1), (second, "I", 2)]
    assert state(tx, first) == "ok"
    assert state(tx, second) == "ok"

    assert capture.remove_capture(tx, second)
    insert(tx, first, 3)
    insert(tx, second, 4)
    assert events_of(tx, first, second)[2:] == [(first, "I", 3)]
    assert state(tx, first) == "ok"
    assert state(tx, second) is None


def test_function_names_are_versioned_and_distinct() -> None:
    names = {
        trigger_v1.function_name("a_b", "c"),
        trigger_v1.function_name("a", "b_c"),
        trigger_v1.key_change_function_name("a_b", "c"),
        trigger_v1.key_change_function_name("a", "b_c"),
    }
    assert len(names) == 4
    assert all(n.startswith(("capture_v1_", "capture_v1k_")) for n in names)
    long = ("s" * 63, "T" * 63)
    assert len(trigger_v1.function_name(*long).encode()) <= 63
    assert trigger_v1.function_name(*long) != trigger_v1.function_name("s" * 63, "T" * 62)


def test_a_mixed_case_table_is_listed_captured_and_removed(tx: psycopg.Connection[Row]) -> None:
    tx.execute('CREATE SCHEMA "Sales"')
    tx.execute('CREATE TABLE "Sales"."Customers" ("Id" int PRIMARY KEY, "Name" text)')
    info = capture.add_capture(tx, "Sales.Customers", notify="off")
    assert info.key_columns == ["Id"]
    assert installed(tx, "Sales.Customers") is True
    tx.execute('INSERT INTO "Sales"."Customers" VALUES (7, \'x\')')
    rows = tx.execute(
        "SELECT op, pk FROM syncsvc.sync_event WHERE table_name = 'Sales.Customers'"
    ).fetchall()
    assert [(r["op"], r["pk"]) for r in rows] == [("I", {"Id": 7})]

    assert capture.remove_capture(tx, "Sales.Customers")
    triggers = tx.execute(
        'SELECT count(*) AS n FROM pg_trigger WHERE tgrelid = \'"Sales"."Customers"\'::regclass '
        "AND tgname LIKE 'syncsvc\\_capture\\_%%'"
    ).fetchone()
    assert triggers == {"n": 0}
    assert capture_functions(tx, "capture\\_v1%Sales\\_Customers%") == set()
    assert installed(tx, "Sales.Customers") is None


def install_first_release(db: psycopg.Connection[Row], *tables: str) -> tuple[str, str]:
    """What the first release left behind for two tables whose names join alike: one pair of
    functions named ``capture_v1[k]_<schema>_<table>``, shared by both tables' triggers."""
    schema, table = tables[-1].split(".")
    names = (f"capture_v1_{schema}_{table}", f"capture_v1k_{schema}_{table}")
    for name in names:
        db.execute(
            sql.SQL(
                "CREATE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'"
            ).format(sql.Identifier("syncsvc", name))
        )
    for each in tables:
        target = sql.Identifier(*each.split("."))
        for trigger, event in (
            ("syncsvc_capture_ins", "INSERT"),
            ("syncsvc_capture_upd", "UPDATE"),
            ("syncsvc_capture_del", "DELETE"),
        ):
            db.execute(
                sql.SQL("CREATE TRIGGER {} AFTER {} ON {} EXECUTE FUNCTION {}()").format(
                    sql.Identifier(trigger),
                    sql.SQL(event),
                    target,
                    sql.Identifier("syncsvc", names[0]),
                )
            )
        db.execute(
            sql.SQL(
                "CREATE TRIGGER syncsvc_capture_key AFTER UPDATE OF id ON {} FOR EACH ROW "
                "EXECUTE FUNCTION {}()"
            ).format(target, sql.Identifier("syncsvc", names[1]))
        )
        db.execute(
            "INSERT INTO syncsvc.captured_table (table_name, key_columns, notify) "
            "VALUES (%s, ARRAY['id'], 'off')",
            (each,),
        )
    return names


def test_installs_of_the_first_release_are_listed_outdated_and_upgraded_or_removed(
    tx: psycopg.Connection[Row],
) -> None:
    first, second = colliding_pair(tx)
    legacy = install_first_release(tx, first, second)
    assert installed(tx, first) is False  # first's triggers record second's events
    assert state(tx, first) == "outdated"
    assert state(tx, second) == "outdated"

    assert capture.remove_capture(tx, first)  # the shared functions stay: second still uses them
    assert capture_functions(tx, "capture\\_v1%") >= set(legacy)
    capture.add_capture(tx, second, notify="off")  # the upgrade path: reinstall
    assert state(tx, second) == "ok"
    assert capture_functions(tx, "capture\\_v1%") & set(legacy) == set()
    insert(tx, first, 1)
    insert(tx, second, 2)
    assert events_of(tx, first, second) == [(second, "I", 2)]


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        ("syncsvc.sync_event", "syncsvc schema"),
        ("syncsvc.captured_table", "syncsvc schema"),
        ("pg_catalog.pg_class", "system catalog"),
        ("information_schema.tables", "system catalog"),
    ],
)
def test_syncsvc_tables_and_system_catalogs_cannot_be_captured(
    tx: psycopg.Connection[Row], table: str, reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason):
        capture.add_capture(tx, table)
    triggers = tx.execute(
        "SELECT count(*) AS n FROM pg_trigger WHERE tgname LIKE 'syncsvc\\_capture\\_%%' "
        "AND tgrelid IN ('syncsvc.sync_event'::regclass, 'syncsvc.captured_table'::regclass)"
    ).fetchone()
    assert triggers == {"n": 0}


def manage(service_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        env={**service_env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_capture_add_and_remove_on_the_command_line_never_end_in_a_traceback(
    service_env: dict[str, str], database_url: str
) -> None:
    with connect(database_url, autocommit=True) as db:
        first, second = colliding_pair(db)
        db.execute('CREATE SCHEMA "Sales_cli"')
        db.execute('CREATE TABLE "Sales_cli"."Customers" (id int PRIMARY KEY)')
    mixed = "Sales_cli.Customers"
    try:
        added = manage(service_env, "capture", "add", first, second, mixed, "--notify", "off")
        assert (added.returncode, added.stderr) == (0, "")
        removed = manage(service_env, "capture", "remove", second, mixed)
        assert (removed.returncode, removed.stderr) == (0, ""), removed.stderr
        assert f"{second}: no longer captured" in removed.stdout
        assert f"{mixed}: no longer captured" in removed.stdout
        listed = manage(service_env, "capture", "list")
        assert listed.returncode == 0, listed.stderr
        line = next(x for x in listed.stdout.splitlines() if first in x)
        assert " ok " in line
        assert second not in listed.stdout
        assert mixed not in listed.stdout
        refused = manage(service_env, "capture", "add", "syncsvc.sync_event")
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [refused.stderr.strip()], refused.stderr
        assert "syncsvc schema" in refused.stderr
    finally:
        with connect(database_url, autocommit=True) as db:
            for table in (first, second, mixed):
                capture.remove_capture(db, table)
            for table in (first, second):
                db.execute(
                    sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(table.split(".")[0]))
                )
            db.execute('DROP SCHEMA "Sales_cli" CASCADE')
