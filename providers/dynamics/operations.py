"""One outbox item ↔ one request of a ``$batch``, and its answer back to a ``PushResult``.

upsert  ``PATCH {set}({key}='v')``: creates or updates, never duplicates (I-3)
update  ``PATCH {set}(guid or key)`` with ``If-Match: *``: update only, 404 when missing
create  ``PATCH {set}({key}='v')`` with ``If-None-Match: *``: create only; 412 means "already
        there", which for a retried create is success. Without a key value the record is
        addressed by a primary key of our choosing (``record_guid``: the same for every send of
        the record; Dataverse creates a record with the GUID a PATCH names), never by a blind
        ``POST {set}``: a ``$batch`` that timed out or failed midway may have created it.
archive ``DELETE {set}(guid or key)``: 404 means already gone, which is success.

Writes ask for ``return=representation`` with ``$select`` of the primary key, so the answer says
whether the record was created (201) or updated (200) and carries the record's GUID.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from providers.base import PushItem, PushResult
from providers.dynamics import multipart
from providers.dynamics.multipart import HttpMessage
from providers.dynamics.odata import GUID_RE, by_id, by_key, entity_id
from providers.dynamics.responses import NOT_FOUND_CODES, classify, error_of
from syncsvc.errors import PermanentError, RetryableError

JSON_ENTRY = "application/json; type=entry"
RECORD_NAMESPACE = uuid.UUID("5b0f1c47-3d7e-4a53-9c55-1b8f6c2e9d10")
"""Namespace of the GUIDs ``record_guid`` derives (fixed: changing it would duplicate records)."""


@dataclass(frozen=True)
class Table:
    """Where a table's records live: ``/api/data/v9.2/contacts``, primary key ``contactid``."""

    api: str
    entity_set: str
    logical_name: str

    @property
    def primary_key(self) -> str:
        return f"{self.logical_name}id"


@dataclass
class Planned:
    item: PushItem
    kind: str
    """``upsert``, ``update``, ``create`` or ``delete``."""
    message: HttpMessage
    record_id: str | None = None
    """The GUID a create names its record by (when it has no alternate-key value)."""


def record_guid(connection_id: int, entity_set: str, record_key: str) -> str:
    """The primary key a create without an alternate-key value gives its record: derived from
    the connection, the table and the source record, so a resent create finds the record it made
    (412) instead of making a second one."""
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{connection_id}/{entity_set}/{record_key}"))


def _failed(item: PushItem, message: str, code: str, field: str | None = None) -> PushResult:
    return PushResult(item.outbox_id, error=PermanentError(f"dynamics: {message}", field, code))


def _target(table: Table, item: PushItem, prefer_id: bool) -> str | None:
    """The record's URL segment: by GUID (when known and preferred) or by alternate key."""
    guid = item.external_id if item.external_id and GUID_RE.match(item.external_id) else None
    key = item.id_value if item.id_value not in (None, "") else None
    if guid and (prefer_id or key is None):
        return by_id(table.entity_set, guid)
    if key is not None and item.id_property:
        return by_key(table.entity_set, item.id_property, str(key))
    return None


def plan(table: Table, op: str, item: PushItem, connection_id: int) -> Planned | PushResult:
    """The batch request for ``item``, or its result when nothing needs sending."""
    content_id = str(item.outbox_id)
    if op == "archive":
        target = _target(table, item, prefer_id=True)
        if target is None:
            return PushResult(item.outbox_id)  # never synced and no key: nothing to delete
        return Planned(item, "delete", multipart.request("DELETE", f"{table.api}/{target}"))
    if not isinstance(item.payload, dict):
        return _failed(item, "payload is not an attribute map", "BAD_PAYLOAD")
    try:
        body = json.dumps(item.payload, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        return _failed(item, f"payload is not JSON: {exc}", "BAD_PAYLOAD")
    headers = {"Content-Type": JSON_ENTRY, "Prefer": "return=representation"}
    select = f"?$select={table.primary_key}"
    target = _target(table, item, prefer_id=op == "update")
    record_id = None
    if op == "update":
        headers["If-Match"] = "*"
    elif op == "create":
        headers["If-None-Match"] = "*"
        if item.id_value in (None, ""):
            known = (
                item.external_id if item.external_id and GUID_RE.match(item.external_id) else None
            )
            record_id = known or record_guid(connection_id, table.entity_set, item.record_key)
            target = by_id(table.entity_set, record_id)
    if target is None:
        if not item.id_property:
            return _failed(item, f"{op} needs an id_property: a column with an alternate key",
                           "MISSING_KEY")  # fmt: skip
        return _failed(
            item,
            f"{op} needs a value for the alternate key {item.id_property!r}",
            "MISSING_KEY",
            item.id_property,
        )
    url = f"{table.api}/{target}{select}"
    return Planned(item, op, multipart.request("PATCH", url, body, headers, content_id), record_id)


def _json(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def result(table: Table, planned: Planned, answer: HttpMessage | None) -> PushResult:
    """What the batch said about one item."""
    item = planned.item
    if answer is None:
        message = f"dynamics: the $batch answer says nothing about outbox row {item.outbox_id}"
        return PushResult(item.outbox_id, error=RetryableError(message))
    status = answer.status
    if 200 <= status < 300:
        body = _json(answer.body)
        record_id = body.get(table.primary_key) or entity_id(answer.headers.get("odata-entityid"))
        created = {201: True, 200: False}.get(status) if planned.kind != "delete" else None
        if planned.kind == "update":
            created = False
        return PushResult(
            item.outbox_id, external_id=str(record_id or item.external_id or "") or None,
            created=created,
        )  # fmt: skip
    code, message = error_of(answer.body)
    if planned.kind == "delete" and (status == 404 or code in NOT_FOUND_CODES):
        return PushResult(item.outbox_id, external_id=item.external_id)
    if planned.kind == "create" and status == 412:
        record_id = planned.record_id or item.external_id
        return PushResult(item.outbox_id, external_id=record_id, created=False)
    fields = item.payload.keys() if isinstance(item.payload, dict) else ()
    error = classify(status, code, message, answer.headers.get("retry-after"), fields)
    return PushResult(item.outbox_id, error=error)
