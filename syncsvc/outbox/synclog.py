"""The per-record sync log: one row per outcome of a delivery attempt, read back per record.

``record`` writes the entries of one push call with one INSERT, in the transaction that settles
the outbox rows (``syncsvc.push.deliver``), so the log never says more or less than the outbox.
What an entry holds: the version and op that were sent, the outcome (``status``), the CRM's id
for the record, the HTTP status where the CRM's answer names one, the CRM's error code and
message (scrubbed of secrets, at most ``MAX_MESSAGE`` characters), how long the CRM call took
and which attempt it was. ``syncsvc.retention`` prunes it.

Statuses:

- ``delivered``: the CRM took this version;
- ``retry``: a failure that may go away (timeout, 5xx): the row goes again after a backoff;
- ``wait``: a rate limit (the CRM's 429, or our own window full): not a failed attempt;
- ``dead``: a permanent failure (or the last attempt failed): the version is in ``dead_letter``.
"""

from __future__ import annotations

import re
from typing import TypedDict

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.db import Row
from syncsvc.errors import PermanentError, SyncError
from syncsvc.scrub import scrub

MAX_MESSAGE = 1000
"""Characters of a CRM error message kept in the log (the rest is cut off, marked ``…``)."""

INSERT_LOG = """
INSERT INTO syncsvc.sync_log
    (connection_id, object, record_key, version, op, status, external_id, http_status,
     error_code, error_message, duration_ms, attempt)
SELECT %(connection_id)s, e.object, e.record_key, e.version, e.op, e.status, e.external_id,
       e.http_status, e.error_code, e.error_message, e.duration_ms, e.attempt
FROM jsonb_to_recordset(%(entries)s) AS e(object text, record_key text,
                                          version bigint, op text, status text,
                                          external_id text, http_status smallint,
                                          error_code text, error_message text,
                                          duration_ms integer, attempt integer)
"""

# Newest first; ``before`` pages back (an entry's id). Served by ix_sync_log_record.
HISTORY = """
SELECT l.id, l.object, l.record_key, l.version, l.op, l.status, l.external_id,
       l.http_status, l.error_code, l.error_message, l.duration_ms, l.attempt, l.at
FROM syncsvc.sync_log l
WHERE l.connection_id = %(connection_id)s AND l.record_key = %(record_key)s
  AND (%(before)s::bigint IS NULL OR l.id < %(before)s::bigint)
  AND (%(object)s::text IS NULL OR l.object = %(object)s::text)
ORDER BY l.id DESC
LIMIT %(limit)s
"""


class LogEntry(TypedDict):
    """One outcome of one record in one push call."""

    object: str
    record_key: str
    version: int
    op: str
    status: str
    external_id: str | None
    http_status: int | None
    error_code: str | None
    error_message: str | None
    duration_ms: int | None
    attempt: int


_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


def clip(text: str | None, limit: int = MAX_MESSAGE) -> str | None:
    """Scrubbed (``syncsvc.scrub``) and at most ``limit`` characters (NUL characters dropped:
    PostgreSQL refuses them in text)."""
    if text is None:
        return None
    text = scrub(text.replace("\x00", ""))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def http_status_of(error: SyncError) -> int | None:
    """The HTTP status the CRM answered with, where the error names one.

    Every provider's errors begin ``<crm>: HTTP <status> …`` for answers with a status; errors
    without one (timeouts, our own rate limit, a per-record error inside a 2xx batch answer)
    give None.
    """
    status = getattr(error, "http_status", None)
    if isinstance(status, int):
        return status
    match = _HTTP_STATUS.search(str(error))
    return int(match.group(1)) if match else None


def error_code_of(error: SyncError) -> str | None:
    """The CRM's error code (``PermanentError.code``, or a ``code`` another error carries)."""
    if isinstance(error, PermanentError) and error.code:
        return clip(error.code, 200)
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        return clip(code, 200)
    return None


def record(db: psycopg.Connection[Row], connection_id: int, entries: list[LogEntry]) -> None:
    """Write ``entries`` (one push call's outcomes) with one statement, in the caller's
    transaction."""
    if entries:
        db.execute(INSERT_LOG, {"connection_id": connection_id, "entries": Jsonb(entries)})


def history(
    db: psycopg.Connection[Row],
    connection_id: int,
    record_key: str,
    limit: int,
    before: int | None = None,
    obj: str | None = None,
) -> list[Row]:
    """The record's log entries at ``connection_id``, newest first, at most ``limit``; with
    ``before`` only entries older than that entry id; ``obj`` None: any CRM object."""
    return db.execute(
        HISTORY,
        {
            "connection_id": connection_id,
            "record_key": record_key,
            "before": before,
            "object": obj,
            "limit": limit,
        },
    ).fetchall()
