"""Reading rows back from Dataverse (inbound).

By id: one ``$batch`` of ``GET {set}({id})?$select=`` requests (404 parts: gone). Changes:
change tracking, the way Dataverse offers it: a GET of the entity set with ``Prefer:
odata.track-changes`` answers every row and, on its last page, an ``@odata.deltaLink``; a GET
of that link answers the rows created or changed since and the ones deleted since
(``$deletedEntity`` entries, or OData 4.01's ``@removed``), with the next delta link. The link
is stored with the poll's cursor (``ChangedPage.resume``), so a restart resumes where the last
poll ended. Change tracking takes no ``$filter``: the first poll reads the whole table once and
reports only the rows modified since the first poll's lookback. Lookups come with the table
they name (``links.INCLUDE_LOGICAL_NAMES``).

Links are followed only on the connection's own host (a link elsewhere would carry our token
away); ``after``/``resume`` are ``initial <path>`` or ``delta <path>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from providers.answers import parse_time
from providers.base import ChangedPage, CrmRecord
from providers.dynamics.links import INCLUDE_LOGICAL_NAMES
from providers.dynamics.multipart import HttpMessage
from providers.dynamics.odata import GUID_RE, by_id
from providers.dynamics.operations import Table
from providers.dynamics.reads import bodies, gets, selectable
from syncsvc.errors import PermanentError

MODIFIED = "modifiedon"
PAGE_SIZE = 500
TRACK = f"odata.track-changes,odata.maxpagesize={PAGE_SIZE},{INCLUDE_LOGICAL_NAMES}"
MAX_LINK = 8000


def columns(table: Table, fields: Sequence[str]) -> str:
    return ",".join(selectable([table.primary_key, *fields, MODIFIED]))


def _record(table: Table, row: dict[str, Any], fields: Sequence[str]) -> CrmRecord | None:
    record_id = row.get(table.primary_key)
    if not isinstance(record_id, str):
        return None
    values = {name: row.get(name) for name in fields}
    return CrmRecord(record_id.lower(), values, parse_time(row.get(MODIFIED)))


def get_requests(table: Table, ids: Sequence[str], fields: Sequence[str]) -> list[HttpMessage]:
    locators = [by_id(table.entity_set, i) for i in ids]
    return gets(table, locators, columns(table, fields), {"Prefer": INCLUDE_LOGICAL_NAMES})


def wanted_ids(ids: Sequence[str]) -> list[str]:
    return [i.lower() for i in dict.fromkeys(ids) if GUID_RE.match(i)]


def records_of(
    table: Table, answers: Sequence[HttpMessage], fields: Sequence[str]
) -> dict[str, CrmRecord]:
    found: dict[str, CrmRecord] = {}
    for body in bodies(answers):
        record = _record(table, body, fields) if body is not None else None
        if record is not None:
            found[record.id] = record
    return found


def first_request(table: Table, fields: Sequence[str]) -> str:
    return f"initial {table.api}/{table.entity_set}?$select={columns(table, fields)}"


def link_path(base_url: str, link: Any) -> str:
    """The path and query of a next/delta link, refused unless it is on ``base_url``'s host."""
    if not isinstance(link, str) or len(link) > MAX_LINK:
        raise PermanentError("dynamics: the change-tracking link is missing or too long")
    parsed, base = urlparse(link), urlparse(base_url)
    if (parsed.scheme, parsed.netloc) != (base.scheme, base.netloc):
        raise PermanentError(
            f"dynamics: a change-tracking link points to {parsed.netloc!r}, not the environment",
            code="FOREIGN_LINK",
        )
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


def _deleted_id(row: dict[str, Any]) -> str | None:
    """The id of a ``$deletedEntity`` entry (Dataverse) or an ``@removed`` one (OData 4.01)."""
    if "$deletedEntity" in str(row.get("@odata.context", "")) or "@removed" in row:
        raw = row.get("id") or row.get("@id") or row.get("@odata.id") or ""
        guid = str(raw).rstrip(")").rpartition("(")[2] if "(" in str(raw) else str(raw)
        return guid.lower() if GUID_RE.match(guid) else None
    return None


def page_of(
    table: Table,
    base_url: str,
    answer: dict[str, Any],
    fields: Sequence[str],
    initial: bool,
    since: datetime,
) -> ChangedPage:
    records: list[CrmRecord] = []
    deleted: list[str] = []
    for row in answer.get("value") or []:
        if not isinstance(row, dict):
            continue
        gone = _deleted_id(row)
        if gone is not None:
            deleted.append(gone)
            continue
        record = _record(table, row, fields)
        if record is None:
            continue
        if initial and record.modified_at is not None and record.modified_at < since:
            continue  # the first read of the whole table: only what changed lately
        records.append(record)
    mode = "initial" if initial else "delta"
    following = answer.get("@odata.nextLink")
    if following is not None:
        after = f"{mode} {link_path(base_url, following)}"
        return ChangedPage(records, after, deleted, resume=after)
    resume = f"delta {link_path(base_url, answer.get('@odata.deltaLink'))}"
    return ChangedPage(records, None, deleted, resume=resume)
