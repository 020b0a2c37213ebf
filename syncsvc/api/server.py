"""Run the app on gunicorn through its Python API, so ``Settings`` are passed in, not re-read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gunicorn.app.base import BaseApplication

from syncsvc.api.app import create_app
from syncsvc.api.config import load_api_settings
from syncsvc.db import close_pools
from syncsvc.settings import Settings


def _worker_exit(server: Any, worker: Any) -> None:
    close_pools()


class ApiServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with threaded workers; each worker builds the app (and its pool) after fork."""

    def __init__(self, settings: Settings, options: Mapping[str, Any]) -> None:
        self.settings = settings
        self.options = dict(options)
        # Bad API settings fail here, once, not in every worker.
        self.api = replace(load_api_settings(settings), pool_size=int(options["threads"]) + 1)
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)
        self.cfg.set("worker_exit", _worker_exit)
        if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25.1: one shared path
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        return create_app(self.settings, self.api)


def serve(
    settings: Settings,
    bind: str,
    workers: int,
    threads: int,
    timeout: int = 60,
    access_log: bool = False,
) -> None:
    options: dict[str, Any] = {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": 10,
        "keepalive": 5,
        "proc_name": "syncsvc-api",
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "limit_request_line": 8190,
        "limit_request_fields": 100,
    }
    ApiServer(settings, options).run()
