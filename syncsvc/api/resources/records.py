"""``GET /v1/connections/{name}/records/{key}/log``: a record's delivery attempts, newest first.

Only the key's own connection, in any mode (a push connection's log is what it is for); another
connection answers 404 like one that does not exist. ``key`` is the record key as syncsvc
writes it (the changes feed's ``record_key``): the value of a one-column key, the JSON of a
composite one. Pages go back in time: ``next_before`` is the ``before`` of the next page.
"""

from __future__ import annotations

import re
from typing import Any

import falcon

from syncsvc.api.context import ApiContext, principal
from syncsvc.api.errors import Problem, bad_request, not_found
from syncsvc.api.keys import Principal
from syncsvc.api.params import bounded_int, query
from syncsvc.db import Row
from syncsvc.outbox import synclog

MAX_KEY = 1000
MAX_OBJECT = 100
MAX_ID = 2**63 - 1
_ID = re.compile(r"^[0-9]{1,19}$")


def _own(req: falcon.Request, name: str) -> Principal:
    who = principal(req)
    if name != who.connection_name:
        raise not_found()
    return who


def _text_problem(value: str, name: str, max_length: int) -> Problem | None:
    if not value:
        return Problem(name, "must not be empty")
    if len(value) > max_length:
        return Problem(name, f"at most {max_length} characters")
    if "\x00" in value:
        return Problem(name, "contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return Problem(name, "is not valid UTF-8")
    return None


def _before(params: dict[str, str]) -> int | None:
    raw = params.get("before")
    if raw is None:
        return None
    if not _ID.match(raw) or not 1 <= int(raw) <= MAX_ID:
        raise bad_request([Problem("before", f"must be an integer from 1 to {MAX_ID}")])
    return int(raw)


def _entry(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": row["object"],
        "version": row["version"],
        "op": row["op"],
        "status": row["status"],
        "attempt": row["attempt"],
        "external_id": row["external_id"],
        "http_status": row["http_status"],
        "error_code": row["error_code"],
        "error_message": synclog.clip(row["error_message"]),
        "duration_ms": row["duration_ms"],
        "at": row["at"].isoformat(),
    }


class RecordLogResource:
    scopes = {"GET": "read"}

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str, key: str) -> None:
        who = _own(req, name)
        params = query(req, {"limit", "before", "object"})
        api = self.ctx.api
        limit = bounded_int(params, "limit", api.default_page, 1, api.max_page)
        before = _before(params)
        obj = params.get("object")
        problems = [
            p
            for p in (
                _text_problem(key, "key", MAX_KEY),
                _text_problem(obj, "object", MAX_OBJECT) if obj is not None else None,
            )
            if p is not None
        ]
        if problems:
            raise bad_request(problems)
        with self.ctx.db() as db:
            rows = synclog.history(db, who.connection_id, key, limit + 1, before, obj)
        more = len(rows) > limit
        rows = rows[:limit]
        resp.media = {
            "connection": who.connection_name,
            "record_key": key,
            "entries": [_entry(r) for r in rows],
            "next_before": rows[-1]["id"] if more else None,
            "has_more": more,
        }
