"""sync_log: one row per outcome of a delivery attempt; indexes for retention

``sync_log`` is written by every push (one INSERT per CRM call) and read per record
(``manage.py trace``, ``GET /v1/connections/{name}/records/{key}/log``) through
``ix_sync_log_record``. Retention (``syncsvc.retention``) deletes old rows in bounded batches,
found through the BRIN index on ``at`` (rows arrive in time order: a few pages of index, next to
nothing to maintain on insert). No foreign key to ``connection``: a log row costs no lookup on
insert, and a deleted connection's rows simply age out.

``ix_dead_letter_replayed_at`` finds replayed dead letters past their retention,
``ix_dead_letter_record`` a record's dead letters (``trace``).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("object", sa.Text(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("op", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("http_status", sa.SmallInteger(), nullable=True),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('delivered', 'retry', 'wait', 'dead', 'pause')", name="ck_sync_log_status"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sync_log"),
        schema="syncsvc",
    )
    op.create_index(
        "ix_sync_log_record",
        "sync_log",
        ["connection_id", "record_key", "id"],
        schema="syncsvc",
    )
    op.create_index("ix_sync_log_at", "sync_log", ["at"], schema="syncsvc", postgresql_using="brin")
    op.create_index(
        "ix_dead_letter_record", "dead_letter", ["source_table", "record_key"], schema="syncsvc"
    )
    op.create_index(
        "ix_dead_letter_replayed_at",
        "dead_letter",
        ["replayed_at"],
        schema="syncsvc",
        postgresql_where=sa.text("replayed_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_dead_letter_replayed_at", "dead_letter", schema="syncsvc")
    op.drop_index("ix_dead_letter_record", "dead_letter", schema="syncsvc")
    op.drop_table("sync_log", schema="syncsvc")
