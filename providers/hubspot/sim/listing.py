"""``GET /crm/v3/objects/{type}`` of the simulated account: a page of records, as HubSpot's list
answers it (the OpenAPI's ``CollectionResponseSimplePublicObjectWithAssociationsForwardPaging``).

``archived=true`` lists only the archived records (the recycle bin), each with ``archived: true``
and ``archivedAt``; otherwise only the active ones. Records run by id, the order HubSpot's list
pages in; there is no filter and no other order. ``limit`` defaults to 10 and is at most 100
(HubSpot's documented maximum; its answer to more is not documented: refused here, so a client
asking for more is found). ``after`` is the id the next page starts at, answered as
``paging.next.after`` (and ``link``) while more records follow; a record archived or restored
between two pages moves nothing else. ``properties`` (comma-separated or repeated) names the
properties returned, beside ``hs_object_id`` and ``createdate``; without it, the object's
default ones are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from providers.hubspot.sim.batch import BadBatch
from providers.hubspot.sim.store import ObjectStore

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
DEFAULT_PROPERTIES = {
    "contacts": ("firstname", "lastname", "email", "lastmodifieddate"),
    "companies": ("name", "domain", "hs_lastmodifieddate"),
    "deals": ("dealname", "amount", "dealstage", "pipeline", "closedate", "hs_lastmodifieddate"),
}
"""What the list returns without ``properties`` (HubSpot: a few of the object's standard ones)."""


def _one(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def list_page(store: ObjectStore, query: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """One page of ``store``'s records for the request's ``query`` (``parse_qs`` lists)."""
    raw_limit = _one(query, "limit") or str(DEFAULT_LIMIT)
    if not raw_limit.isdigit() or not 0 < int(raw_limit) <= MAX_LIMIT:
        raise BadBatch(f"limit must be from 1 to {MAX_LIMIT}, got {raw_limit!r}")
    limit = int(raw_limit)
    after = _one(query, "after") or "0"
    if not after.isdigit():
        raise BadBatch(f"Invalid paging cursor after={after!r}")
    flag = (_one(query, "archived") or "false").lower()
    if flag not in ("true", "false"):
        raise BadBatch(f"archived must be true or false, got {flag!r}")
    archived = flag == "true"
    wanted = [p for value in query.get("properties", []) for p in value.split(",") if p]
    only = wanted or DEFAULT_PROPERTIES.get(store.object_name, ())
    held = store.archived if archived else store.records
    ids = sorted(int(i) for i in held if int(i) >= int(after))
    page = [held[str(i)].view(only=only) for i in ids[:limit]]
    out: dict[str, Any] = {"results": page}
    if len(ids) > limit:
        following = str(ids[limit])
        params = {"after": following, "limit": str(limit), "archived": str(archived).lower()}
        out["paging"] = {"next": {"after": following, "link": f"?{urlencode(params)}"}}
    return out
