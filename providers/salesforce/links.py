"""Salesforce links: the child's lookup field set to the parent's Id, through an sObject
Collections update (``PATCH /composite/sobjects``, ``allOrNone: false``, up to 200 records).

A link type is the child's lookup field (``AccountId`` on Contact and Opportunity, a custom
``Company__c``). Setting a lookup to the value it holds changes nothing; ``unlink`` sets it to
null (a lookup is nillable unless it is required, which Salesforce then refuses per record).

Inbound, the lookup field is read with the child: its value is the parent's Id (null: none).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence

import requests

from providers.base import CrmRecord, LinkItem, LinkResult, UnlinkItem
from providers.batching import chunks
from providers.salesforce.defaults import MAX_BATCH
from providers.salesforce.responses import body_of, raise_for_call, record_error
from syncsvc.errors import RetryableError

_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")

Call = Callable[[str, str, bytes], requests.Response]


def type_problem(link_type: str) -> str | None:
    if _FIELD.match(link_type) is None:
        return f"salesforce: a link type is the child's lookup field name, got {link_type!r}"
    return None


Setting = tuple[int, str, str | None]
"""(link id, the child's Id, the lookup's new value: None clears it)."""


def link(
    call: Call,
    api: str,
    child_object: str,
    link_type: str,
    items: Sequence[LinkItem],
    batch_size: int,
) -> list[LinkResult]:
    settings = [(i.link_id, i.child_id, i.parent_id) for i in items]
    return _set(call, api, child_object, link_type, settings, batch_size)


def unlink(
    call: Call,
    api: str,
    child_object: str,
    link_type: str,
    items: Sequence[UnlinkItem],
    batch_size: int,
) -> list[LinkResult]:
    settings: list[Setting] = [(i.link_id, i.child_id, None) for i in items]
    return _set(call, api, child_object, link_type, settings, batch_size)


def _set(
    call: Call,
    api: str,
    child_object: str,
    link_type: str,
    settings: Sequence[Setting],
    batch_size: int,
) -> list[LinkResult]:
    results: list[LinkResult] = []
    for chunk in chunks(list(settings), min(batch_size, MAX_BATCH)):
        records = [
            {"attributes": {"type": child_object}, "id": child_id, link_type: value}
            for _, child_id, value in chunk
        ]
        body = json.dumps({"allOrNone": False, "records": records}).encode()
        response = call("PATCH", f"{api}/composite/sobjects", body)
        raise_for_call(response)
        answer = body_of(response)
        if not isinstance(answer, list) or len(answer) != len(chunk):
            error = RetryableError("salesforce: the link answer does not match the request")
            results += [LinkResult(link_id, error=error) for link_id, _, _ in chunk]
            continue
        for (link_id, _, _), outcome in zip(chunk, answer, strict=True):
            if isinstance(outcome, dict) and outcome.get("success"):
                results.append(LinkResult(link_id))
            else:
                errors = outcome.get("errors") if isinstance(outcome, dict) else None
                results.append(LinkResult(link_id, error=record_error(errors, link_type)))
    return results


def parent_ids(link_type: str, records: Mapping[str, CrmRecord]) -> dict[str, str | None]:
    """The lookup field's value per child record (read with it: ``link_fields``)."""
    out: dict[str, str | None] = {}
    for crm_id, record in records.items():
        value = record.fields.get(link_type)
        out[crm_id] = str(value) if value not in (None, "") else None
    return out
