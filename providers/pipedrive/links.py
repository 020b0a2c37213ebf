"""Pipedrive links: the child's relation field (``org_id`` on persons and deals, ``person_id``
on deals) set to the parent's Pipedrive id, one ``PATCH /api/v2/{object}/{id}`` per link
(Pipedrive has no batch writes). Setting a relation to the id it holds changes nothing;
``unlink`` sets it to null (v2 takes null for "no organization / person").

Inbound, the relation field is read with the child (``GET /api/v2/{object}?ids=``, and the
``updated_since`` list a poll reads): v2 answers the parent's id as an integer, or null when
the child has none (v1's ``{"value": id, "name": …}`` objects are read too). Changing it moves
the child's ``update_time`` and fires a webhook v2 ``change`` event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from providers.answers import body_of
from providers.base import CrmRecord, LinkItem, LinkResult, UnlinkItem
from providers.pipedrive.lookup import object_path
from providers.pipedrive.responses import describe, raise_for_call
from syncsvc.errors import RetryableError

RELATIONS = {"org_id": "organizations", "person_id": "persons"}
"""The relation fields a link may set, and the object each points at."""

Call = Callable[..., requests.Response]


def type_problem(child_object: str, parent_object: str, link_type: str) -> str | None:
    target = RELATIONS.get(link_type)
    if target is None:
        return f"pipedrive: a link type is one of {', '.join(RELATIONS)}, got {link_type!r}"
    if target != parent_object:
        return f"pipedrive: {link_type} points at {target}, not {parent_object}"
    if child_object == parent_object:
        return f"pipedrive: {child_object} cannot be linked to {parent_object}"
    return None


def link(
    call: Call, child_object: str, link_type: str, items: Sequence[LinkItem]
) -> list[LinkResult]:
    results: list[LinkResult] = []
    for item in items:
        if not item.parent_id.isdigit() or not item.child_id.isdigit():
            error = RetryableError(f"pipedrive: ids must be integers ({item})")
            results.append(LinkResult(item.link_id, error=error))
            continue
        results.append(
            _set(call, child_object, item.child_id, item.link_id, link_type, int(item.parent_id))
        )
    return results


def unlink(
    call: Call, child_object: str, link_type: str, items: Sequence[UnlinkItem]
) -> list[LinkResult]:
    results: list[LinkResult] = []
    for item in items:
        if not item.child_id.isdigit():
            error = RetryableError(f"pipedrive: ids must be integers ({item})")
            results.append(LinkResult(item.link_id, error=error))
            continue
        results.append(_set(call, child_object, item.child_id, item.link_id, link_type, None))
    return results


def _set(
    call: Call, child_object: str, child_id: str, link_id: int, link_type: str, value: int | None
) -> LinkResult:
    body: dict[str, Any] = {link_type: value}
    response = call("PATCH", object_path(child_object, child_id), body=body)
    if response.status_code < 300:
        return LinkResult(link_id)
    if response.status_code in (400, 404, 410):
        message = describe(response, body_of(response))
        return LinkResult(link_id, error=RetryableError(message))
    raise_for_call(response)
    return LinkResult(link_id, error=RetryableError(describe(response, body_of(response))))


def parent_ids(link_type: str, records: Mapping[str, CrmRecord]) -> dict[str, str | None]:
    """The relation field's value per child record (read with it: ``link_fields``)."""
    out: dict[str, str | None] = {}
    for crm_id, record in records.items():
        value = record.fields.get(link_type)
        if isinstance(value, dict):
            value = value.get("value", value.get("id"))
        if isinstance(value, bool) or value in (None, "", 0):
            out[crm_id] = None
        else:
            out[crm_id] = str(value)
    return out
