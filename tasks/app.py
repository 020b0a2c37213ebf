"""The Celery app and the per-process runtime it carries (settings, config cache)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from celery import Celery

from syncsvc.config.runtime import RuntimeConfigCache
from syncsvc.errors import ConfigError
from syncsvc.redisconn import celery_broker_url
from syncsvc.settings import Settings

log = logging.getLogger("syncsvc.tasks")

app = Celery("syncsvc")
app.config_from_object("celeryconfig")
app.conf.include = ["tasks.pipeline", "tasks.push", "tasks.maintenance"]


@dataclass
class Runtime:
    settings: Settings | None = None
    config: RuntimeConfigCache = field(default_factory=RuntimeConfigCache)
    clients: dict[tuple[int, int], Any] = field(default_factory=dict)

    @property
    def require_settings(self) -> Settings:
        if self.settings is None:
            raise ConfigError("the Celery app was not configured (use `manage.py worker`)")
        return self.settings


RUNTIME = Runtime()


def configure(settings: Settings) -> Celery:
    """Point the app at the broker and remember the settings for tasks in this process."""
    transport = dict(app.conf.broker_transport_options or {})
    if settings.redis_prefix:
        transport["global_keyprefix"] = settings.redis_prefix
    app.conf.update(
        broker_url=celery_broker_url(settings.broker_url),
        broker_transport_options=transport,
        beat_schedule={
            "sweep-outbox": {
                "task": "syncsvc.sweep",
                "schedule": settings.sweep_interval_seconds,
                "options": {"queue": "maintenance", "expires": settings.sweep_interval_seconds * 2},
            },
        },
    )
    RUNTIME.settings = settings
    return app
