"""Reading records back from Salesforce (inbound): by id with SOQL (``WHERE Id IN (…)``, 200
ids a query) and by modification time with ``queryAll``, which also answers the recycle bin's
records (``IsDeleted`` true), so one query reports changes and deletions together:

    SELECT Id, IsDeleted, <fields>, SystemModstamp FROM Contact
    WHERE SystemModstamp >= <since> ORDER BY SystemModstamp, Id LIMIT 200

The tie rule: pages are cut by the pair ``(SystemModstamp, Id)``, never by the time alone. The
next page starts after the last row's pair (``SystemModstamp > t OR (SystemModstamp = t AND
Id > 'id')``), so rows sharing one stamp (Salesforce stamps whole seconds; a bulk update
stamps hundreds alike) are neither lost at a page boundary nor read forever. Each poll starts
from the stored high-water mark less ``syncsvc.inbound.run.POLL_OVERLAP``: a record committed
late with an older stamp is still read, repeats add nothing (the same event key).

Deletions: ``queryAll`` sees a deleted record while it is in the recycle bin (15 days, or until
emptied); ``getDeleted`` (``sobjects/{type}/deleted/?start=&end=``: ``deletedRecords``
``[{id, deletedDate}]``, ``earliestDateAvailable``, ``latestDateCovered``) has the same window
and costs a second call per poll, so it is not used. A record hard-deleted or purged before a
poll saw it is found gone when an event for it is applied (``read_records`` leaves it out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from providers import answers
from providers.base import ChangedPage, CrmRecord
from providers.salesforce.lookup import identifier, key_query, soql_string, value_chunks
from syncsvc.errors import PermanentError

Records = Callable[[str], list[dict[str, Any]]]
"""Every record a query path answers (``nextRecordsUrl`` pages followed)."""
Page = Callable[[str], dict[str, Any]]
"""One query answer (``{"records", "done", …}``) for a path."""

MODIFIED = "SystemModstamp"
PAGE = 200
MAX_AFTER = 100


def parse_time(raw: Any) -> datetime | None:
    """Salesforce's ``2024-05-01T12:30:00.000+0000`` (or ``Z``)."""
    text = raw.replace("Z", "+00:00") if isinstance(raw, str) else raw
    if isinstance(text, str) and len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return answers.parse_time(text)


def soql_datetime(stamp: datetime) -> str:
    """A SOQL date-time literal (unquoted, whole seconds, UTC): ``2024-05-01T12:30:00Z``. The
    fraction is cut, never rounded up: ``>=`` on it can only read more."""
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record(row: dict[str, Any], fields: Sequence[str]) -> CrmRecord | None:
    record_id = row.get("Id")
    if not isinstance(record_id, str) or not record_id:
        return None
    return CrmRecord(record_id, {n: row.get(n) for n in fields}, parse_time(row.get(MODIFIED)))


def read_records(
    records: Records, api: str, object_name: str, ids: Sequence[str], fields: Sequence[str]
) -> dict[str, CrmRecord]:
    """``SELECT Id, <fields>, SystemModstamp FROM object WHERE Id IN (…)``: records in the
    recycle bin are not answered by ``query``, so a deleted record is left out."""
    wanted = [i for i in dict.fromkeys(ids) if len(i) in (15, 18) and i.isalnum()]
    found: dict[str, CrmRecord] = {}
    for group in value_chunks(wanted):
        query = key_query(object_name, "Id", group, [*fields, MODIFIED])
        for row in records(f"{api}/query?q={quote(query, safe='')}"):
            record = _record(row, fields)
            if record is not None:
                found[record.id] = record
    return found


def changes_query(
    object_name: str, fields: Sequence[str], since: datetime, after: str | None
) -> str:
    """The ``queryAll`` of one page: from ``since`` (first page) or after ``after``'s
    ``<stamp> <id>`` pair (the tie rule)."""
    obj = identifier(object_name)
    names = ["Id", "IsDeleted", *(identifier(f) for f in fields), MODIFIED]
    selected = ", ".join(dict.fromkeys(names))
    if after:
        stamp, record_id = _pair(after)
        where = f"{MODIFIED} > {stamp} OR ({MODIFIED} = {stamp} AND Id > {soql_string(record_id)})"
    else:
        where = f"{MODIFIED} >= {soql_datetime(since)}"
    # names are checked identifiers, values a formatted date-time and an escaped literal
    return (
        f"SELECT {selected} FROM {obj} WHERE {where} "  # noqa: S608
        f"ORDER BY {MODIFIED}, Id LIMIT {PAGE}"
    )


def _pair(after: str) -> tuple[str, str]:
    """``after`` is ``<SOQL date-time> <record id>``, as ``page_of`` wrote it."""
    stamp_text, _, record_id = after.partition(" ")
    stamp = parse_time(stamp_text)
    if len(after) > MAX_AFTER or stamp is None or not (record_id.isalnum() and record_id):
        raise PermanentError(f"salesforce: not a change-poll position: {after[:MAX_AFTER]!r}")
    return soql_datetime(stamp), record_id


def page_of(answer: dict[str, Any], fields: Sequence[str]) -> ChangedPage:
    """One ``queryAll`` page: live records changed, ``IsDeleted`` ones deleted; a full page
    continues after its last row's ``(SystemModstamp, Id)``, also as the ``resume`` kept with
    the cursor: a poll that stops at ``MAX_POLL_PAGES`` is continued there by the next one
    (from the mark less the overlap, more rows sharing a few seconds than a poll reads would
    be read again forever)."""
    rows = [r for r in answer.get("records") or [] if isinstance(r, dict)]
    records: list[CrmRecord] = []
    deleted: list[str] = []
    for row in rows:
        record = _record(row, fields)
        if record is None:
            continue
        if row.get("IsDeleted") is True:
            deleted.append(record.id)
        else:
            records.append(record)
    after = None
    if len(rows) >= PAGE:
        last = rows[-1]
        stamp = parse_time(last.get(MODIFIED))
        if stamp is not None and isinstance(last.get("Id"), str):
            after = f"{soql_datetime(stamp)} {last['Id']}"
    return ChangedPage(records, after, deleted, resume=after)


def changed_since(
    page: Page,
    api: str,
    object_name: str,
    since: datetime,
    fields: Sequence[str],
    after: str | None,
) -> ChangedPage:
    query = changes_query(object_name, fields, since, after)
    return page_of(page(f"{api}/queryAll?q={quote(query, safe='')}"), fields)
