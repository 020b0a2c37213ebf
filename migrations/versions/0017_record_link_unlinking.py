"""record_link ``unlinking``: a child whose link column became NULL while the CRM holds its link
(``linked_parent_key``) waits in this status until the link is cleared at the CRM; the partial
index of due links covers it too.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "'pending', 'linked', 'failed', 'none'"
NEW_STATUSES = "'pending', 'linked', 'unlinking', 'failed', 'none'"


def _statuses(statuses: str, due: str) -> None:
    op.drop_constraint("ck_record_link_status", "record_link", schema="syncsvc", type_="check")
    op.create_check_constraint(
        "ck_record_link_status", "record_link", f"status IN ({statuses})", schema="syncsvc"
    )
    op.drop_index("ix_record_link_pending", "record_link", schema="syncsvc")
    op.create_index(
        "ix_record_link_pending",
        "record_link",
        ["connection_id", "next_attempt_at"],
        schema="syncsvc",
        postgresql_where=sa.text(due),
    )


def upgrade() -> None:
    _statuses(NEW_STATUSES, "status IN ('pending', 'unlinking')")


def downgrade() -> None:
    op.execute(
        "UPDATE syncsvc.record_link SET status = 'none', linked_parent_key = NULL "
        "WHERE status = 'unlinking'"
    )
    _statuses(OLD_STATUSES, "status = 'pending'")
