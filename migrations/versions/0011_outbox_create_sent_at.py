"""outbox.create_sent_at: when a create of the row was last sent to a CRM without upsert

A CRM without upsert (Pipedrive) finds a record an earlier push may have created by searching
for our key, and its search index lags behind writes. A row whose create may have reached the
CRM (its answer lost: a timeout, a crash) waits while the index could still be behind instead
of trusting "not found" and creating the record twice.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("create_sent_at", sa.DateTime(timezone=True), nullable=True),
        schema="syncsvc",
    )


def downgrade() -> None:
    op.drop_column("outbox", "create_sent_at", schema="syncsvc")
