"""HubSpot associations (v4): ``POST /crm/v4/associations/{from}/{to}/batch/create``.

A link type is an ``associationTypeId``, optionally prefixed with its category
(``USER_DEFINED:12``; ``HUBSPOT_DEFINED`` by default). Creating an association that exists
changes nothing, so a link sent twice is one link. Inbound, a child's parents are read with
``POST /crm/v4/associations/{from}/{to}/batch/read`` (``parent_ids``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests

from providers.answers import body_of
from providers.base import CrmRecord, LinkItem, LinkResult
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


def link(
    call: Call,
    child_object: str,
    parent_object: str,
    link_type: str,
    items: Sequence[LinkItem],
    batch_size: int,
) -> list[LinkResult]:
    path = (
        f"/crm/v4/associations/{quote(child_object, safe='')}/"
        f"{quote(parent_object, safe='')}/batch/create"
    )
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
        for item in chunk:
            if (item.child_id, item.parent_id) in made:
                results.append(LinkResult(item.link_id))
                continue
            message = _error_for(body, item) or failure or "hubspot: association not created"
            results.append(LinkResult(item.link_id, error=RetryableError(message)))
    return results


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
    path = (
        f"/crm/v4/associations/{quote(child_object, safe='')}/"
        f"{quote(parent_object, safe='')}/batch/read"
    )
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
