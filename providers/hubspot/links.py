"""HubSpot associations (v4): ``POST /crm/v4/associations/{from}/{to}/batch/create``.

A link type is an ``associationTypeId``, optionally prefixed with its category
(``USER_DEFINED:12``; ``HUBSPOT_DEFINED`` by default). Creating an association that exists
changes nothing, so a link sent twice is one link. Inbound, a child's parents are read with
``POST /crm/v4/associations/{from}/{to}/batch/read`` (``parent_ids``).

HubSpot keeps every association made: a child moved to another parent is associated with both
until the old one is removed. ``POST /crm/v4/associations/{from}/{to}/batch/archive`` with
``{"inputs": [{"from": {"id"}, "to": [{"id"}]}]}`` removes the associations between each pair
(every type between them, as removing it in HubSpot's UI does) and answers 204 without a body,
whether or not the pair was associated; ``link`` archives a moved child's previous parent once
the new association is made, ``unlink`` a child's parent whose link was cleared.
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
from providers.hubspot.responses import describe, raise_for_call
from syncsvc.errors import PermanentError, RetryableError

MAX_INPUTS = 100
_TYPE = re.compile(r"^(?:(HUBSPOT_DEFINED|USER_DEFINED|INTEGRATOR_DEFINED):)?([0-9]{1,9})$")

Call = Callable[[str, str, Any], requests.Response]


def type_problem(link_type: str) -> str | None:
    if _TYPE.match(link_type) is None:
        return (
            f"hubspot: an association type is an associationTypeId, optionally "
            f"CATEGORY:ID (USER_DEFINED:12), got {link_type!r}"
        )
    return None


def _spec(link_type: str) -> dict[str, Any]:
    match = _TYPE.match(link_type)
    if match is None:
        raise PermanentError(type_problem(link_type) or "", code="BAD_LINK_TYPE")
    return {
        "associationCategory": match.group(1) or "HUBSPOT_DEFINED",
        "associationTypeId": int(match.group(2)),
    }


def _path(child_object: str, parent_object: str, verb: str) -> str:
    return (
        f"/crm/v4/associations/{quote(child_object, safe='')}/"
        f"{quote(parent_object, safe='')}/batch/{verb}"
    )


def link(
    call: Call,
    child_object: str,
    parent_object: str,
    link_type: str,
    items: Sequence[LinkItem],
    batch_size: int,
) -> list[LinkResult]:
    """Create each item's association; then archive the moved children's previous ones (an item
    whose previous association could not be archived fails as a whole and goes again: creating
    is idempotent)."""
    path = _path(child_object, parent_object, "create")
    spec = _spec(link_type)
    results: list[LinkResult] = []
    for chunk in chunks(list(items), min(batch_size, MAX_INPUTS)):
        inputs = [
            {"from": {"id": i.child_id}, "to": {"id": i.parent_id}, "types": [spec]} for i in chunk
        ]
        response = call("POST", path, {"inputs": inputs})
        body = body_of(response)
        if response.status_code not in (200, 201, 207, 400):
            raise_for_call(response)
        made = {
            (str(r.get("fromObjectId")), str(r.get("toObjectId")))
            for r in body.get("results") or []
            if isinstance(r, dict)
        }
        failure = describe(response, body) if response.status_code >= 300 else None
        moved = [
            (i.child_id, i.previous_parent_id)
            for i in chunk
            if (i.child_id, i.parent_id) in made
            and i.previous_parent_id
            and i.previous_parent_id != i.parent_id
        ]
        not_archived = _archive(call, _path(child_object, parent_object, "archive"), moved)
        for item in chunk:
            if (item.child_id, item.parent_id) in made:
                if not_archived and (item.child_id, item.previous_parent_id) in moved:
                    message = f"hubspot: previous association not removed: {not_archived}"
                    results.append(LinkResult(item.link_id, error=RetryableError(message)))
                else:
                    results.append(LinkResult(item.link_id))
                continue
            message = _error_for(body, item) or failure or "hubspot: association not created"
            results.append(LinkResult(item.link_id, error=RetryableError(message)))
    return results


def unlink(
    call: Call,
    child_object: str,
    parent_object: str,
    items: Sequence[UnlinkItem],
    batch_size: int,
) -> list[LinkResult]:
    """Archive each item's association with its parent (a parent without a known CRM id has no
    association we could have made: nothing to archive)."""
    path = _path(child_object, parent_object, "archive")
    results: list[LinkResult] = []
    for chunk in chunks(list(items), min(batch_size, MAX_INPUTS)):
        pairs = [(i.child_id, i.parent_id) for i in chunk if i.parent_id]
        failure = _archive(call, path, pairs)
        for item in chunk:
            if failure and item.parent_id:
                error = RetryableError(f"hubspot: association not removed: {failure}")
                results.append(LinkResult(item.link_id, error=error))
            else:
                results.append(LinkResult(item.link_id))
    return results


def _archive(call: Call, path: str, pairs: Sequence[tuple[str, str | None]]) -> str | None:
    """Archive the associations between each (child, parent) pair in one call: None when done,
    else why not (``call`` raises for rate limits, credentials and server errors)."""
    inputs = [{"from": {"id": child}, "to": [{"id": parent}]} for child, parent in pairs if parent]
    if not inputs:
        return None
    response = call("POST", path, {"inputs": inputs})
    return None if response.status_code < 300 else describe(response, body_of(response))


def _error_for(body: dict[str, Any], item: LinkItem) -> str | None:
    """The message of the error whose context names one of the item's records."""
    for error in body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        context = error.get("context") or {}
        named = {str(v) for values in context.values() if isinstance(values, list) for v in values}
        if item.child_id in named or item.parent_id in named:
            return f"hubspot: {error.get('category')}: {error.get('message')}"
    return None


def parent_ids(
    call: Call,
    child_object: str,
    parent_object: str,
    link_type: str,
    records: Mapping[str, CrmRecord],
) -> dict[str, str | None]:
    """Each child's parent by ``link_type`` (None: none). A child associated by that type with
    several records is left out (not known): HubSpot keeps every association made, so which one
    is "the" parent cannot be told (an internal move links the new parent beside the old)."""
    path = _path(child_object, parent_object, "read")
    spec = _spec(link_type)
    wanted = (spec["associationCategory"], spec["associationTypeId"])
    found: dict[str, set[str]] = {child: set() for child in records}
    for chunk in chunks(list(records), MAX_INPUTS):
        response = call("POST", path, {"inputs": [{"id": i} for i in chunk]})
        raise_for_call(response)
        for result in body_of(response).get("results") or []:
            child = (
                str((result.get("from") or {}).get("id", "")) if isinstance(result, dict) else ""
            )
            if child not in found:
                continue
            for to in result.get("to") or []:
                kinds = to.get("associationTypes") or [] if isinstance(to, dict) else []
                if any((k.get("category"), k.get("typeId")) == wanted for k in kinds):
                    found[child].add(str(to.get("toObjectId")))
    return {
        child: next(iter(parents), None) for child, parents in found.items() if len(parents) <= 1
    }
