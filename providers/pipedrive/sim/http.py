"""Pipedrive's envelopes and list conventions for the simulator: ``{"success", "data",
"additional_data"}``, errors with ``error``/``error_info``, ``limit`` ≤ 500 with a cursor
(v2) or ``start`` (v1), and the v1 field-list endpoints."""

from __future__ import annotations

from typing import Any

from providers.pipedrive.sim.checks import Invalid
from providers.pipedrive.sim.fields import FieldSet
from providers.simulation import SimRequest, SimResponse, json_response

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
MAX_LIMIT = 500


def error(status: int, message: str, **extra: Any) -> SimResponse:
    body = {
        "success": False,
        "error": message,
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
        **extra,
    }
    return json_response(status, body)


def ok(data: Any, additional: Any = None) -> SimResponse:
    body: dict[str, Any] = {"success": True, "data": data}
    if additional is not None:
        body["additional_data"] = additional
    return json_response(200, body)


def invalid(problem: Invalid) -> SimResponse:
    """v2's 400 for a body that fails validation: ``{"success": false, "error": "Validation
    failed: <path>: <reason>", "code": "ERR_SCHEMA_VALIDATION_FAILED"}`` (the shape seen in
    https://github.com/pipedrive/client-nodejs/issues/651)."""
    message = f"Validation failed: {problem.path}: {problem.message}"
    return error(400, message, code="ERR_SCHEMA_VALIDATION_FAILED")


def _int_arg(request: SimRequest, name: str, default: int) -> int | None:
    raw = request.arg(name, str(default)) or str(default)
    return int(raw) if raw.isdigit() else None


def limit_of(request: SimRequest) -> int | SimResponse:
    limit = _int_arg(request, "limit", 100)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        return error(400, f"Validation failed: limit: must be from 1 to {MAX_LIMIT}")
    return limit


def page(rows: list[Any], request: SimRequest) -> tuple[list[Any], str | None] | SimResponse:
    """One v2 page of ``rows`` and the next (opaque) cursor, or the 400 for a bad ``limit``."""
    limit = limit_of(request)
    if isinstance(limit, SimResponse):
        return limit
    start = _int_arg(request, "cursor", 0) or 0
    following = start + limit if start + limit < len(rows) else None
    return rows[start : start + limit], None if following is None else str(following)


def list_fields(fields: FieldSet, request: SimRequest) -> SimResponse:
    """``GET /v1/{object}Fields?start=&limit=`` with v1 offset pagination."""
    limit, start = limit_of(request), _int_arg(request, "start", 0)
    if isinstance(limit, SimResponse):
        return limit
    if start is None:
        return error(400, "Validation failed: start: must be a non-negative integer")
    more = start + limit < len(fields.entries)
    pagination: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    return ok(fields.entries[start : start + limit], {"pagination": pagination})


def add_field(fields: FieldSet, request: SimRequest) -> SimResponse:
    """``POST /v1/{object}Fields`` with ``name``, ``field_type`` and, for ``enum``/``set``,
    ``options`` (``[{"label": …}]``): a new custom field with a new 40-character key."""
    body = request.json()
    if not isinstance(body, dict) or not body.get("name") or not body.get("field_type"):
        return error(400, "Validation failed: name and field_type are required")
    try:
        entry = fields.add(str(body["name"]), str(body["field_type"]), body.get("options"))
    except (ValueError, TypeError, KeyError) as exc:
        return error(400, str(exc).strip("'\""))
    return ok(entry)
