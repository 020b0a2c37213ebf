"""last_write_wins by the internal change's time (issue 14): ``outbox.changed_at``

- ``outbox.changed_at``: when the internal change behind the row's version was made, copied by
  persist from the captured event (``sync_event.created_at`` of the event whose id is the
  version). ``last_write_wins`` holds the CRM's modification time against it; ``updated_at``
  (when persist ran, or a push settled) is later than the change by the pipeline's delay, and
  a CRM edit made in between lost although it was the newer one.
- ``sync_event.created_at`` defaults to ``clock_timestamp()``: the time the capturing statement
  ran, not ``now()`` (the start of its transaction). Without ``track_commit_timestamp`` it is
  the closest to the commit the trigger can note: in a long transaction the start can be
  minutes before the write.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        schema="syncsvc",
    )
    op.alter_column(
        "sync_event",
        "created_at",
        server_default=sa.text("clock_timestamp()"),
        schema="syncsvc",
    )


def downgrade() -> None:
    op.alter_column("sync_event", "created_at", server_default=sa.text("now()"), schema="syncsvc")
    op.drop_column("outbox", "changed_at", schema="syncsvc")
