"""``GET /v1/connections/{name}/changes`` and ``POST /v1/connections/{name}/ack``."""

from __future__ import annotations

from typing import Any

import falcon

from syncsvc import stats
from syncsvc.api import cursor
from syncsvc.api.body import read_json
from syncsvc.api.context import ApiContext, principal
from syncsvc.api.errors import ApiError, Problem, bad_request, not_found
from syncsvc.api.keys import Principal
from syncsvc.api.params import bounded_int, query
from syncsvc.outbox import feed


def own_connection(req: falcon.Request, name: str) -> Principal:
    """The caller's connection, if ``name`` is it; otherwise the 404 of an unknown connection."""
    who = principal(req)
    if name != who.connection_name:
        raise not_found()
    if not who.enabled:
        raise ApiError(
            409,
            "this connection is disabled: its feed is closed until it is enabled",
            code="disabled",
        )
    if who.mode not in ("poll", "both"):
        raise ApiError(
            409,
            "this connection is in push mode: its changes are pushed, not polled",
            code="not_a_poll_connection",
        )
    return who


def _position(ctx: ApiContext, who: Principal, text: str, field: str) -> cursor.Position:
    try:
        return cursor.decode(ctx.api.cursor_key, who.connection_id, text)
    except cursor.CursorError as exc:
        raise bad_request([Problem(field, f"is not a cursor of this connection ({exc})")]) from None


class ChangesResource:
    scopes = {"GET": "read"}

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        who = own_connection(req, name)
        params = query(req, {"cursor", "limit"})
        api = self.ctx.api
        limit = bounded_int(params, "limit", api.default_page, 1, api.max_page)
        after = _position(self.ctx, who, params["cursor"], "cursor") if "cursor" in params else None
        with self.ctx.db() as db:
            page = feed.read_page(db, who.connection_id, who.mode, after, limit)
        resp.media = {
            "connection": who.connection_name,
            "changes": [c.as_dict() for c in page.changes],
            "next_cursor": cursor.encode(api.cursor_key, who.connection_id, page.next_position),
            "has_more": page.has_more,
        }


class AckResource:
    scopes = {"POST": "ack"}

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        who = own_connection(req, name)
        query(req, set())
        body: Any = read_json(req, self.ctx.api.max_body_bytes)
        if not isinstance(body, dict):
            raise bad_request([Problem("body", "must be a JSON object with a 'cursor'")])
        unknown = sorted(set(body) - {"cursor"})
        if unknown:
            raise bad_request([Problem(k, "unknown field") for k in unknown])
        text = body.get("cursor")
        if not isinstance(text, str) or not text:
            raise bad_request([Problem("cursor", "is required and must be a string")])
        position = _position(self.ctx, who, text, "cursor")
        with self.ctx.db() as db:
            ack = feed.acknowledge(db, who.connection_id, who.mode, position)
        settings = self.ctx.settings
        stats.incr(
            settings.broker_url, settings.redis_prefix, who.connection_id, "pushed", ack.delivered
        )
        resp.media = {
            "connection": who.connection_name,
            "acked_cursor": cursor.encode(self.ctx.api.cursor_key, who.connection_id, ack.position),
            "delivered": ack.delivered,
        }
