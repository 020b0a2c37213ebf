"""config generation in a table, not a sequence

A sequence ignores transactions: a process reading the new number before ``config apply``
committed cached the old config under it. The generation now changes in the same transaction
as the config.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_state",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_config_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_state")),
        schema="syncsvc",
    )
    op.execute(
        "INSERT INTO syncsvc.config_state (id, generation) "
        "SELECT 1, CASE WHEN is_called THEN last_value ELSE 0 END "
        "FROM syncsvc.config_generation_seq"
    )
    op.execute("DROP SEQUENCE syncsvc.config_generation_seq")


def downgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("config_generation_seq", schema="syncsvc")))
    op.execute(
        "SELECT setval('syncsvc.config_generation_seq', greatest(generation, 1)) "
        "FROM syncsvc.config_state"
    )
    op.drop_table("config_state", schema="syncsvc")
