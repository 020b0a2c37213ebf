"""Matching a batch answer (200/201/207) back to the items that were sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from providers.base import PushItem, PushResult
from providers.hubspot.responses import error_code, error_field
from syncsvc.errors import PermanentError, RetryableError, SyncError


def _norm(value: Any) -> str:
    return str(value).strip().lower()


class _Index:
    """Finds the item an answer entry is about: trace id first, then ids and unique values."""

    def __init__(self, items: Sequence[PushItem]) -> None:
        self.by_trace = {str(item.outbox_id): item for item in items}
        self.by_id: dict[str, PushItem] = {}
        self.by_value: dict[tuple[str, str], PushItem] = {}
        for item in items:
            if item.external_id:
                self.by_id.setdefault(str(item.external_id), item)
            if item.id_property and item.id_value is not None:
                self.by_value.setdefault((item.id_property, _norm(item.id_value)), item)
        self.id_properties = {prop for prop, _ in self.by_value}

    def for_result(self, result: dict[str, Any]) -> PushItem | None:
        trace = result.get("objectWriteTraceId")
        if trace is not None and str(trace) in self.by_trace:
            return self.by_trace[str(trace)]
        if str(result.get("id")) in self.by_id:
            return self.by_id[str(result.get("id"))]
        properties = result.get("properties") or {}
        for prop in self.id_properties & properties.keys():
            item = self.by_value.get((prop, _norm(properties[prop])))
            if item is not None:
                return item
        return None

    def for_error(self, error: dict[str, Any]) -> list[PushItem]:
        context = error.get("context") or {}
        traces = context.get("objectWriteTraceId") or []
        found = [self.by_trace[str(t)] for t in traces if str(t) in self.by_trace]
        if found:
            return found
        ids = context.get("ids") or []
        for value in ids if isinstance(ids, list) else [ids]:
            item = self.by_id.get(str(value)) or next(
                (
                    self.by_value[(p, _norm(value))]
                    for p in self.id_properties
                    if (p, _norm(value)) in self.by_value
                ),
                None,
            )
            if item is not None:
                found.append(item)
        return found


def input_error(error: dict[str, Any]) -> SyncError:
    """The error one input of a batch got (a ``StandardError`` entry)."""
    status = str(error.get("status") or "")
    message = f"hubspot: {error.get('category') or status}: {error.get('message') or ''}"
    if status.startswith("5"):
        return RetryableError(message)
    if status == "409" or error.get("category") == "CONFLICT":
        return PermanentError(message, field=error_field(error), code="CONFLICT")
    return PermanentError(message, field=error_field(error), code=error_code(error))


def _created(op: str, result: dict[str, Any]) -> bool | None:
    if op == "upsert":
        return bool(result["new"]) if "new" in result else None
    return {"create": True, "update": False}.get(op)


def match(op: str, items: Sequence[PushItem], body: dict[str, Any]) -> list[PushResult]:
    """One result per item; items the answer does not mention are retried."""
    index = _Index(items)
    out: dict[int, PushResult] = {}
    for result in body.get("results") or []:
        item = index.for_result(result) if isinstance(result, dict) else None
        if item is not None and item.outbox_id not in out and result.get("id") is not None:
            out[item.outbox_id] = PushResult(
                item.outbox_id, external_id=str(result["id"]), created=_created(op, result)
            )
    for error in body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        for item in index.for_error(error):
            out.setdefault(item.outbox_id, PushResult(item.outbox_id, error=input_error(error)))
    return [out.get(item.outbox_id) or _unanswered(op, item) for item in items]


def _unanswered(op: str, item: PushItem) -> PushResult:
    message = f"hubspot: the {op} answer says nothing about outbox row {item.outbox_id}"
    return PushResult(item.outbox_id, error=RetryableError(message))
