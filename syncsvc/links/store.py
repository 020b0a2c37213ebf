"""Every query on ``syncsvc.record_link``: persist notes which parent a child wants, the push
worker leases the links whose child and parent both exist at the CRM and records the outcome.

``parent_key`` is the parent the child wants, ``linked_parent_key`` the one the CRM holds as far
as we know (we linked it, or the inbound path wrote the CRM's link into the column). Statuses:
``pending`` (a link to make), ``linked``, ``unlinking`` (the child wants no parent any more and
the CRM still holds ``linked_parent_key``: the link is to be cleared there), ``none``, and
``failed`` (``max_attempts`` spent).

A link is *ready* when it is ``pending``, due, not leased, and both its child's and its
parent's outbox rows were delivered with the CRM's id (and are not deletions). A link whose
parent has not arrived stays ``pending`` for as long as it takes: nothing here gives up on it
(the child keeps its previous link at the CRM meanwhile, as a lookup would). An unlink is ready
once the child's row was delivered; it needs the old parent's CRM id only where the CRM names
both ends (HubSpot). Like the outbox, a link's ``version`` (the child's event id) only moves
forward, so an older batch never points a child back at a parent it has left.
"""

from __future__ import annotations

from typing import Any, TypedDict

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.db import Row


class NotedLink(TypedDict):
    """The parent one child record wants, as of the child's ``version``."""

    association: str
    child_object: str
    child_key: str
    parent_object: str
    parent_key: str | None
    version: int


NOTE = """
INSERT INTO syncsvc.record_link AS l
    (connection_id, association, child_object, child_key, parent_object, parent_key, version,
     status)
SELECT %(connection_id)s, n.association, n.child_object, n.child_key, n.parent_object,
       n.parent_key, n.version, CASE WHEN n.parent_key IS NULL THEN 'none' ELSE 'pending' END
FROM jsonb_to_recordset(%(links)s) AS n(association text, child_object text, child_key text,
                                        parent_object text, parent_key text, version bigint)
ORDER BY n.association, n.child_key
ON CONFLICT (connection_id, association, child_key) DO UPDATE SET
    parent_key = EXCLUDED.parent_key,
    parent_object = EXCLUDED.parent_object,
    version = EXCLUDED.version,
    status = CASE
        WHEN EXCLUDED.parent_key IS NULL AND l.linked_parent_key IS NULL THEN 'none'
        WHEN EXCLUDED.parent_key IS NULL THEN 'unlinking'
        WHEN l.linked_parent_key = EXCLUDED.parent_key AND l.status <> 'failed' THEN 'linked'
        ELSE 'pending' END,
    attempts = CASE WHEN l.parent_key IS DISTINCT FROM EXCLUDED.parent_key THEN 0
                    ELSE l.attempts END,
    next_attempt_at = CASE WHEN l.parent_key IS DISTINCT FROM EXCLUDED.parent_key THEN now()
                           ELSE l.next_attempt_at END,
    updated_at = now()
WHERE l.version < EXCLUDED.version
"""

# Both records exist at the CRM: the child's and the parent's rows carry the CRM's ids.
READY = """
SELECT l.id
FROM syncsvc.record_link l
JOIN syncsvc.outbox c ON c.connection_id = l.connection_id AND c.object = l.child_object
                     AND c.record_key = l.child_key
JOIN syncsvc.outbox p ON p.connection_id = l.connection_id AND p.object = l.parent_object
                     AND p.record_key = l.parent_key
WHERE l.connection_id = %(connection_id)s AND l.status = 'pending'
  AND l.association = ANY(%(associations)s) AND l.next_attempt_at <= now()
  AND c.external_id IS NOT NULL AND c.delivered_version IS NOT NULL AND c.op <> 'archive'
  AND p.external_id IS NOT NULL AND p.delivered_version IS NOT NULL AND p.op <> 'archive'
ORDER BY l.id
LIMIT %(limit)s
FOR UPDATE OF l SKIP LOCKED
"""

# ``previous_parent_id``, ``parent_id`` of an unlink: the CRM id of the parent linked before, by
# its outbox row or as the inbound path took it from the CRM (``inbound_link``).
LEASE = """
UPDATE syncsvc.record_link AS l SET
    lease_token = %(token)s,
    next_attempt_at = now() + make_interval(secs => %(lease_seconds)s),
    updated_at = now()
FROM syncsvc.outbox c, syncsvc.outbox p
WHERE l.id = ANY(%(ids)s)
  AND c.connection_id = l.connection_id AND c.object = l.child_object
  AND c.record_key = l.child_key
  AND p.connection_id = l.connection_id AND p.object = l.parent_object
  AND p.record_key = l.parent_key
RETURNING l.id, l.association, l.child_object, l.parent_object, l.parent_key, l.attempts,
          c.external_id AS child_id, p.external_id AS parent_id,
          CASE WHEN l.linked_parent_key IS DISTINCT FROM l.parent_key THEN
          COALESCE(
              (SELECT o.external_id FROM syncsvc.outbox o
               WHERE o.connection_id = l.connection_id AND o.object = l.parent_object
                 AND o.record_key = l.linked_parent_key AND o.external_id IS NOT NULL),
              (SELECT i.crm_id FROM syncsvc.inbound_link i
               WHERE i.connection_id = l.connection_id AND i.object = l.parent_object
                 AND i.record_key = l.linked_parent_key LIMIT 1)) END AS previous_parent_id
"""

# The child left its parent: it exists at the CRM (a child deleted there has no link left).
READY_UNLINK = """
SELECT l.id
FROM syncsvc.record_link l
JOIN syncsvc.outbox c ON c.connection_id = l.connection_id AND c.object = l.child_object
                     AND c.record_key = l.child_key
WHERE l.connection_id = %(connection_id)s AND l.status = 'unlinking'
  AND l.association = ANY(%(associations)s) AND l.next_attempt_at <= now()
  AND c.external_id IS NOT NULL AND c.delivered_version IS NOT NULL
ORDER BY l.id
LIMIT %(limit)s
FOR UPDATE OF l SKIP LOCKED
"""

LEASE_UNLINK = """
UPDATE syncsvc.record_link AS l SET
    lease_token = %(token)s,
    next_attempt_at = now() + make_interval(secs => %(lease_seconds)s),
    updated_at = now()
FROM syncsvc.outbox c
WHERE l.id = ANY(%(ids)s)
  AND c.connection_id = l.connection_id AND c.object = l.child_object
  AND c.record_key = l.child_key
RETURNING l.id, l.association, l.child_object, l.parent_object, l.linked_parent_key,
          l.attempts, c.external_id AS child_id, c.op = 'archive' AS child_gone,
          COALESCE(
              (SELECT o.external_id FROM syncsvc.outbox o
               WHERE o.connection_id = l.connection_id AND o.object = l.parent_object
                 AND o.record_key = l.linked_parent_key AND o.external_id IS NOT NULL),
              (SELECT i.crm_id FROM syncsvc.inbound_link i
               WHERE i.connection_id = l.connection_id AND i.object = l.parent_object
                 AND i.record_key = l.linked_parent_key LIMIT 1)) AS parent_id
"""

# Linked only if the child still wants that parent; a child that moved on meanwhile goes again
# (or is unlinked, if it wants none now).
RECORD_LINKED = """
UPDATE syncsvc.record_link AS l SET
    status = CASE WHEN l.parent_key = r.parent_key THEN 'linked'
                  WHEN l.parent_key IS NULL THEN 'unlinking' ELSE 'pending' END,
    linked_parent_key = r.parent_key,
    linked_at = now(), attempts = 0, last_error = NULL, lease_token = NULL,
    next_attempt_at = now(), updated_at = now()
FROM jsonb_to_recordset(%(links)s) AS r(id bigint, parent_key text)
WHERE l.id = r.id AND l.lease_token = %(token)s
"""

# The CRM cleared the link: none, unless the child wants a parent again meanwhile.
RECORD_UNLINKED = """
UPDATE syncsvc.record_link AS l SET
    status = CASE WHEN l.parent_key IS NULL THEN 'none' ELSE 'pending' END,
    linked_parent_key = NULL,
    attempts = 0, last_error = NULL, lease_token = NULL,
    next_attempt_at = now(), updated_at = now()
WHERE l.id = ANY(%(ids)s) AND l.lease_token = %(token)s
"""

# A failed link (or unlink) stays as it is and is tried again later; after ``max_attempts``
# failures it is ``failed`` (visible in ``status`` and ``trace``): the child itself stays synced.
# A link the child changed meanwhile (``note``) keeps what it is now.
RECORD_FAILED = """
UPDATE syncsvc.record_link AS l SET
    attempts = l.attempts + %(count_attempt)s,
    status = CASE WHEN l.status NOT IN ('pending', 'unlinking') THEN l.status
                  WHEN l.attempts + %(count_attempt)s >= %(max_attempts)s THEN 'failed'
                  ELSE l.status END,
    next_attempt_at = now() + make_interval(secs => %(delay)s),
    last_error = %(error)s, lease_token = NULL, updated_at = now()
WHERE l.id = ANY(%(ids)s) AND l.lease_token = %(token)s
"""

HAS_READY = """
SELECT EXISTS (
    SELECT 1 FROM syncsvc.record_link l
    JOIN syncsvc.outbox c ON c.connection_id = l.connection_id AND c.object = l.child_object
                         AND c.record_key = l.child_key
    JOIN syncsvc.outbox p ON p.connection_id = l.connection_id AND p.object = l.parent_object
                         AND p.record_key = l.parent_key
    WHERE l.connection_id = %(connection_id)s AND l.status = 'pending'
      AND l.association = ANY(%(associations)s) AND l.next_attempt_at <= now()
      AND c.external_id IS NOT NULL AND c.delivered_version IS NOT NULL
      AND p.external_id IS NOT NULL AND p.delivered_version IS NOT NULL
) OR EXISTS (
    SELECT 1 FROM syncsvc.record_link l
    JOIN syncsvc.outbox c ON c.connection_id = l.connection_id AND c.object = l.child_object
                         AND c.record_key = l.child_key
    WHERE l.connection_id = %(connection_id)s AND l.status = 'unlinking'
      AND l.association = ANY(%(associations)s) AND l.next_attempt_at <= now()
      AND c.external_id IS NOT NULL AND c.delivered_version IS NOT NULL
) AS ready
"""

COUNTS = """
SELECT status, count(*) AS n FROM syncsvc.record_link
WHERE connection_id = %(connection_id)s GROUP BY status
"""

OF_CHILD = """
SELECT association, parent_object, parent_key, status, linked_parent_key, attempts,
       last_error, linked_at, updated_at
FROM syncsvc.record_link
WHERE connection_id = %(connection_id)s AND child_object = %(object)s AND child_key = %(key)s
ORDER BY association
"""


def note(db: psycopg.Connection[Row], connection_id: int, links: list[NotedLink]) -> None:
    """Write which parent each child wants, where the child's version is newer."""
    if links:
        db.execute(NOTE, {"connection_id": connection_id, "links": Jsonb(links)})


def lease_ready(
    db: psycopg.Connection[Row],
    connection_id: int,
    associations: list[str],
    token: int,
    lease_seconds: int,
    limit: int,
) -> list[Row]:
    """Take up to ``limit`` ready links of ``associations`` for ``lease_seconds``; each row has
    the association, both objects, the parent's key and both CRM ids."""
    params = {"connection_id": connection_id, "associations": associations, "limit": limit}
    ids = [r["id"] for r in db.execute(READY, params).fetchall()]
    if not ids:
        return []
    lease = {"ids": ids, "token": token, "lease_seconds": lease_seconds}
    return db.execute(LEASE, lease).fetchall()


def lease_unlinks(
    db: psycopg.Connection[Row],
    connection_id: int,
    associations: list[str],
    token: int,
    lease_seconds: int,
    limit: int,
) -> list[Row]:
    """Take up to ``limit`` ready unlinks of ``associations`` for ``lease_seconds``; each row has
    the association, both objects, the child's CRM id, whether the child is deleted there
    (``child_gone``) and the linked parent's CRM id (None when none is known)."""
    params = {"connection_id": connection_id, "associations": associations, "limit": limit}
    ids = [r["id"] for r in db.execute(READY_UNLINK, params).fetchall()]
    if not ids:
        return []
    lease = {"ids": ids, "token": token, "lease_seconds": lease_seconds}
    return db.execute(LEASE_UNLINK, lease).fetchall()


def record_unlinked(db: psycopg.Connection[Row], token: int, ids: list[int]) -> None:
    if ids:
        db.execute(RECORD_UNLINKED, {"ids": ids, "token": token})


def record_linked(db: psycopg.Connection[Row], token: int, links: list[dict[str, Any]]) -> None:
    """``links``: ``{id, parent_key}`` of each link the CRM took."""
    if links:
        db.execute(RECORD_LINKED, {"links": Jsonb(links), "token": token})


def record_failed(
    db: psycopg.Connection[Row],
    token: int,
    ids: list[int],
    error: str,
    delay: float,
    max_attempts: int,
    count_attempt: bool = True,
) -> None:
    if ids:
        db.execute(
            RECORD_FAILED,
            {
                "ids": ids,
                "token": token,
                "error": error,
                "delay": delay,
                "max_attempts": max_attempts,
                "count_attempt": int(count_attempt),
            },
        )


def has_ready(db: psycopg.Connection[Row], connection_id: int, associations: list[str]) -> bool:
    params = {"connection_id": connection_id, "associations": associations}
    row = db.execute(HAS_READY, params).fetchone()
    return bool(row and row["ready"])


def counts(db: psycopg.Connection[Row], connection_id: int) -> dict[str, int]:
    """Links by status (``pending``, ``linked``, ``unlinking``, ``failed``, ``none``)."""
    return {
        r["status"]: int(r["n"])
        for r in db.execute(COUNTS, {"connection_id": connection_id}).fetchall()
    }


def of_child(
    db: psycopg.Connection[Row], connection_id: int, child_object: str, child_key: str
) -> list[Row]:
    params = {"connection_id": connection_id, "object": child_object, "key": child_key}
    return db.execute(OF_CHILD, params).fetchall()
