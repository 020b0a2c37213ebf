"""Matching Zoho's per-record answers back to the items that were sent.

Write calls (insert, update, upsert) answer one ``data`` entry per input record, in input order;
deletes answer one entry per id, carrying the id in ``details``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from providers.base import PushItem, PushResult
from providers.zoho.responses import code_of, field_of, item_error
from syncsvc.errors import RetryableError

ALREADY_GONE = "INVALID_DATA"
"""What Zoho says when deleting an id that is not (or no longer) there: nothing left to archive."""


def _details(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    details = entry.get("details")
    return details if isinstance(details, dict) else {}


def _duplicate_owner(entry: Mapping[str, Any]) -> str | None:
    """The id of the record already holding a unique value (``DUPLICATE_DATA``)."""
    details = _details(entry)
    duplicate = details.get("duplicate_record")
    if isinstance(duplicate, dict) and duplicate.get("id"):
        return str(duplicate["id"])
    return str(details["id"]) if details.get("id") else None


def write_result(op: str, item: PushItem, entry: Mapping[str, Any]) -> PushResult:
    """The result of one record of an insert, update or upsert call."""
    if entry.get("status") == "success":
        record_id = _details(entry).get("id")
        if record_id is None:
            error = RetryableError("zoho: a success answer without a record id")
            return PushResult(item.outbox_id, error=error)
        if op == "upsert":
            action = entry.get("action")
            created = None if action not in ("insert", "update") else action == "insert"
        else:
            created = op == "create"
        return PushResult(item.outbox_id, external_id=str(record_id), created=created)
    if (
        op == "create"
        and code_of(entry) == "DUPLICATE_DATA"
        and item.id_property is not None
        and field_of(entry) == item.id_property
    ):
        # Our own key already exists: an earlier attempt of this create landed (I-3).
        owner = _duplicate_owner(entry)
        if owner is not None:
            return PushResult(item.outbox_id, external_id=owner, created=False)
    return PushResult(item.outbox_id, error=item_error(entry, f"{op}: "))


def match_writes(
    op: str, items: Sequence[PushItem], data: Sequence[Mapping[str, Any]]
) -> list[PushResult]:
    """One result per item, by position; a short answer leaves the rest to be retried."""
    results = [write_result(op, item, entry) for item, entry in zip(items, data, strict=False)]
    for item in items[len(data) :]:
        message = f"zoho: the {op} answer says nothing about outbox row {item.outbox_id}"
        results.append(PushResult(item.outbox_id, error=RetryableError(message)))
    return results


def match_deletes(
    targets: Sequence[tuple[PushItem, str]], data: Sequence[Mapping[str, Any]]
) -> list[PushResult]:
    """One result per (item, Zoho id); an id Zoho no longer has counts as archived."""
    by_id: dict[str, Mapping[str, Any]] = {}
    for entry in data:
        record_id = _details(entry).get("id")
        if record_id is not None:
            by_id.setdefault(str(record_id), entry)
    results: list[PushResult] = []
    for item, zoho_id in targets:
        found = by_id.get(zoho_id)
        if found is None:
            message = f"zoho: the delete answer says nothing about record {zoho_id}"
            results.append(PushResult(item.outbox_id, error=RetryableError(message)))
        elif found.get("status") == "success" or code_of(found) == ALREADY_GONE:
            results.append(PushResult(item.outbox_id, external_id=zoho_id))
        else:
            results.append(PushResult(item.outbox_id, error=item_error(found, "delete: ")))
    return results
