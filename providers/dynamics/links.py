"""Dataverse links: the child's single-valued navigation property bound to the parent,
``PATCH /{child set}({guid})`` with ``{"<property>@odata.bind": "/<parent set>(<guid>)"}`` and
``If-Match: *`` (an update, never a create), one request per link. Binding a lookup to the
record it names already changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import MappingProxyType

import requests

from providers.base import LinkItem, LinkResult
from providers.dynamics.odata import by_id
from providers.dynamics.responses import failure
from syncsvc.errors import PermanentError, RateLimited, RetryableError

NAVIGATION = MappingProxyType(
    {
        ("contacts", "parentcustomerid_account"): "accounts",
        ("contacts", "parentcustomerid_contact"): "contacts",
        ("accounts", "parentaccountid"): "accounts",
        ("accounts", "primarycontactid"): "contacts",
        ("opportunities", "parentaccountid"): "accounts",
        ("opportunities", "parentcontactid"): "contacts",
        ("opportunities", "customerid_account"): "accounts",
        ("opportunities", "customerid_contact"): "contacts",
    }
)
"""(child entity set, navigation property) → the entity set it points at."""

Call = Callable[..., requests.Response]


def type_problem(child_object: str, parent_object: str, link_type: str) -> str | None:
    target = NAVIGATION.get((child_object, link_type))
    if target is None:
        known = ", ".join(n for (c, n) in NAVIGATION if c == child_object) or "none"
        return f"dynamics: {child_object} has no lookup {link_type!r} (known: {known})"
    if target != parent_object:
        return f"dynamics: {child_object}.{link_type} points at {target}, not {parent_object}"
    return None


def link(
    call: Call,
    api: str,
    child_object: str,
    parent_object: str,
    link_type: str,
    items: Sequence[LinkItem],
) -> list[LinkResult]:
    results: list[LinkResult] = []
    for item in items:
        try:
            path = f"{api}/{by_id(child_object, item.child_id)}"
            bind = "/" + by_id(parent_object, item.parent_id)
        except ValueError as exc:
            results.append(LinkResult(item.link_id, error=RetryableError(f"dynamics: {exc}")))
            continue
        response = call(
            "PATCH", path, headers={"If-Match": "*"}, json={f"{link_type}@odata.bind": bind}
        )
        if response.status_code < 300:
            results.append(LinkResult(item.link_id))
            continue
        error = failure(response)
        if isinstance(error, RateLimited) or response.status_code in (401, 403):
            raise error
        if isinstance(error, PermanentError):
            error = RetryableError(str(error))
        results.append(LinkResult(item.link_id, error=error))
    return results
