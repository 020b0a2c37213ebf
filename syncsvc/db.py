"""PostgreSQL connections: one lazily created pool per process (safe across fork)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from syncsvc.errors import ConfigError, DatabaseUnavailable
from syncsvc.scrub import scrub, url_secrets

_lock = threading.Lock()
_pools: dict[tuple[int, str], ConnectionPool[Any]] = {}

Row = dict[str, Any]


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET application_name = 'syncsvc'")
    conn.commit()


def get_pool(dsn: str, max_size: int = 4) -> ConnectionPool[Any]:
    """The pool for ``dsn`` in this process; a forked child gets its own."""
    key = (os.getpid(), dsn)
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            pool = ConnectionPool(
                dsn,
                min_size=1,
                max_size=max_size,
                kwargs={"row_factory": dict_row},
                configure=_configure,
                check=ConnectionPool.check_connection,
                reconnect_timeout=300,
                open=False,
                name=f"syncsvc-{os.getpid()}",
            )
            pool.open(wait=False)
            _pools[key] = pool
        return pool


@contextmanager
def transaction(dsn: str) -> Iterator[psycopg.Connection[Row]]:
    """A pooled connection inside one transaction, committed on success."""
    pool = get_pool(dsn)
    with pool.connection(timeout=60) as conn, conn.transaction():
        yield conn


def connect(
    dsn: str, autocommit: bool = False, application_name: str = "syncsvc-cli"
) -> psycopg.Connection[Row]:
    """A dedicated connection (for LISTEN, CLI commands and long-lived loops)."""
    try:
        return psycopg.connect(
            dsn,
            autocommit=autocommit,
            row_factory=dict_row,
            connect_timeout=10,
            application_name=application_name,
        )
    except psycopg.OperationalError as exc:
        reason = scrub(" ".join(str(exc).split()), url_secrets(dsn))  # psycopg's text spans lines
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {reason}") from exc
    except psycopg.ProgrammingError as exc:  # libpq could not parse the DSN; it quotes it
        reason = scrub(" ".join(str(exc).split()), url_secrets(dsn))
        raise ConfigError(f"invalid PostgreSQL URL: {reason}") from None


def close_pools() -> None:
    with _lock:
        for key, pool in list(_pools.items()):
            if key[0] == os.getpid():
                pool.close()
            del _pools[key]
