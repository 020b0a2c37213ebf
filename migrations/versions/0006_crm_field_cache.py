"""crm_field: each connection's CRM field definitions, as last read from the CRM;
field_mapping.on_null: what a NULL does to the CRM field (clear it or leave it)

``config apply`` and ``manage.py fields refresh`` read them; mappings are checked and values
converted against them without calling the CRM again.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_field",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("object", sa.Text(), nullable=False),
        sa.Column("definitions", postgresql.JSONB(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["syncsvc.connection.id"],
            name="fk_crm_field_connection_id_connection",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "object", name="pk_crm_field"),
        schema="syncsvc",
    )
    op.add_column(
        "field_mapping",
        sa.Column("on_null", sa.Text(), server_default=sa.text("'clear'"), nullable=False),
        schema="syncsvc",
    )
    op.create_check_constraint(
        "ck_field_mapping_on_null",
        "field_mapping",
        "on_null IN ('clear', 'skip')",
        schema="syncsvc",
    )


def downgrade() -> None:
    op.drop_constraint("ck_field_mapping_on_null", "field_mapping", schema="syncsvc")
    op.drop_column("field_mapping", "on_null", schema="syncsvc")
    op.drop_table("crm_field", schema="syncsvc")
