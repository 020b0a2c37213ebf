"""connection_pause: a connection whose CRM refused its credentials, paused until fixed

A refused token request or an API that answers 401/403 after a fresh token pauses the
connection (``paused: credentials``, with the CRM's scrubbed message) instead of dead-lettering
its rows; ``config apply`` or ``manage.py connection resume`` deletes the row.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connection_pause",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "paused_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("reason IN ('credentials')", name="ck_connection_pause_reason"),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["syncsvc.connection.id"],
            name="fk_connection_pause_connection_id_connection",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", name="pk_connection_pause"),
        schema="syncsvc",
    )


def downgrade() -> None:
    op.drop_table("connection_pause", schema="syncsvc")
