"""The outbox: one row per (connection, object, record), the latest desired state at one CRM.

Every statement that reads or moves outbox rows is in this package; the callers (persist, push,
the sweeper, the poll API, the dead-letter replay, monitoring) keep their own logic and call it.

A row's state: ``status`` is ``pending``, ``delivered`` or ``dead``. *Leased* is not a status
but a pending row with a live lease (``lease_token`` set, ``lease_until`` not yet past), held by
the worker incarnation ``lease_holder``. ``version`` only grows; ``delivered_version`` is the
last version a CRM took; ``poll_version`` the version the poll feed claimed (mode ``both``);
``maybe_sent`` says some push of the row may have reached the CRM.

Its moves::

    (any)     --versions.upsert (a newer version)-----------> pending, due now
    pending   --lease.lease---------------------------------> leased
    leased    --versions.record_delivered-------------------> delivered (pending if it changed)
    leased    --lease.reschedule----------------------------> pending, due later
    pending   --lease.release_backoff (the CRM is back)-----> due now
    pending   --lease.make_due (its connection resumed)-----> due now (for the sweeper too)
    leased    --versions.mark_dead (+ a dead_letter row)----> dead (pending if it changed)
    leased    --lease.release_held_by (its worker died)-----> pending, due
    dead      --versions.resend_dead (dead-letter replay)---> pending, due
    pending   --feed.read_page (mode both: claimed)---------> poll_version = version
    pending   --feed.acknowledge (the poller has it)--------> delivered

Modules, each with one job:

- ``versions`` — a newer version in (persist), the leased version settled (push results), a
  dead row sent again (replay). Enforces **I-2** (no stale overwrite).
- ``lease`` — who holds a row and when it is due: lease, reschedule, backoff release, leases of
  dead workers, the sweeper's due rows. Enforces **I-3** (idempotent sends).
- ``feed`` — the poll channel: pages in commit order, claims (mode ``both``), acknowledgements.
  Enforces **I-6** (poll cursors never skip).
- ``counts`` — per-connection counts of rows by status, for ``status`` and ``/metrics``.
"""
