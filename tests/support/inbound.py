"""What beat's inbound tick does for a connection's webhook subscription, run from a test."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from syncsvc.config.runtime import load_runtime_config
from syncsvc.db import connect, transaction
from syncsvc.inbound import subscriptions
from syncsvc.settings import Settings


def keep_subscription(
    settings: Settings, connection: str, public_url: str, now: datetime | None = None
) -> bool:
    """``subscriptions.keep`` for ``connection`` with ``SYNCSVC_INBOUND_PUBLIC_URL`` =
    ``public_url``; True when it subscribed or renewed."""
    with connect(settings.db_url) as db:
        conn = next(c for c in load_runtime_config(db).connections.values() if c.name == connection)
    client = conn.provider.client_class(conn.connection_info(settings))
    try:
        return subscriptions.keep(
            partial(transaction, settings.db_url),
            conn,
            client,
            public_url,
            now or datetime.now(UTC),
        )
    finally:
        client.close()
