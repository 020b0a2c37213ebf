"""Run the apps on gunicorn through its Python API, so ``Settings`` are passed in, not re-read.

One gunicorn, two listeners: ``bind`` for tenants (the feed, event ingest, a liveness check)
and ``ops_bind`` for operators (``/healthz`` with its checks, ``/metrics``), loopback by default.
Which app answers is decided by the port the connection was accepted on, never by anything
the client sends (a ``Host`` header naming the ops port reaches the tenant app like any other).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from gunicorn.app.base import BaseApplication

from syncsvc.api.app import create_app, create_context, create_ops_app
from syncsvc.api.config import DEFAULT_OPS_BIND, load_api_settings
from syncsvc.db import close_pools
from syncsvc.errors import ConfigError
from syncsvc.settings import Settings

WORKER_CLASS = "syncsvc.api.worker.ApiWorker"

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def tcp_port(bind: str, option: str) -> int | None:
    """The port of a ``HOST:PORT`` bind (``None`` for ``unix:PATH`` and ``fd://N``)."""
    if bind.startswith(("unix:", "fd://")):
        return None
    _, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{option} must be HOST:PORT, got {bind!r}")
    return int(port)


class Listeners:
    """One WSGI callable for both listeners: the ops app for connections accepted on the ops
    port, the tenant app for any other."""

    def __init__(self, tenant: Wsgi, ops: Wsgi, ops_port: int) -> None:
        self.tenant = tenant
        self.ops = ops
        self.ops_port = ops_port

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.pick(environ)(environ, start_response)

    def pick(self, environ: dict[str, Any]) -> Wsgi:
        sock = environ.get("gunicorn.socket")
        try:
            local = sock.getsockname() if sock is not None else None
        except OSError:
            local = None
        if isinstance(local, tuple) and local[1] == self.ops_port:
            return self.ops
        return self.tenant


def _worker_exit(server: Any, worker: Any) -> None:
    close_pools()


class ApiServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with threaded workers; each worker builds the apps (and its pool) after fork."""

    def __init__(self, settings: Settings, options: Mapping[str, Any], ops_port: int) -> None:
        self.settings = settings
        self.options = dict(options)
        self.ops_port = ops_port
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
        ctx = create_context(self.settings, self.api)
        return Listeners(
            create_app(self.settings, ctx=ctx),
            create_ops_app(self.settings, ctx=ctx),
            self.ops_port,
        )


def serve(
    settings: Settings,
    bind: str,
    workers: int,
    threads: int,
    timeout: int = 60,
    access_log: bool = False,
    ops_bind: str = DEFAULT_OPS_BIND,
) -> None:
    ops_port = tcp_port(ops_bind, "--ops-bind")
    if ops_port is None:
        raise ConfigError(f"--ops-bind must be HOST:PORT (a TCP address), got {ops_bind!r}")
    if tcp_port(bind, "--bind") == ops_port:
        raise ConfigError(f"--ops-bind must use another port than --bind ({bind} / {ops_bind})")
    options: dict[str, Any] = {
        "bind": [bind, ops_bind],
        "workers": workers,
        "worker_class": WORKER_CLASS,
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
    ApiServer(settings, options, ops_port).run()
