"""associations (issue 14 part 5): links between records at the CRM, A → B

- ``connection.associations``: the connection's ``associations:`` config (child object, parent
  object, the child's column holding the parent's key, the parent's rule, the CRM's link type),
  as ``config apply`` checked it;
- ``record_link``: one row per (connection, association, child record): which parent the child
  should be linked to, and whether it is. Persist writes it with the child's outbox row (its
  ``version`` only moves forward, as the outbox's does); the push worker links it once both
  records exist at the CRM (both outbox rows delivered, each with its CRM id). A parent that
  has not arrived leaves the link ``pending`` (the child's own fields are pushed regardless).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINK_STATUSES = "'pending', 'linked', 'failed', 'none'"


def upgrade() -> None:
    op.add_column(
        "connection",
        sa.Column("associations", postgresql.JSONB(), nullable=True),
        schema="syncsvc",
    )
    op.create_table(
        "record_link",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("association", sa.Text(), nullable=False),
        sa.Column("child_object", sa.Text(), nullable=False),
        sa.Column("child_key", sa.Text(), nullable=False),
        sa.Column("parent_object", sa.Text(), nullable=False),
        sa.Column("parent_key", sa.Text(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'pending'")),
        sa.Column("linked_parent_key", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column("lease_token", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["syncsvc.connection.id"],
            name="fk_record_link_connection_id_connection",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_record_link"),
        sa.UniqueConstraint(
            "connection_id",
            "association",
            "child_key",
            name="uq_record_link_connection_id_association_child_key",
        ),
        sa.CheckConstraint(f"status IN ({LINK_STATUSES})", name="ck_record_link_status"),
        schema="syncsvc",
    )
    op.create_index(
        "ix_record_link_pending",
        "record_link",
        ["connection_id", "next_attempt_at"],
        schema="syncsvc",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_record_link_connection_id_parent_object_parent_key",
        "record_link",
        ["connection_id", "parent_object", "parent_key"],
        schema="syncsvc",
    )


def downgrade() -> None:
    op.drop_table("record_link", schema="syncsvc")
    op.drop_column("connection", "associations", schema="syncsvc")
