"""Matching a batch answer (200/201/207) back to the items that were sent.

HubSpot documents ``objectWriteTraceId`` correlation for multi-status batch create only and
no order for ``results``. An entry is matched by its trace id when it carries one of ours,
else by the key the input was sent with: the HubSpot id for an update by id (the result's
``id``), the unique property value otherwise (the result's ``properties``). Never by position,
and never by an external id remembered from an earlier push (a changed unique value makes an
upsert write another record than the one remembered). An item no entry names, or two entries
name differently, is not delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from providers.base import PushItem, PushResult
from providers.hubspot.responses import error_code, error_field
from syncsvc.errors import PermanentError, RetryableError, SyncError

HUBSPOT_ID = "hs_object_id"


def _norm(value: Any) -> str:
    return str(value).strip().lower()


def sent_key(op: str, item: PushItem) -> tuple[str, str] | None:
    """The property and (normalized) value that name the record an input writes, as the
    client sends it: the HubSpot id for an update by id, else the unique property value."""
    if op == "update" and item.external_id:
        return HUBSPOT_ID, _norm(item.external_id)
    if item.id_property and item.id_value not in (None, ""):
        return item.id_property, _norm(item.id_value)
    return None


class _Index:
    """Finds the items an answer entry is about."""

    def __init__(self, op: str, items: Sequence[PushItem]) -> None:
        self.by_trace = {str(item.outbox_id): item for item in items}
        self.by_key: dict[tuple[str, str], PushItem] = {}
        for item in items:
            key = sent_key(op, item)
            if key is not None:
                self.by_key.setdefault(key, item)
        self.key_properties = sorted({prop for prop, _ in self.by_key})

    def for_result(self, result: dict[str, Any]) -> PushItem | None:
        trace = result.get("objectWriteTraceId")
        if trace is not None and str(trace) in self.by_trace:
            return self.by_trace[str(trace)]
        properties = result.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        for prop in self.key_properties:
            value = result.get("id") if prop == HUBSPOT_ID else properties.get(prop)
            item = self.by_key.get((prop, _norm(value))) if value is not None else None
            if item is not None:
                return item
        return None

    def for_error(self, error: dict[str, Any]) -> list[PushItem]:
        context = error.get("context")
        context = context if isinstance(context, dict) else {}
        traces = context.get("objectWriteTraceId") or []
        traces = traces if isinstance(traces, list) else [traces]
        found = [self.by_trace[str(t)] for t in traces if str(t) in self.by_trace]
        if found:
            return found
        ids = context.get("ids") or []
        for value in ids if isinstance(ids, list) else [ids]:
            item = next(
                (
                    self.by_key[(p, _norm(value))]
                    for p in self.key_properties
                    if (p, _norm(value)) in self.by_key
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
    """One result per item; an item the answer does not name (or names twice, differently)
    is retried, or for a create, which may have happened, dead-lettered."""
    index = _Index(op, items)
    out: dict[int, PushResult] = {}
    doubtful: set[int] = set()
    for result in body.get("results") or []:
        item = index.for_result(result) if isinstance(result, dict) else None
        if item is None or result.get("id") is None:
            continue
        found = PushResult(
            item.outbox_id, external_id=str(result["id"]), created=_created(op, result)
        )
        earlier = out.setdefault(item.outbox_id, found)
        if earlier.external_id != found.external_id:
            doubtful.add(item.outbox_id)
    for error in body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        for item in index.for_error(error):
            if item.outbox_id in out and out[item.outbox_id].ok:
                doubtful.add(item.outbox_id)
            out.setdefault(item.outbox_id, PushResult(item.outbox_id, error=input_error(error)))
    return [
        _unanswered(op, item, item.outbox_id in doubtful)
        if item.outbox_id in doubtful or item.outbox_id not in out
        else out[item.outbox_id]
        for item in items
    ]


def _unanswered(op: str, item: PushItem, doubtful: bool) -> PushResult:
    says = "names more than one outcome for" if doubtful else "says nothing about"
    message = f"hubspot: the {op} answer {says} outbox row {item.outbox_id}"
    if op == "create":
        message += "; it may have been created, and sending it again could duplicate it"
        return PushResult(item.outbox_id, error=PermanentError(message, code="UNMATCHED_CREATE"))
    return PushResult(item.outbox_id, error=RetryableError(message))
