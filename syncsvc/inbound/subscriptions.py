"""Webhook subscriptions that expire (Zoho's notification channels), kept by beat's inbound
tick: each connection taking webhooks asks its client to keep the CRM calling
``<SYNCSVC_INBOUND_PUBLIC_URL>/v1/inbound/<connection>``. What the client keeps of it (the
channel's end) is stored as the token of the connection's ``~webhooks`` cursor row, under that
row's lock, so one beat renews at a time and a restart knows when to renew."""

from __future__ import annotations

from datetime import datetime

from providers.base import ProviderClient
from syncsvc.config.runtime import RuntimeConnection
from syncsvc.inbound import events
from syncsvc.inbound.run import Transaction

CURSOR = "~webhooks"
"""Not an object name (objects are identifiers): the row holding the subscription's state."""


def notify_url(public_url: str, connection_name: str) -> str:
    return f"{public_url.rstrip('/')}/v1/inbound/{connection_name}"


def keep(
    transaction: Transaction,
    conn: RuntimeConnection,
    client: ProviderClient,
    public_url: str,
    now: datetime,
) -> bool:
    """Renew the connection's subscription if its CRM wants it; True when something changed."""
    assert conn.inbound is not None
    with transaction() as db:
        held = events.read_cursor(db, conn.id, CURSOR).token
        url = notify_url(public_url, conn.name)
        kept = client.keep_webhooks(url, list(conn.inbound.objects), held, now)
        if kept == held:
            return False
        events.write_cursor(db, conn.id, CURSOR, None, kept)
    return True
