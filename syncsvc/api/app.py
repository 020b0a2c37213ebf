"""The WSGI apps (settings are passed in, never read at import).

``create_app``: the tenant API (the feed, event ingest, records' sync logs, a liveness check,
the OpenAPI document).
``create_ops_app``: what operators read (health with its checks, metrics), served on a listener
of its own (see ``syncsvc.api.server``), never on the tenants' one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon
from falcon.routing import map_http_methods

from syncsvc.api import errors
from syncsvc.api.auth import AuthMiddleware
from syncsvc.api.config import ApiSettings, load_api_settings
from syncsvc.api.context import ApiContext
from syncsvc.api.ratelimit import KeyLimiter
from syncsvc.api.resources.changes import AckResource, ChangesResource
from syncsvc.api.resources.inbound import InboundResource
from syncsvc.api.resources.ingest import EventsResource
from syncsvc.api.resources.ops import (
    HealthResource,
    LivenessResource,
    MetricsResource,
    OpenApiResource,
)
from syncsvc.api.resources.records import RecordLogResource
from syncsvc.settings import Settings

ROUTES: tuple[tuple[str, Callable[[ApiContext], Any]], ...] = (
    ("/v1/connections/{name}/changes", ChangesResource),
    ("/v1/connections/{name}/ack", AckResource),
    ("/v1/connections/{name}/records/{key}/log", RecordLogResource),
    ("/v1/events", EventsResource),
    ("/v1/inbound/{connection}", InboundResource),
    ("/healthz", LivenessResource),
    ("/openapi.json", OpenApiResource),
)
OPS_ROUTES: tuple[tuple[str, Callable[[ApiContext], Any]], ...] = (
    ("/healthz", HealthResource),
    ("/metrics", MetricsResource),
)

App = falcon.App[falcon.Request, falcon.Response]


class _NoOptions:
    """No implicit OPTIONS responder: every method the API answers is in the OpenAPI document."""

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        if req.method == "OPTIONS" and resource is not None:
            allowed = sorted(m for m in map_http_methods(resource) if m != "OPTIONS")
            raise falcon.HTTPMethodNotAllowed(allowed)


def create_context(settings: Settings, api: ApiSettings | None = None) -> ApiContext:
    api = api or load_api_settings(settings)
    limiter = KeyLimiter(
        settings.broker_url, settings.redis_prefix, api.rate_limit, api.unauthenticated_rate_limit
    )
    return ApiContext(settings=settings, api=api, limiter=limiter)


def create_app(
    settings: Settings, api: ApiSettings | None = None, ctx: ApiContext | None = None
) -> App:
    ctx = ctx or create_context(settings, api)
    return _build(ctx, ROUTES, [_NoOptions(), AuthMiddleware(ctx)])


def create_ops_app(
    settings: Settings, api: ApiSettings | None = None, ctx: ApiContext | None = None
) -> App:
    ctx = ctx or create_context(settings, api)
    return _build(ctx, OPS_ROUTES, [_NoOptions()])


def _build(
    ctx: ApiContext,
    routes: tuple[tuple[str, Callable[[ApiContext], Any]], ...],
    middleware: list[Any],
) -> App:
    app: App = falcon.App(middleware=middleware)
    app.req_options.keep_blank_qs_values = True
    app.req_options.auto_parse_qs_csv = False
    app.resp_options.secure_cookies_by_default = True
    errors.install(app)
    for template, resource in routes:
        app.add_route(template, resource(ctx))
    return app
