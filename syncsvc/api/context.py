"""What every resource shares: settings, the database pool, the key limiter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import falcon
import psycopg

from syncsvc.api.config import ApiSettings
from syncsvc.api.keys import Principal
from syncsvc.api.ratelimit import KeyLimiter
from syncsvc.db import Row, get_pool
from syncsvc.settings import Settings


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    api: ApiSettings
    limiter: KeyLimiter

    @contextmanager
    def db(self) -> Iterator[psycopg.Connection[Row]]:
        """A pooled connection in one transaction (committed at the end, rolled back on error).

        A pool that cannot hand out a connection in time raises ``PoolTimeout``: a 503.
        """
        pool = get_pool(self.settings.db_url, max_size=self.api.pool_size)
        with pool.connection(timeout=self.api.db_timeout) as conn:
            yield conn


def principal(req: falcon.Request) -> Principal:
    """The caller, set by the auth middleware for every operation that needs a key."""
    who: Principal = req.context.principal
    return who
