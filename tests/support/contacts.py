"""Rows of ``demo.contacts`` written as a test's live changes, and what a connection's pause
says."""

from __future__ import annotations

from typing import Any

import psycopg

from syncsvc.db import Row


def insert_contacts(db: psycopg.Connection[Row], n: int, tag: str) -> set[str]:
    """``n`` leads with emails ``TAG<i>@example.com``; their keys."""
    rows = db.execute(
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "SELECT %s || g || '@example.com', 'First', 'Last' || g, 'lead' "
        "FROM generate_series(1, %s) g RETURNING id",
        (tag, n),
    ).fetchall()
    return {str(r["id"]) for r in rows}


def pause_of(db: psycopg.Connection[Row], name: str) -> dict[str, Any] | None:
    """The connection's pause (``reason``, ``message``), or None while it is active."""
    row = db.execute(
        "SELECT p.reason, p.message FROM syncsvc.connection_pause p "
        "JOIN syncsvc.connection c ON c.id = p.connection_id WHERE c.name = %s",
        (name,),
    ).fetchone()
    return dict(row) if row else None
