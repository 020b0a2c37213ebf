"""API keys: one connection and one scope each, stored as SHA-256 hashes, revocable.

The key itself is shown once, at creation; afterwards only its prefix identifies it.

Scopes (what each grants):

- ``read``: ``GET .../changes`` and ``GET .../records/{key}/log``;
- ``ack``: ``GET .../changes`` and ``POST .../ack`` (a poller: acknowledging needs the cursors
  that reading returns);
- ``ingest``: ``POST /v1/events`` only (a system that sends changes reads nothing back);
- ``write``: all of the above (the scope of keys made before ``ack`` and ``ingest`` existed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from syncsvc.db import Row
from syncsvc.errors import ConfigError
from syncsvc.ratelimit import parse_rate_limit
from syncsvc.secrets import hash_api_key, new_api_key

GRANTS: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "ack": frozenset({"read", "ack"}),
    "ingest": frozenset({"ingest"}),
    "write": frozenset({"read", "ack", "ingest"}),
}
SCOPES = tuple(GRANTS)
PREFIX_CHARS = 10

INSERT_KEY = """
INSERT INTO syncsvc.api_key (connection_id, scope, key_hash, prefix, rate_limit)
SELECT c.id, %(scope)s, %(hash)s, %(prefix)s, %(rate_limit)s
FROM syncsvc.connection c WHERE c.name = %(connection)s
RETURNING id
"""

LIST_KEYS = """
SELECT k.id, c.name AS connection, k.scope, k.prefix, k.rate_limit, k.created_at,
       k.last_used_at, k.revoked_at
FROM syncsvc.api_key k JOIN syncsvc.connection c ON c.id = k.connection_id
WHERE %(connection)s::text IS NULL OR c.name = %(connection)s::text
ORDER BY c.name, k.id
"""

REVOKE_KEY = """
UPDATE syncsvc.api_key SET revoked_at = COALESCE(revoked_at, now()) WHERE id = %(id)s
RETURNING id
"""

# One round trip per request: find the key and its connection, and note its use at most once
# a minute (so a busy key does not turn every read into a write).
AUTHENTICATE = """
WITH k AS (
    SELECT k.id, k.scope, k.rate_limit, k.last_used_at, c.id AS connection_id,
           c.name AS connection_name, c.mode, c.enabled
    FROM syncsvc.api_key k JOIN syncsvc.connection c ON c.id = k.connection_id
    WHERE k.key_hash = %(hash)s AND k.revoked_at IS NULL
), touched AS (
    UPDATE syncsvc.api_key SET last_used_at = now()
    WHERE id = (SELECT id FROM k)
      AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')
)
SELECT id, scope, rate_limit, connection_id, connection_name, mode, enabled FROM k
"""


@dataclass(frozen=True)
class Principal:
    """Who is calling: one key of one connection."""

    key_id: int
    scope: str
    rate_limit: str | None
    connection_id: int
    connection_name: str
    mode: str
    enabled: bool

    def may(self, operation: str) -> bool:
        """Whether this key's scope grants ``operation`` (``read``, ``ack`` or ``ingest``)."""
        return operation in GRANTS.get(self.scope, frozenset())


@dataclass(frozen=True)
class KeyInfo:
    id: int
    connection: str
    scope: str
    prefix: str
    rate_limit: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def create_key(
    db: psycopg.Connection[Row], connection: str, scope: str, rate_limit: str | None = None
) -> tuple[int, str]:
    """A new key for ``connection``: (id, the key). The key is not stored, only its hash."""
    if scope not in SCOPES:
        raise ConfigError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if rate_limit is not None:
        parse_rate_limit(rate_limit, "--rate-limit")
    key = new_api_key()
    row = db.execute(
        INSERT_KEY,
        {
            "scope": scope,
            "hash": hash_api_key(key),
            "prefix": key[:PREFIX_CHARS],
            "rate_limit": rate_limit,
            "connection": connection,
        },
    ).fetchone()
    if row is None:
        raise ConfigError(f"no connection named {connection!r}")
    return int(row["id"]), key


def list_keys(db: psycopg.Connection[Row], connection: str | None = None) -> list[KeyInfo]:
    return [KeyInfo(**r) for r in db.execute(LIST_KEYS, {"connection": connection})]


def revoke_key(db: psycopg.Connection[Row], key_id: int) -> bool:
    return db.execute(REVOKE_KEY, {"id": key_id}).fetchone() is not None


def authenticate(db: psycopg.Connection[Row], key: str) -> Principal | None:
    row = db.execute(AUTHENTICATE, {"hash": hash_api_key(key)}).fetchone()
    if row is None:
        return None
    return Principal(
        key_id=int(row["id"]),
        scope=str(row["scope"]),
        rate_limit=row["rate_limit"],
        connection_id=int(row["connection_id"]),
        connection_name=str(row["connection_name"]),
        mode=str(row["mode"]),
        enabled=bool(row["enabled"]),
    )
