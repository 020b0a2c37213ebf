"""outbox.lease_holder: which worker incarnation holds a row's lease

A worker killed with SIGKILL leaves its leases to expire (``SYNCSVC_LEASE_SECONDS``); knowing
the holder lets the worker that hands back a dead worker's messages release its leases too, so
its rows go again within seconds. No index: the release runs only when a worker has died, and an
index would cost every lease update its HOT update.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("lease_holder", sa.Text(), nullable=True), schema="syncsvc")


def downgrade() -> None:
    op.drop_column("outbox", "lease_holder", schema="syncsvc")
