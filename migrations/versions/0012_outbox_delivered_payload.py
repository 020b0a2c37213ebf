"""inbound follow-up (issue 14): what each outbox row last delivered

- ``outbox.delivered_payload``: the payload of the version the CRM last took (written with
  ``delivered_version``). The inbound path holds a CRM record against it: a field that still
  has the value we delivered is our own push coming back (however late), not a change made in
  the CRM, so an echo of version N arriving after the row moved to N+1 is not taken for a
  conflict (nor, under ``crm_wins``, applied over N+1).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("delivered_payload", postgresql.JSONB(), nullable=True),
        schema="syncsvc",
    )


def downgrade() -> None:
    op.drop_column("outbox", "delivered_payload", schema="syncsvc")
