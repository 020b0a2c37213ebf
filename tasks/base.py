"""``SyncTask``, the base of every task: what a task needs comes from ``self``.

Settings, a transaction, the runtime config, counters and push clients all belong to the worker
process. ``tasks.app.configure`` hands the settings over once, before a prefork pool forks (the
children inherit them); the config cache and the clients are per process as well.

The database retry policy lives here too. A chain step that meets ``DATABASE_ERRORS`` (the
database restarting, or a transaction that lost a serialization race) declares
``autoretry_for=SyncTask.DATABASE_ERRORS`` and is run again soon, with the backoff below, rather
than after the bridge re-dispatches its events. A push and the sweep do not: whatever a failed
one leaves behind (due outbox rows) the next sweep sends again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import psycopg
from celery import Task

from providers.base import ProviderClient
from syncsvc import stats
from syncsvc.config.runtime import RuntimeConfig, RuntimeConfigCache, RuntimeConnection
from syncsvc.db import Row, transaction
from syncsvc.errors import ConfigError
from syncsvc.settings import Settings
from tasks.clients import PushClients


class SyncTask(Task[Any, Any]):
    DATABASE_ERRORS: ClassVar[tuple[type[Exception], ...]] = (
        psycopg.OperationalError,
        psycopg.errors.SerializationFailure,
    )
    retry_backoff = 1
    retry_backoff_max = 20
    retry_jitter = True
    max_retries = 8

    _settings: ClassVar[Settings | None] = None
    _config: ClassVar[RuntimeConfigCache] = RuntimeConfigCache()
    _clients: ClassVar[PushClients] = PushClients()

    @staticmethod
    def use_settings(settings: Settings) -> None:
        """The settings every task of this process runs with (``tasks.app.configure``)."""
        SyncTask._settings = settings

    @staticmethod
    def configured_settings() -> Settings | None:
        """This process's settings, or None before ``use_settings`` (a client process)."""
        return SyncTask._settings

    @property
    def settings(self) -> Settings:
        if SyncTask._settings is None:
            raise ConfigError("the Celery app was not configured (use `manage.py worker`)")
        return SyncTask._settings

    @contextmanager
    def db(self) -> Iterator[psycopg.Connection[Row]]:
        """A pooled connection inside one transaction, committed on success."""
        with transaction(self.settings.db_url) as db:
            yield db

    def config(self, db: psycopg.Connection[Row]) -> RuntimeConfig:
        """The stored config, reloaded when its generation moved."""
        return self._config.get(db)

    def loaded_config(self) -> RuntimeConfig | None:
        """The config as this process last loaded it, without asking whether it moved (for
        what a task sends right after its ``config``: the push's name in Flower)."""
        return self._config.loaded()

    def count(self, connection_id: int, counter: str, amount: int) -> None:
        """Add to one of the connection's counters (``syncsvc.stats``)."""
        stats.incr(
            self.settings.broker_url, self.settings.redis_prefix, connection_id, counter, amount
        )

    def push_client(self, conn: RuntimeConnection, generation: int) -> ProviderClient:
        """This process's client for ``conn`` as configured in ``generation``."""
        return self._clients.get(self.settings, conn, generation)
