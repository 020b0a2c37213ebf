"""inbound (issue 14): CRM changes flowing back into the internal tables

- ``connection.inbound``: the connection's ``inbound:`` config per object (reverse mappings,
  target table, key, delete handling, conflict policy), as ``config apply`` checked it;
- ``sync_event.origin``: who wrote the captured change. Its default reads the writing
  transaction's ``syncsvc.origin`` setting (``SET LOCAL syncsvc.origin = 'inbound:<conn>'`` by
  the inbound path), so every installed capture trigger records it without being reinstalled;
  the bridge does not send such a change back to the connection it came from;
- ``inbound_cursor``: per connection and object, the high-water mark (or delta token) of the
  CRM's change poll, written in the transaction that stores the changes it read;
- ``inbound_event``: every change a CRM reported (webhook or poll), unique per connection by its
  event key (the CRM's event id, or object/id/modification time): a repeated delivery is a
  no-op, and an event is applied in the transaction that writes the internal table;
- ``inbound_link``: a CRM record created in the CRM and the internal record it became;
- ``sync_log.status`` takes ``conflict`` (both values recorded in ``error_message``).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORIGIN_DEFAULT = "nullif(current_setting('syncsvc.origin', true), '')"
LOG_STATUSES = "'delivered', 'retry', 'wait', 'dead', 'pause'"
# 0008 created the status check under a name its naming convention decided: find it by what it
# checks, whatever it is called.
DROP_LOG_STATUS_CHECK = """
DO $$
DECLARE found text;
BEGIN
    SELECT conname INTO found FROM pg_constraint
    WHERE conrelid = 'syncsvc.sync_log'::regclass AND contype = 'c'
      AND pg_get_constraintdef(oid) LIKE '%status%';
    IF found IS NOT NULL THEN
        EXECUTE format('ALTER TABLE syncsvc.sync_log DROP CONSTRAINT %I', found);
    END IF;
END $$
"""


def _connection_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"],
        ["syncsvc.connection.id"],
        name=f"fk_{table}_connection_id_connection",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.add_column(
        "connection",
        sa.Column("inbound", postgresql.JSONB(), nullable=True),
        schema="syncsvc",
    )
    op.add_column(
        "sync_event",
        sa.Column("origin", sa.Text(), nullable=True, server_default=sa.text(ORIGIN_DEFAULT)),
        schema="syncsvc",
    )
    op.execute(DROP_LOG_STATUS_CHECK)
    op.create_check_constraint(
        op.f("ck_sync_log_status"),
        "sync_log",
        f"status IN ({LOG_STATUSES}, 'conflict')",
        schema="syncsvc",
    )
    op.create_table(
        "inbound_cursor",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("object", sa.Text(), nullable=False),
        sa.Column("high_water", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _connection_fk("inbound_cursor"),
        sa.PrimaryKeyConstraint("connection_id", "object", name="pk_inbound_cursor"),
        schema="syncsvc",
    )
    op.create_table(
        "inbound_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("object", sa.Text(), nullable=False),
        sa.Column("crm_id", sa.Text(), nullable=False),
        sa.Column("event_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'received'"), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('change', 'delete')", name="ck_inbound_event_kind"),
        sa.CheckConstraint("source IN ('webhook', 'poll')", name="ck_inbound_event_source"),
        sa.CheckConstraint(
            "status IN ('received', 'applied', 'ignored', 'failed')",
            name="ck_inbound_event_status",
        ),
        _connection_fk("inbound_event"),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_event"),
        sa.UniqueConstraint(
            "connection_id", "event_key", name="uq_inbound_event_connection_id_event_key"
        ),
        schema="syncsvc",
    )
    op.create_index(
        "ix_inbound_event_received",
        "inbound_event",
        ["connection_id", "id"],
        schema="syncsvc",
        postgresql_where=sa.text("status = 'received'"),
    )
    op.create_table(
        "inbound_link",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("object", sa.Text(), nullable=False),
        sa.Column("crm_id", sa.Text(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _connection_fk("inbound_link"),
        sa.PrimaryKeyConstraint("connection_id", "object", "crm_id", name="pk_inbound_link"),
        schema="syncsvc",
    )


def downgrade() -> None:
    op.drop_table("inbound_link", schema="syncsvc")
    op.drop_index("ix_inbound_event_received", "inbound_event", schema="syncsvc")
    op.drop_table("inbound_event", schema="syncsvc")
    op.drop_table("inbound_cursor", schema="syncsvc")
    op.execute(DROP_LOG_STATUS_CHECK)
    op.create_check_constraint(
        op.f("ck_sync_log_status"), "sync_log", f"status IN ({LOG_STATUSES})", schema="syncsvc"
    )
    op.drop_column("sync_event", "origin", schema="syncsvc")
    op.drop_column("connection", "inbound", schema="syncsvc")
