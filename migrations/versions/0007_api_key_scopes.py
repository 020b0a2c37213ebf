"""api_key.scope: ``ingest`` and ``ack`` besides ``read`` and ``write``

``write`` covered both sending events and acknowledging the feed; a key can now have just one
of them (``write`` keeps meaning both, so existing keys are unchanged).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_api_key_scope"


def upgrade() -> None:
    op.drop_constraint(op.f(NAME), "api_key", schema="syncsvc", type_="check")
    op.create_check_constraint(
        op.f(NAME), "api_key", "scope IN ('read', 'ack', 'ingest', 'write')", schema="syncsvc"
    )


def downgrade() -> None:
    # Keys that exist only under the new scopes lose nothing they had before: an ``ack`` key
    # becomes ``write`` (it could already read and acknowledge), an ``ingest`` key too.
    op.execute("UPDATE syncsvc.api_key SET scope = 'write' WHERE scope IN ('ack', 'ingest')")
    op.drop_constraint(op.f(NAME), "api_key", schema="syncsvc", type_="check")
    op.create_check_constraint(
        op.f(NAME), "api_key", "scope IN ('read', 'write')", schema="syncsvc"
    )
