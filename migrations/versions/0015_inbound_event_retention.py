"""inbound_event retention: a partial index of the settled (applied or ignored) events by the
time they were settled, which ``syncsvc.retention`` deletes after
``SYNCSVC_INBOUND_EVENT_DAYS``.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_inbound_event_settled",
        "inbound_event",
        ["applied_at"],
        schema="syncsvc",
        postgresql_where=sa.text("status IN ('applied', 'ignored')"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_event_settled", "inbound_event", schema="syncsvc")
