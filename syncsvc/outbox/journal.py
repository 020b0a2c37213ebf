"""What a client notes in an outbox row while it pushes it, before the push's result is known.

A CRM without upsert is written by search-then-create, and the search may lag behind writes.
The client notes that a create is about to be sent (``create_sent_at``) and the CRM's id as soon
as the CRM answers with one, each in its own short transaction, so that a push that dies
afterwards (its answer lost, the worker killed) leaves the next push what it needs: the id to
write by, or the time before which "not found" may only mean "not indexed yet" (I-3). Only the
push holding the row's lease (``lease_token``) writes.
"""

from __future__ import annotations

from syncsvc.db import transaction

MAX_EXTERNAL_ID = 255
"""A longer "id" is no CRM's record id: it is not kept (the push's result still carries it)."""

CREATING = """
UPDATE syncsvc.outbox SET create_sent_at = now()
WHERE id = %(id)s AND lease_token = %(token)s
"""

# Back to the mark of an earlier create (seconds ago at the lease), or none.
NOT_CREATED = """
UPDATE syncsvc.outbox
SET create_sent_at = now() - make_interval(secs => %(since)s::float8)
WHERE id = %(id)s AND lease_token = %(token)s
"""

CREATED = """
UPDATE syncsvc.outbox SET external_id = %(external_id)s
WHERE id = %(id)s AND lease_token = %(token)s
"""


class OutboxJournal:
    """The ``providers.base.WriteJournal`` of the rows one push leased with ``token``;
    ``since_create`` holds each row's ``since_create`` as leased (to go back to it)."""

    def __init__(self, dsn: str, token: int, since_create: dict[int, float | None]) -> None:
        self.dsn = dsn
        self.token = token
        self.since_create = since_create

    def creating(self, outbox_id: int) -> None:
        with transaction(self.dsn) as db:
            db.execute(CREATING, {"id": outbox_id, "token": self.token})

    def not_created(self, outbox_id: int) -> None:
        """The mark ``creating`` made goes; an earlier create's (if any) is back."""
        since = self.since_create.get(outbox_id)
        with transaction(self.dsn) as db:
            db.execute(NOT_CREATED, {"id": outbox_id, "token": self.token, "since": since})

    def created(self, outbox_id: int, external_id: str) -> None:
        if not external_id or len(external_id) > MAX_EXTERNAL_ID:
            return
        with transaction(self.dsn) as db:
            db.execute(CREATED, {"id": outbox_id, "token": self.token, "external_id": external_id})
