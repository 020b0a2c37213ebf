"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:51:22.071760
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from syncsvc.models import Xid8

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # This revision used to create the demo's tables (schema "demo") too; the demo now creates
    # them itself (syncsvc/demo/schema.py). A database migrated before keeps its demo tables and
    # their rows: nothing here reads or drops them, and the demo's CREATE ... IF NOT EXISTS
    # leaves them as they are.
    op.execute("CREATE SCHEMA IF NOT EXISTS syncsvc")
    op.execute(sa.schema.CreateSequence(sa.Sequence("outbox_change_seq", schema="syncsvc")))
    op.execute(sa.schema.CreateSequence(sa.Sequence("config_generation_seq", schema="syncsvc")))
    op.create_table(
        "captured_table",
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("key_columns", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("notify", sa.Text(), server_default=sa.text("'throttled'"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "notify IN ('off', 'throttled', 'always')", name=op.f("ck_captured_table_notify")
        ),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_captured_table")),
        schema="syncsvc",
    )
    op.create_table(
        "connection",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), server_default=sa.text("'push'"), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=True),
        sa.Column("credentials_enc", sa.LargeBinary(), nullable=True),
        sa.Column("credentials_ref", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "options",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("rate_limit_requests", sa.Integer(), nullable=False),
        sa.Column("rate_limit_seconds", sa.Integer(), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default=sa.text("10"), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("mode IN ('push', 'poll', 'both')", name=op.f("ck_connection_mode")),
        sa.CheckConstraint("batch_size > 0", name=op.f("ck_connection_batch_size")),
        sa.CheckConstraint(
            "rate_limit_requests > 0 AND rate_limit_seconds > 0",
            name=op.f("ck_connection_rate_limit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection")),
        sa.UniqueConstraint("name", name=op.f("uq_connection_name")),
        schema="syncsvc",
    )
    op.create_table(
        "sync_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tx", Xid8(), server_default=sa.text("pg_current_xact_id()"), nullable=False),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("op", sa.Text(), nullable=False),
        sa.Column("pk", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("row", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("targets", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("op IN ('I', 'U', 'D')", name=op.f("ck_sync_event_op")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_event")),
        schema="syncsvc",
    )
    op.create_index(
        "ix_sync_event_dispatched",
        "sync_event",
        ["dispatched_at"],
        unique=False,
        schema="syncsvc",
        postgresql_where=sa.text("dispatched_at IS NOT NULL"),
    )
    op.create_index(
        "ix_sync_event_undispatched",
        "sync_event",
        ["id"],
        unique=False,
        schema="syncsvc",
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("source_table", sa.Text(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("op", sa.Text(), nullable=False),
        sa.Column("object", sa.Text(), nullable=True),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("event", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "stage IN ('validate', 'transform', 'persist', 'push')",
            name=op.f("ck_dead_letter_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["syncsvc.connection.id"],
            name=op.f("fk_dead_letter_connection_id_connection"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
        schema="syncsvc",
    )
    op.create_index(
        "ix_dead_letter_connection_created",
        "dead_letter",
        ["connection_id", "created_at"],
        unique=False,
        schema="syncsvc",
    )
    op.create_table(
        "field_mapping",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("object", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("source", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "transforms",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("required", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("custom", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["syncsvc.connection.id"],
            name=op.f("fk_field_mapping_connection_id_connection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_mapping")),
        sa.UniqueConstraint(
            "connection_id",
            "object",
            "target",
            name=op.f("uq_field_mapping_connection_id_object_target"),
        ),
        schema="syncsvc",
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("object", sa.Text(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("source_table", sa.Text(), nullable=False),
        sa.Column("op", sa.Text(), nullable=False),
        sa.Column("id_property", sa.Text(), nullable=True),
        sa.Column("id_value", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("delivered_version", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.BigInteger(), nullable=True),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column(
            "change_tx", Xid8(), server_default=sa.text("pg_current_xact_id()"), nullable=False
        ),
        sa.Column(
            "change_seq",
            sa.BigInteger(),
            server_default=sa.text("nextval('syncsvc.outbox_change_seq')"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "op IN ('upsert', 'update', 'create', 'archive')", name=op.f("ck_outbox_op")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')", name=op.f("ck_outbox_status")
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["syncsvc.connection.id"],
            name=op.f("fk_outbox_connection_id_connection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint(
            "connection_id",
            "object",
            "record_key",
            name=op.f("uq_outbox_connection_id_object_record_key"),
        ),
        schema="syncsvc",
    )
    op.create_index(
        "ix_outbox_change",
        "outbox",
        ["connection_id", "change_tx", "change_seq"],
        unique=False,
        schema="syncsvc",
    )
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["connection_id", "next_attempt_at"],
        unique=False,
        schema="syncsvc",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "sync_rule",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source_table", sa.Text(), nullable=False),
        sa.Column("operations", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("condition", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target_object", sa.Text(), nullable=False),
        sa.Column("id_property", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint(
            "action IN ('upsert', 'update', 'create', 'archive', 'skip')",
            name=op.f("ck_sync_rule_action"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["syncsvc.connection.id"],
            name=op.f("fk_sync_rule_connection_id_connection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_rule")),
        sa.UniqueConstraint("connection_id", "name", name=op.f("uq_sync_rule_connection_id_name")),
        schema="syncsvc",
    )


def downgrade() -> None:
    # The demo's tables belong to the demo (see upgrade): a downgrade leaves them.
    op.drop_table("sync_rule", schema="syncsvc")
    op.drop_index(
        "ix_outbox_due",
        table_name="outbox",
        schema="syncsvc",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_outbox_change", table_name="outbox", schema="syncsvc")
    op.drop_table("outbox", schema="syncsvc")
    op.drop_table("field_mapping", schema="syncsvc")
    op.drop_index("ix_dead_letter_connection_created", table_name="dead_letter", schema="syncsvc")
    op.drop_table("dead_letter", schema="syncsvc")
    op.drop_index(
        "ix_sync_event_undispatched",
        table_name="sync_event",
        schema="syncsvc",
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.drop_index(
        "ix_sync_event_dispatched",
        table_name="sync_event",
        schema="syncsvc",
        postgresql_where=sa.text("dispatched_at IS NOT NULL"),
    )
    op.drop_table("sync_event", schema="syncsvc")
    op.drop_table("connection", schema="syncsvc")
    op.drop_table("captured_table", schema="syncsvc")
    op.execute("DROP SEQUENCE IF EXISTS syncsvc.outbox_change_seq")
    op.execute("DROP SEQUENCE IF EXISTS syncsvc.config_generation_seq")
