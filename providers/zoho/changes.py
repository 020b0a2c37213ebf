"""Reading records back from Zoho CRM (inbound).

By id: ``GET /crm/v8/{module}?ids=…&fields=…`` (100 ids a call). By modification time: the same
list sorted by ``Modified_Time`` ascending with the ``If-Modified-Since`` header (Zoho answers
304 when nothing changed since), 200 records a page, ``page_token`` past the first 2,000; and
deletions from ``GET /crm/v8/{module}/deleted?type=all`` with the same header, on a poll's
first page. ``fields`` is mandatory in v8 and takes at most 50 API names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

import requests

from providers.answers import body_of, parse_time
from providers.base import ChangedPage, CrmRecord
from providers.batching import chunks
from providers.zoho.defaults import module_path

Get = Callable[[str, dict[str, str], dict[str, str]], requests.Response]
"""``get(path, params, headers)``: one authenticated GET that raises for a failed call."""
MODIFIED = "Modified_Time"
IDS_PER_CALL = 100
PER_PAGE = 200
MAX_FIELDS = 50
MAX_DELETED_PAGES = 5
_ID = re.compile(r"^[0-9]{1,25}$")


def _fields(names: Sequence[str]) -> str:
    return ",".join(list(dict.fromkeys([*names, MODIFIED]))[:MAX_FIELDS])


def _records(response: requests.Response, names: Sequence[str]) -> list[CrmRecord]:
    if response.status_code in (204, 304):
        return []
    out = []
    for data in body_of(response).get("data") or []:
        if isinstance(data, dict) and data.get("id") is not None:
            fields = {name: data.get(name) for name in names}
            out.append(CrmRecord(str(data["id"]), fields, parse_time(data.get(MODIFIED))))
    return out


def read_records(
    get: Get, module: str, ids: Sequence[str], names: Sequence[str]
) -> dict[str, CrmRecord]:
    wanted = [i for i in dict.fromkeys(ids) if _ID.match(i)]
    path = module_path(quote(module, safe=""))
    found: dict[str, CrmRecord] = {}
    for chunk in chunks(wanted, IDS_PER_CALL):
        response = get(path, {"ids": ",".join(chunk), "fields": _fields(names)}, {})
        found.update((r.id, r) for r in _records(response, names))
    return found


def _since_header(since: datetime) -> dict[str, str]:
    return {"If-Modified-Since": since.astimezone(UTC).replace(microsecond=0).isoformat()}


def changed_since(
    get: Get, module: str, since: datetime, names: Sequence[str], after: str | None
) -> ChangedPage:
    """One page; ``after`` is ``page:N`` or ``token:T`` (Zoho's ``page_token``)."""
    params = {
        "fields": _fields(names),
        "sort_by": MODIFIED,
        "sort_order": "asc",
        "per_page": str(PER_PAGE),
    }
    kind, _, value = (after or "page:1").partition(":")
    if kind == "token":
        params["page_token"] = value
    else:
        params["page"] = value if value.isdigit() else "1"
    path = module_path(quote(module, safe=""))
    response = get(path, params, _since_header(since))
    records = _records(response, names)
    info = body_of(response).get("info") if response.status_code == 200 else None
    following = None
    if isinstance(info, dict) and info.get("more_records"):
        token = info.get("next_page_token")
        following = f"token:{token}" if token else f"page:{int(info.get('page') or 1) + 1}"
    deleted = deleted_since(get, module, since) if after is None else []
    return ChangedPage(records, following, deleted)


def deleted_since(get: Get, module: str, since: datetime) -> list[str]:
    path = module_path(quote(module, safe=""), "deleted")
    ids: list[str] = []
    for page in range(1, MAX_DELETED_PAGES + 1):
        params = {"type": "all", "per_page": str(PER_PAGE), "page": str(page)}
        response = get(path, params, _since_header(since))
        if response.status_code != 200:
            break
        answer = body_of(response)
        ids += [
            str(d["id"]) for d in answer.get("data") or [] if isinstance(d, dict) and d.get("id")
        ]
        if not (answer.get("info") or {}).get("more_records"):
            break
    return ids
