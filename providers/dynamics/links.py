"""Dataverse links: the child's single-valued navigation property bound to the parent,
``PATCH /{child set}({guid})`` with ``{"<property>@odata.bind": "/<parent set>(<guid>)"}`` and
``If-Match: *`` (an update, never a create), one request per link. Binding a lookup to the
record it names already changes nothing. ``unlink`` disassociates the same way, the property
bound to null (``{"<property>@odata.bind": null}``, 204, as the Web API documents it; the other
form is ``DELETE /{child set}({guid})/<property>/$ref``).

Inbound, a lookup is read as its ``_<attribute>_value`` property (the parent's GUID, null for
none: ``$select`` names it, on reads by id and in change tracking, whose delta carries a row
whose lookup changed), with its ``@Microsoft.Dynamics.CRM.lookuplogicalname`` annotation
(``Prefer: odata.include-annotations``): a customer lookup (``parentcustomerid``,
``customerid``) may name an account or a contact, and only the table of the link type counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import requests

from providers.base import CrmRecord, LinkItem, LinkResult, UnlinkItem
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
LOOKUPS = MappingProxyType(
    {
        ("contacts", "parentcustomerid_account"): ("parentcustomerid", "account"),
        ("contacts", "parentcustomerid_contact"): ("parentcustomerid", "contact"),
        ("accounts", "parentaccountid"): ("parentaccountid", "account"),
        ("accounts", "primarycontactid"): ("primarycontactid", "contact"),
        ("opportunities", "parentaccountid"): ("parentaccountid", "account"),
        ("opportunities", "parentcontactid"): ("parentcontactid", "contact"),
        ("opportunities", "customerid_account"): ("customerid", "account"),
        ("opportunities", "customerid_contact"): ("customerid", "contact"),
    }
)
"""(child entity set, navigation property) → (the lookup column it sets, the logical name of
the table it names)."""
LOGICAL_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"
INCLUDE_LOGICAL_NAMES = 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'
"""The preference that makes Dataverse annotate each lookup value with its table."""

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
            bind = "/" + by_id(parent_object, item.parent_id)
        except ValueError as exc:
            results.append(LinkResult(item.link_id, error=RetryableError(f"dynamics: {exc}")))
            continue
        results.append(_bind(call, api, child_object, item.child_id, item.link_id, link_type, bind))
    return results


def unlink(
    call: Call, api: str, child_object: str, link_type: str, items: Sequence[UnlinkItem]
) -> list[LinkResult]:
    return [_bind(call, api, child_object, i.child_id, i.link_id, link_type, None) for i in items]


def _bind(
    call: Call,
    api: str,
    child_object: str,
    child_id: str,
    link_id: int,
    link_type: str,
    bind: str | None,
) -> LinkResult:
    """Bind the child's navigation property to ``bind`` (None: to no record)."""
    try:
        path = f"{api}/{by_id(child_object, child_id)}"
    except ValueError as exc:
        return LinkResult(link_id, error=RetryableError(f"dynamics: {exc}"))
    response = call(
        "PATCH", path, headers={"If-Match": "*"}, json={f"{link_type}@odata.bind": bind}
    )
    if response.status_code < 300:
        return LinkResult(link_id)
    error = failure(response)
    if isinstance(error, RateLimited) or response.status_code in (401, 403):
        raise error
    if isinstance(error, PermanentError):
        error = RetryableError(str(error))
    return LinkResult(link_id, error=error)


def value_property(child_object: str, link_type: str) -> str | None:
    """The ``_<attribute>_value`` property a link type sets (None: not a known lookup)."""
    lookup = LOOKUPS.get((child_object, link_type))
    return None if lookup is None else f"_{lookup[0]}_value"


def link_fields(child_object: str, link_type: str) -> list[str]:
    """The lookup's value and its table annotation (which ``$select`` leaves out)."""
    value = value_property(child_object, link_type)
    return [] if value is None else [value, value + LOGICAL_NAME]


def parent_ids(
    child_object: str, link_type: str, records: Mapping[str, CrmRecord]
) -> dict[str, str | None]:
    """The lookup's GUID per child record, None when it is empty or names a record of another
    table than the link type's (a contact as a contact's parent customer)."""
    lookup = LOOKUPS.get((child_object, link_type))
    if lookup is None:
        return {}
    value = f"_{lookup[0]}_value"
    out: dict[str, str | None] = {}
    for crm_id, record in records.items():
        parent = record.fields.get(value)
        table = record.fields.get(value + LOGICAL_NAME)
        if not isinstance(parent, str) or not parent or (table and table != lookup[1]):
            out[crm_id] = None
        else:
            out[crm_id] = parent.lower()
    return out
