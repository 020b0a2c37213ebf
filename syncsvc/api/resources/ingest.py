"""``POST /v1/events``: a batch of changes for the key's connection."""

from __future__ import annotations

import falcon

from syncsvc import stats
from syncsvc.api import events
from syncsvc.api.body import read_json
from syncsvc.api.context import ApiContext, principal
from syncsvc.api.errors import ApiError
from syncsvc.api.params import query


class EventsResource:
    scopes = {"POST": "ingest"}

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        who = principal(req)
        query(req, set())
        if not who.enabled:  # the bridge would drop the events: say so instead
            raise ApiError(
                409, "this connection is disabled: its events would be dropped", code="disabled"
            )
        body = read_json(req, self.ctx.api.max_body_bytes)
        parsed = events.parse_events(body, self.ctx.api.max_events)
        settings = self.ctx.settings
        with self.ctx.db() as db:
            events.check_against_connection(
                db, who.connection_id, parsed, settings.internal_schema_dirs
            )
            results = events.store_events(
                db, who.connection_id, parsed, self.ctx.api.event_id_retention_hours
            )
        accepted = sum(1 for r in results if r.status == "accepted")
        stats.incr(
            settings.broker_url, settings.redis_prefix, who.connection_id, "captured", accepted
        )
        resp.status = falcon.HTTP_202
        resp.media = {
            "accepted": accepted,
            "duplicates": len(results) - accepted,
            "results": [r.as_dict() for r in results],
        }
