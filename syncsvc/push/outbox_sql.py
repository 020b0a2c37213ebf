"""The push side's SQL on the outbox: lease, record success, reschedule, dead-letter."""

from __future__ import annotations

# A lease is a token plus a deadline; every result update checks the token, so a push whose
# lease expired (and was taken over) cannot overwrite what the newer push recorded. A version the
# poll feed claimed (mode 'both', syncsvc.api.feed) is the poller's: push skips it.
# ``maybe_sent``: some earlier push of this row may have reached the CRM (it was leased before,
# whatever became of that push; a new version of the record does not clear it). Only then must a
# CRM without upsert look the record up before creating it.
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
          o.external_id, o.version, o.attempts,
          (prev.was_leased OR o.delivered_version IS NOT NULL) AS maybe_sent
"""

# A row whose version moved on while it was being pushed stays pending and goes again (I-2).
RECORD_DELIVERED = """
UPDATE syncsvc.outbox AS o SET
    delivered_version = r.version,
    external_id = COALESCE(r.external_id, o.external_id),
    status = CASE WHEN o.version = r.version THEN 'delivered' ELSE 'pending' END,
    attempts = 0, next_attempt_at = now(), last_error = NULL,
    lease_until = NULL, lease_token = NULL, updated_at = now()
FROM jsonb_to_recordset(%(results)s) AS r(id bigint, version bigint, external_id text)
WHERE o.id = r.id AND o.lease_token = %(token)s
RETURNING o.id, o.object, o.op, o.status
"""

# Waits (rate limits) do not count as attempts; failures do. A row changed meanwhile was reset
# by persist (attempts 0, due now) and keeps that.
RESCHEDULE = """
UPDATE syncsvc.outbox AS o SET
    attempts = o.attempts + %(count_attempt)s,
    next_attempt_at = now() + make_interval(secs => %(delay)s),
    last_error = %(error)s, lease_until = NULL, lease_token = NULL, updated_at = now()
WHERE o.id = ANY(%(ids)s) AND o.lease_token = %(token)s
"""

MARK_DEAD = """
WITH dead AS (
    UPDATE syncsvc.outbox AS o SET
        status = CASE WHEN o.version = r.version THEN 'dead' ELSE 'pending' END,
        last_error = r.reason, lease_until = NULL, lease_token = NULL, updated_at = now(),
        attempts = 0, next_attempt_at = now()
    FROM jsonb_to_recordset(%(rows)s) AS r(id bigint, version bigint, reason text, field text)
    WHERE o.id = r.id AND o.lease_token = %(token)s
    RETURNING o.*, r.reason, r.field, r.version AS failed_version
)
INSERT INTO syncsvc.dead_letter
    (connection_id, source_table, record_key, op, object, stage, field, reason, event, version)
SELECT connection_id, source_table, record_key, op, object, 'push', field, reason,
       jsonb_build_object('outbox_id', id, 'payload', payload, 'id_property', id_property,
                          'id_value', id_value, 'external_id', external_id),
       failed_version
FROM dead
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

# The worker incarnations in ``holders`` are dead (tasks.redelivery): their leases end now, so
# the rows they held go again at once instead of after the lease. Runs only when a worker died.
RELEASE_LEASES_OF = """
UPDATE syncsvc.outbox SET lease_until = NULL, lease_token = NULL, updated_at = now()
WHERE lease_holder = ANY(%(holders)s) AND lease_token IS NOT NULL AND status = 'pending'
"""
