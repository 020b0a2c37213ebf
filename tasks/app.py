"""The Celery app, pointed at the broker (and its tasks at their settings) by ``configure``."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from syncsvc.redisconn import celery_broker_url
from syncsvc.scrub import scrub_log_handlers
from syncsvc.secrets import secret_key
from syncsvc.settings import Settings
from tasks import signing
from tasks.base import SyncTask

app = Celery("syncsvc")
app.config_from_object("celeryconfig")
app.conf.include = ["tasks.stages", "tasks.push", "tasks.maintenance", "tasks.inbound"]


@after_setup_logger.connect
@after_setup_task_logger.connect
def _scrub_worker_logs(logger: logging.Logger, **_: Any) -> None:
    """Celery sets up its own log handlers in a worker: every one of them scrubs secrets."""
    scrub_log_handlers(logger)


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """What beat runs: the sweeper (I-1's safety net) and retention, each on its own interval."""
    return {
        "sweep-outbox": {
            "task": "syncsvc.sweep",
            "schedule": settings.sweep_interval_seconds,
            "options": {"queue": "maintenance", "expires": settings.sweep_interval_seconds * 2},
        },
        "inbound-tick": {
            "task": "syncsvc.inbound.tick",
            "schedule": settings.inbound_tick_seconds,
            "options": {"queue": "inbound", "expires": settings.inbound_tick_seconds * 2},
        },
        "prune": {
            "task": "syncsvc.prune",
            "schedule": settings.prune_interval_seconds,
            "options": {"queue": "maintenance", "expires": settings.prune_interval_seconds},
        },
    }


def configure(settings: Settings) -> Celery:
    """Point the app at the broker and remember the settings for tasks in this process."""
    transport = dict(app.conf.broker_transport_options or {})
    if settings.redis_prefix:
        transport["global_keyprefix"] = settings.redis_prefix
    app.conf.update(
        broker_url=celery_broker_url(settings.broker_url),
        broker_transport_options=transport,
        beat_schedule=beat_schedule(settings),
    )
    signing.install(secret_key(settings, create=False))
    SyncTask.use_settings(settings)
    return app
