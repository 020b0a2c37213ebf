"""Change tracking of the simulated environment (``Prefer: odata.track-changes``).

A GET of an entity set with that preference answers every record and, on its last page, an
``@odata.deltaLink`` carrying a ``$deltatoken``; a GET of that link answers the records created
or changed since (by their version) and the ones deleted since as
``{"@odata.context": "…/$metadata#{set}/$deletedEntity", "id", "reason": "deleted"}``, with
the next delta link. ``Prefer: odata.maxpagesize=N`` pages (``@odata.nextLink``, whose
``$skiptoken`` holds the answer's upper version and position). Callers hold the lock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from providers.dynamics.sim.annotations import wanted
from providers.dynamics.sim.store import TableStore
from providers.simulation import SimResponse, json_response

Query = Mapping[str, list[str]]
DEFAULT_PAGE = 5000
_PAGE_SIZE = re.compile(r"odata\.maxpagesize=(\d{1,5})")
_SKIP = re.compile(r"^(\d{1,18}):(\d{1,9})$")


def wants_tracking(headers: Mapping[str, str], query: Query) -> bool:
    prefer = next((v for k, v in headers.items() if k.lower() == "prefer"), "")
    return "odata.track-changes" in prefer or "$deltatoken" in query


def _page_size(headers: Mapping[str, str]) -> int:
    prefer = next((v for k, v in headers.items() if k.lower() == "prefer"), "")
    found = _PAGE_SIZE.search(prefer)
    return max(1, int(found.group(1))) if found else DEFAULT_PAGE


def tracked(
    store: TableStore,
    query: Query,
    headers: Mapping[str, str],
    root: str,
    select: list[str] | None,
    newest: int,
) -> SimResponse:
    """One page of changes since the ``$deltatoken`` (none: everything) up to ``newest``, the
    version the first page of this answer saw last."""
    entity_set = store.table.entity_set
    token = (query.get("$deltatoken") or ["0"])[0]
    if not token.isdigit():
        refusal = {"error": {"code": "0x80044352", "message": "The delta token is not valid."}}
        return json_response(400, refusal)
    base = int(token)
    asked = wanted(headers)
    skip = _SKIP.match((query.get("$skiptoken") or [""])[0])
    until, start = (int(skip.group(1)), int(skip.group(2))) if skip else (newest, 0)
    changed: list[tuple[int, dict[str, Any]]] = [
        (r.version, store.native(r, select, asked))
        for r in store.records.values()
        if base < r.version <= until
    ]
    if base:
        context = f"{root}/$metadata#{entity_set}/$deletedEntity"
        changed += [
            (version, {"@odata.context": context, "id": record_id, "reason": "deleted"})
            for record_id, version in store.deleted
            if base < version <= until
        ]
    changed.sort(key=lambda pair: pair[0])
    size = _page_size(headers)
    rows = [row for _, row in changed[start : start + size]]
    columns = f"$select={','.join(select)}&" if select else ""
    link = f"{root}/{entity_set}?{columns}"
    body: dict[str, Any] = {
        "@odata.context": f"{root}/$metadata#{entity_set}/$delta",
        "value": rows,
    }
    if start + size < len(changed):
        following = quote(f"{until}:{start + size}")
        body["@odata.nextLink"] = f"{link}$deltatoken={base}&$skiptoken={following}"
    else:
        body["@odata.deltaLink"] = f"{link}$deltatoken={until}"
    response = json_response(200, body, {"OData-Version": "4.0"})
    response.headers["Preference-Applied"] = "odata.track-changes"
    return response
