"""backfill: one progress row per backfill; backfill ids on events, outbox rows, dead letters

``manage.py backfill`` reads a source table in key order, a page per transaction, and writes
each page as ``sync_event`` rows tagged with the backfill's id in the transaction that advances
its ``backfill`` row (``last_key``, counts), so a page is either recorded and counted or not at
all. The tag travels with the records: ``outbox.backfill_id`` lets the pusher keep a share of
the connection's rate limit for live changes (a live version clears it), and together with
``dead_letter.backfill_id`` lets the backfill count what was delivered and what failed. No
foreign keys from the tagged tables: a tag costs no lookup on the hot paths.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAGGED = ("sync_event", "outbox", "dead_letter")


def upgrade() -> None:
    op.create_table(
        "backfill",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("source_table", sa.Text(), nullable=False),
        sa.Column("rule_name", sa.Text(), nullable=True),
        sa.Column("op", sa.Text(), nullable=False),
        sa.Column("key_columns", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("where_sql", sa.Text(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("since_column", sa.Text(), nullable=True),
        sa.Column("page_size", sa.Integer(), nullable=False),
        sa.Column("last_key", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("pages", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("queued", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("pushed", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'running'"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("host", sa.Text(), nullable=True),
        sa.CheckConstraint("op IN ('I', 'U')", name="ck_backfill_op"),
        sa.CheckConstraint(
            "state IN ('running', 'done', 'cancelled', 'failed')", name="ck_backfill_state"
        ),
        sa.CheckConstraint("page_size > 0", name="ck_backfill_page_size"),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["syncsvc.connection.id"],
            name="fk_backfill_connection_id_connection",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_backfill"),
        schema="syncsvc",
    )
    op.create_index("ix_backfill_connection_id", "backfill", ["connection_id"], schema="syncsvc")
    for table in TAGGED:
        op.add_column(
            table, sa.Column("backfill_id", sa.BigInteger(), nullable=True), schema="syncsvc"
        )
        op.create_index(
            f"ix_{table}_backfill_id",
            table,
            ["backfill_id"],
            schema="syncsvc",
            postgresql_where=sa.text("backfill_id IS NOT NULL"),
        )


def downgrade() -> None:
    for table in TAGGED:
        op.drop_index(f"ix_{table}_backfill_id", table, schema="syncsvc")
        op.drop_column(table, "backfill_id", schema="syncsvc")
    op.drop_index("ix_backfill_connection_id", "backfill", schema="syncsvc")
    op.drop_table("backfill", schema="syncsvc")
