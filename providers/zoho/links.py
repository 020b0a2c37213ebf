"""Zoho links: the child's lookup field set to the parent's record id (``"Account_Name": {"id":
…}``) through a records update (``PUT /crm/v8/{module}``, up to 100 records per call).

A link type is the child's lookup field; Zoho refuses an id its module does not hold, per
record (``INVALID_DATA``). Setting a lookup to the id it holds changes nothing; ``unlink`` sets
it to null, which empties a lookup Zoho does not require (``MANDATORY_NOT_FOUND`` otherwise).

Inbound, the lookup field is read with the child (``fields=Account_Name``): Zoho answers it as
``{"name": …, "id": …}``, or null when the child has none; changing it moves the child's
``Modified_Time`` and notifies the module's channels (an ``update`` of the child).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests

from providers.answers import body_of
from providers.base import CrmRecord, LinkItem, LinkResult, UnlinkItem
from providers.batching import chunks
from providers.zoho.defaults import MAX_BATCH, module_path
from providers.zoho.responses import describe, entries, item_error, raise_for_call
from syncsvc.errors import RetryableError

LOOKUP_MODULES = {"Account_Name": "Accounts", "Contact_Name": "Contacts"}
"""The standard lookup fields and the module each points at."""
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")

Call = Callable[..., requests.Response]


def type_problem(parent_object: str, link_type: str) -> str | None:
    if _FIELD.match(link_type) is None:
        return f"zoho: a link type is the child's lookup field, got {link_type!r}"
    module = LOOKUP_MODULES.get(link_type)
    if module is not None and module != parent_object:
        return f"zoho: {link_type} looks up {module}, not {parent_object}"
    return None


Setting = tuple[int, str, str | None]
"""(link id, the child's record id, the lookup's new record id: None empties it)."""


def link(
    call: Call, child_object: str, link_type: str, items: Sequence[LinkItem], batch_size: int
) -> list[LinkResult]:
    settings = [(i.link_id, i.child_id, i.parent_id) for i in items]
    return _set(call, child_object, link_type, settings, batch_size)


def unlink(
    call: Call, child_object: str, link_type: str, items: Sequence[UnlinkItem], batch_size: int
) -> list[LinkResult]:
    settings: list[Setting] = [(i.link_id, i.child_id, None) for i in items]
    return _set(call, child_object, link_type, settings, batch_size)


def _set(
    call: Call, child_object: str, link_type: str, settings: Sequence[Setting], batch_size: int
) -> list[LinkResult]:
    results: list[LinkResult] = []
    path = module_path(quote(child_object, safe=""))
    for chunk in chunks(list(settings), min(batch_size, MAX_BATCH)):
        data: list[dict[str, Any]] = [
            {"id": child_id, link_type: None if value is None else {"id": value}}
            for _, child_id, value in chunk
        ]
        response = call("PUT", path, {"data": data})
        answer = body_of(response)
        per_record = entries(answer)
        if per_record is None or len(per_record) != len(chunk):
            if response.status_code > 400:
                raise_for_call(response)
            error = RetryableError(describe(response, answer))
            results += [LinkResult(link_id, error=error) for link_id, _, _ in chunk]
            continue
        for (link_id, _, _), entry in zip(chunk, per_record, strict=True):
            if str(entry.get("status", "")).lower() == "success":
                results.append(LinkResult(link_id))
            else:
                refusal = str(item_error(entry, "link: "))
                results.append(LinkResult(link_id, error=RetryableError(refusal)))
    return results


def parent_ids(link_type: str, records: Mapping[str, CrmRecord]) -> dict[str, str | None]:
    """The lookup's record id per child record (read with it: ``link_fields``)."""
    out: dict[str, str | None] = {}
    for crm_id, record in records.items():
        value = record.fields.get(link_type)
        parent = value.get("id") if isinstance(value, dict) else value
        out[crm_id] = str(parent) if parent not in (None, "") else None
    return out
