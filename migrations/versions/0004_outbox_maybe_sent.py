"""outbox.maybe_sent: a row was once leased for a push, so the CRM may hold it

``attempts`` is reset when a record changes, so it cannot tell a CRM without upsert that an
earlier push (one that timed out after the CRM applied it) may have created the record.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("maybe_sent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="syncsvc",
    )
    op.execute(
        "UPDATE syncsvc.outbox SET maybe_sent = true "
        "WHERE lease_token IS NOT NULL OR attempts > 0 OR delivered_version IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("outbox", "maybe_sent", schema="syncsvc")
