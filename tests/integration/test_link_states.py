"""A child's link state as its column changes (``syncsvc.links.store``), and how the inbound side
reads the CRM's link meanwhile (``syncsvc.inbound.links``), on real PostgreSQL, each test rolled
back. What each CRM ends up holding is tested end to end in ``test_associations.py``.

The child is contact 7 (CRM id ``c7``); companies 1 and 2 are at the CRM as ``p1`` and ``p2``.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from syncsvc.db import Row
from syncsvc.inbound.links import ParentRef, held_by_crm, resolve
from syncsvc.links import store
from syncsvc.links.model import Association
from syncsvc.links.store import NotedLink

ASSOC = Association("contact-company", "contacts", "companies", "company_id", "companies", "279")
NAMES = [ASSOC.name]
CONNECTION = """
INSERT INTO syncsvc.connection (name, provider, rate_limit_requests, rate_limit_seconds,
                                batch_size)
VALUES ('link-states', 'hubspot', 1, 1, 10) RETURNING id
"""
DELIVERED = """
INSERT INTO syncsvc.outbox (connection_id, object, record_key, source_table, op, payload,
                            version, delivered_version, external_id, status)
VALUES (%s, %s, %s, 'demo.x', 'upsert', '{}', 1, 1, %s, 'delivered')
"""
STATE = """
SELECT status, parent_key, linked_parent_key FROM syncsvc.record_link WHERE connection_id = %s
"""


@pytest.fixture
def conn(db: psycopg.Connection[Row]) -> Iterator[int]:
    """A connection whose contact 7 and companies 1 and 2 are at the CRM."""
    row = db.execute(CONNECTION).fetchone()
    assert row is not None
    connection_id = int(row["id"])
    for obj, key, crm_id in (("contacts", "7", "c7"), ("companies", "1", "p1")):
        db.execute(DELIVERED, (connection_id, obj, key, crm_id))
    db.execute(DELIVERED, (connection_id, "companies", "2", "p2"))
    yield connection_id
    db.rollback()


def _note(db: psycopg.Connection[Row], conn: int, parent: str | None, version: int) -> None:
    link = NotedLink(
        association=ASSOC.name,
        child_object="contacts",
        child_key="7",
        parent_object="companies",
        parent_key=parent,
        version=version,
    )
    store.note(db, conn, [link])


def _state(db: psycopg.Connection[Row], conn: int) -> tuple[str, str | None, str | None]:
    row = db.execute(STATE, (conn,)).fetchone()
    assert row is not None
    return row["status"], row["parent_key"], row["linked_parent_key"]


def _link_all(db: psycopg.Connection[Row], conn: int) -> list[Row]:
    """Lease the ready links and record them made, as the push worker does when the CRM took
    them; the leased rows."""
    rows = store.lease_ready(db, conn, NAMES, 1, 60, 10)
    store.record_linked(db, 1, [{"id": r["id"], "parent_key": r["parent_key"]} for r in rows])
    return rows


def _linked_to_1(db: psycopg.Connection[Row], conn: int) -> None:
    _note(db, conn, "1", 10)
    _link_all(db, conn)
    assert _state(db, conn) == ("linked", "1", "1")


def test_a_linked_child_whose_column_becomes_null_is_unlinked(
    db: psycopg.Connection[Row], conn: int
) -> None:
    _linked_to_1(db, conn)
    _note(db, conn, None, 11)
    assert _state(db, conn) == ("unlinking", None, "1")
    assert store.has_ready(db, conn, NAMES)

    (row,) = store.lease_unlinks(db, conn, NAMES, 2, 60, 10)
    assert (row["child_id"], row["parent_id"], row["child_gone"]) == ("c7", "p1", False)
    store.record_unlinked(db, 2, [row["id"]])
    assert _state(db, conn) == ("none", None, None)
    assert store.lease_unlinks(db, conn, NAMES, 3, 60, 10) == []


def test_a_child_never_linked_at_the_crm_has_nothing_to_unlink(
    db: psycopg.Connection[Row], conn: int
) -> None:
    _note(db, conn, "9", 10)  # a parent that never reached the CRM
    _note(db, conn, None, 11)
    assert _state(db, conn) == ("none", None, None)
    assert store.lease_unlinks(db, conn, NAMES, 1, 60, 10) == []


def test_a_null_the_inbound_path_wrote_is_not_sent_back_as_an_unlink(
    db: psycopg.Connection[Row], conn: int
) -> None:
    """The CRM cleared the link; the inbound path wrote NULL into the column and noted the
    CRM's link; that write comes back through capture as the child's next change (the echo)."""
    _linked_to_1(db, conn)
    held_by_crm(db, conn, [ASSOC], "7", {"company_id": None})
    _note(db, conn, None, 11)  # the echo
    assert _state(db, conn) == ("none", None, None)
    assert store.lease_unlinks(db, conn, NAMES, 1, 60, 10) == []
    assert not store.has_ready(db, conn, NAMES)


def test_a_moved_child_is_linked_with_the_parent_it_leaves(
    db: psycopg.Connection[Row], conn: int
) -> None:
    """The parent it leaves is named to the CRM (HubSpot archives that association)."""
    _linked_to_1(db, conn)
    _note(db, conn, "2", 11)
    assert _state(db, conn) == ("pending", "2", "1")
    (row,) = _link_all(db, conn)
    assert (row["parent_id"], row["previous_parent_id"]) == ("p2", "p1")
    assert _state(db, conn) == ("linked", "2", "2")

    _note(db, conn, "1", 12)  # and back: nothing left to remove but the link to 2
    (row,) = _link_all(db, conn)
    assert (row["parent_id"], row["previous_parent_id"]) == ("p1", "p2")


def test_an_unlink_the_child_took_back_during_the_call_links_it_again(
    db: psycopg.Connection[Row], conn: int
) -> None:
    _linked_to_1(db, conn)
    _note(db, conn, None, 11)
    (row,) = store.lease_unlinks(db, conn, NAMES, 2, 60, 10)
    _note(db, conn, "1", 12)  # the column names the parent again while the CRM is unlinking
    store.record_unlinked(db, 2, [row["id"]])
    assert _state(db, conn) == ("pending", "1", None)
    (row,) = _link_all(db, conn)
    assert row["previous_parent_id"] is None


def test_the_crm_naming_the_parent_our_side_is_leaving_is_not_taken_inbound(
    db: psycopg.Connection[Row], conn: int
) -> None:
    """Until the unlink (or the move) reaches the CRM, the CRM reports our older state."""
    p1 = [ParentRef(ASSOC.name, ASSOC.via, "companies", "p1")]
    _linked_to_1(db, conn)
    assert resolve(db, conn, "7", p1).values == {"company_id": "1"}

    _note(db, conn, None, 11)
    assert resolve(db, conn, "7", p1).values == {}
    _note(db, conn, "2", 12)
    assert resolve(db, conn, "7", p1).values == {}
    p2 = [ParentRef(ASSOC.name, ASSOC.via, "companies", "p2")]
    assert resolve(db, conn, "7", p2).values == {"company_id": "2"}, "where it moves to"

    _link_all(db, conn)
    assert resolve(db, conn, "7", p1).values == {"company_id": "1"}, "a rep moving it back"
