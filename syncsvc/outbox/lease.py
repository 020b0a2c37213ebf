"""Who holds a row and when it is due: lease, reschedule, release, and the sweeper's due rows.

A row is *claimable* when it is pending, due (``next_attempt_at``), not leased (no lease, or an
expired one) and its version not claimed by the poll feed (``poll_version < version``, mode
``both``, ``syncsvc.outbox.feed``): a claimed version is the poller's, the push skips it.
``LEASE`` takes claimable rows; ``DUE_FOR_SWEEP`` finds rows claimable for longer than the
sweeper's grace period, whose push message was lost. A lease is a token plus a deadline and the
worker incarnation that took it (``lease_holder``); every statement that ends a lease checks
the token, except ``RELEASE_LEASES_OF``, which ends the leases of dead worker incarnations.

Enforces I-3 (sending the same version twice is harmless): the lease hands the client what it
needs to write by key instead of creating blindly — the CRM's id (``external_id``), the id
property and value, and ``maybe_sent``. ``maybe_sent`` is set by every lease and never cleared
(a new version does not clear it): some earlier push of the row may have reached the CRM,
whatever became of that push, so a CRM without upsert must look the record up before
creating. Such a CRM's client also notes in the row (``syncsvc.outbox.journal``) when it sends
a create (``create_sent_at``, handed back as ``since_create``: seconds ago, by the database's
clock) and the CRM's id as soon as it has it, so that a retry neither trusts a lagging search
too early nor depends on it when the id is known. One exception to "never cleared": a lease
that was the row's first and ended in a wait (our own rate limit, a 429, refused credentials:
nothing reached the CRM) leaves it unset, so that a row held back by a rate limit is not looked
up for nothing when it goes (``reschedule``'s ``unsent``).
"""

from __future__ import annotations

import psycopg

from syncsvc.db import Row
from syncsvc.kinds import PUSH_OPS, parse
from syncsvc.pipeline.batch import PushGroup

LEASE = """
UPDATE syncsvc.outbox AS o
SET lease_until = now() + make_interval(secs => %(lease_seconds)s), lease_token = %(token)s,
    lease_holder = %(holder)s, maybe_sent = true
FROM (SELECT id, maybe_sent AS was_leased FROM syncsvc.outbox WHERE id = ANY(%(ids)s)) AS prev
WHERE o.id = prev.id
  AND o.id = ANY(%(ids)s) AND o.connection_id = %(connection_id)s AND o.status = 'pending'
  AND o.next_attempt_at <= now() AND (o.lease_until IS NULL OR o.lease_until < now())
  AND (o.poll_version IS NULL OR o.poll_version < o.version)
RETURNING o.id, o.object, o.op, o.record_key, o.id_property, o.id_value, o.payload,
          o.external_id, o.version, o.attempts, o.backfill_id, prev.was_leased,
          o.source_table, o.delivered_payload,
          (prev.was_leased OR o.delivered_version IS NOT NULL) AS maybe_sent,
          extract(epoch FROM now() - o.create_sent_at)::float8 AS since_create
"""

# Waits (rate limits) do not count as attempts; failures do. A row changed meanwhile was reset
# by persist (attempts 0, due now) and keeps that. ``unsent``: rows this lease was the first to
# take and that waited (nothing was sent for them) lose the ``maybe_sent`` it set.
RESCHEDULE = """
UPDATE syncsvc.outbox AS o SET
    attempts = o.attempts + %(count_attempt)s,
    maybe_sent = o.maybe_sent AND NOT o.id = ANY(%(unsent)s),
    next_attempt_at = now() + make_interval(secs => %(delay)s),
    last_error = %(error)s, lease_until = NULL, lease_token = NULL, updated_at = now()
WHERE o.id = ANY(%(ids)s) AND o.lease_token = %(token)s
"""

# A success after failures means the CRM is back: rows of the connection still waiting out
# their backoff go now instead of minutes later (rate-limit waits are left alone).
RELEASE_BACKOFF = """
UPDATE syncsvc.outbox AS o SET next_attempt_at = now()
WHERE o.id IN (
    SELECT id FROM syncsvc.outbox
    WHERE connection_id = %(connection_id)s AND status = 'pending' AND attempts > 0
      AND next_attempt_at > now() AND (lease_until IS NULL OR lease_until < now())
    LIMIT %(limit)s
)
RETURNING o.id, o.object, o.op
"""

# A paused connection was resumed (syncsvc.pause): its waiting rows are due at once, and for
# the sweeper already (due ``backdate`` seconds ago, past its grace period), so that it sends
# them within one sweep although no push message is in flight for them.
RESUME_DUE = """
UPDATE syncsvc.outbox SET next_attempt_at = now() - make_interval(secs => %(backdate)s)
WHERE connection_id = %(connection_id)s AND status = 'pending'
  AND (lease_until IS NULL OR lease_until < now())
"""

# The worker incarnations in ``holders`` are dead (tasks.redelivery): their leases end now, so
# the rows they held go again at once instead of after the lease. Runs only when a worker died.
RELEASE_LEASES_OF = """
UPDATE syncsvc.outbox SET lease_until = NULL, lease_token = NULL, updated_at = now()
WHERE lease_holder = ANY(%(holders)s) AND lease_token IS NOT NULL AND status = 'pending'
"""

DUE_FOR_SWEEP = """
SELECT o.id, o.object, o.op FROM syncsvc.outbox AS o
WHERE o.connection_id = %(connection_id)s AND o.status = 'pending'
  AND o.next_attempt_at < now() - make_interval(secs => %(grace)s)
  AND (o.lease_until IS NULL OR o.lease_until < now())
  AND (o.poll_version IS NULL OR o.poll_version < o.version)
ORDER BY o.next_attempt_at
LIMIT %(limit)s
"""


def due_for_sweep(
    db: psycopg.Connection[Row], connection_id: int, grace_seconds: float, limit: int
) -> list[PushGroup]:
    """Rows of the connection claimable for longer than ``grace_seconds`` (their push message
    was lost), the longest due first, one group each."""
    rows = db.execute(
        DUE_FOR_SWEEP, {"connection_id": connection_id, "grace": grace_seconds, "limit": limit}
    ).fetchall()
    return [
        PushGroup(object=r["object"], op=parse(r["op"], PUSH_OPS, "push op"), ids=[r["id"]])
        for r in rows
    ]


def lease(
    db: psycopg.Connection[Row],
    connection_id: int,
    ids: list[int],
    token: int,
    holder: str | None,
    lease_seconds: int,
) -> list[Row]:
    """Lease the claimable rows among ``ids`` for ``lease_seconds`` under ``token``.

    Returns each leased row as it is now (its current op, object, payload and version: the
    version the push sends), its ``attempts``, ``maybe_sent``: whether an earlier push of it
    may have reached the CRM, ``since_create``: seconds since a create of it was last sent
    (None: never), and its ``source_table`` and ``delivered_payload`` (what the push's read of
    the CRM record is held against: ``syncsvc.push.guard``).
    """
    return db.execute(
        LEASE,
        {
            "ids": ids,
            "connection_id": connection_id,
            "token": token,
            "holder": holder,
            "lease_seconds": lease_seconds,
        },
    ).fetchall()


def reschedule(
    db: psycopg.Connection[Row],
    ids: list[int],
    token: int,
    delay: float,
    error: str | None,
    count_attempt: bool,
    unsent: list[int] | None = None,
) -> None:
    """End the lease ``token`` of ``ids``: due again in ``delay`` seconds, ``error`` recorded;
    ``count_attempt`` False for a wait (a rate limit) that is not a failed attempt. ``unsent``:
    rows of a wait that no earlier lease had taken; they are not ``maybe_sent`` any more."""
    db.execute(
        RESCHEDULE,
        {
            "unsent": unsent or [],
            "ids": ids,
            "token": token,
            "delay": delay,
            "error": error,
            "count_attempt": 1 if count_attempt else 0,
        },
    )


def release_backoff(db: psycopg.Connection[Row], connection_id: int, limit: int) -> list[Row]:
    """Make up to ``limit`` rows in backoff due now; returns their ``id``, ``object``, ``op``."""
    return db.execute(RELEASE_BACKOFF, {"connection_id": connection_id, "limit": limit}).fetchall()


def release_held_by(db: psycopg.Connection[Row], holders: list[str]) -> int:
    """End the leases held by the (dead) worker incarnations ``holders``; returns how many."""
    return db.execute(RELEASE_LEASES_OF, {"holders": holders}).rowcount


def make_due(db: psycopg.Connection[Row], connection_id: int, backdate: float) -> int:
    """Every waiting row of the (resumed) connection due ``backdate`` seconds ago; how many."""
    return db.execute(RESUME_DUE, {"connection_id": connection_id, "backdate": backdate}).rowcount
