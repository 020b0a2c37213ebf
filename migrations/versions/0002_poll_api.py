"""poll API: api keys, poll cursors, client event ids, outbox.poll_version

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from syncsvc.models import Xid8

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The version the poll feed claimed for a connection in mode 'both' (push skips it).
    op.add_column(
        "outbox", sa.Column("poll_version", sa.BigInteger(), nullable=True), schema="syncsvc"
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("rate_limit", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write')", name=op.f("ck_api_key_scope")),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["syncsvc.connection.id"],
            name=op.f("fk_api_key_connection_id_connection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
        schema="syncsvc",
    )
    op.create_index(
        "ix_api_key_connection_id", "api_key", ["connection_id"], unique=False, schema="syncsvc"
    )
    op.create_table(
        "poll_cursor",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("tx", Xid8(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column(
            "acked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["syncsvc.connection.id"],
            name=op.f("fk_poll_cursor_connection_id_connection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_poll_cursor")),
        schema="syncsvc",
    )
    op.create_table(
        "api_event_id",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("client_event_id", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["syncsvc.connection.id"],
            name=op.f("fk_api_event_id_connection_id_connection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "client_event_id", name=op.f("pk_api_event_id")),
        schema="syncsvc",
    )
    op.create_index(
        "ix_api_event_id_created_at", "api_event_id", ["created_at"], unique=False, schema="syncsvc"
    )


def downgrade() -> None:
    op.drop_index("ix_api_event_id_created_at", table_name="api_event_id", schema="syncsvc")
    op.drop_table("api_event_id", schema="syncsvc")
    op.drop_table("poll_cursor", schema="syncsvc")
    op.drop_index("ix_api_key_connection_id", table_name="api_key", schema="syncsvc")
    op.drop_table("api_key", schema="syncsvc")
    op.drop_column("outbox", "poll_version", schema="syncsvc")
