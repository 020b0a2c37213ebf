"""The deletes poll, for CRMs whose change list leaves deleted records out (HubSpot's search,
Pipedrive's v2 lists): their clients list deletions apart (``ProviderClient.deleted_since``), and
each object has a cursor row of its own for them, ``~deleted:<object>``, written in the
transaction that stores the delete events it read (so a restart resumes from it).

A *pass* reads the CRM's list of deleted records from its first page to its last and reports
the records deleted at or after ``since``: the row's high-water mark less ``POLL_OVERLAP`` (the
first pass, with no mark, looks back ``FIRST_POLL_LOOKBACK``). The mark is a deletion time on
the CRM's clock (HubSpot's ``archivedAt``, Pipedrive's ``update_time``) and trails one pass:
when a pass ends, the mark becomes the newest deletion time the pass *before* it saw. A record
deleted while a pass runs may sit on a page the pass has read already; it is newer than every
record deleted before that pass began, so the next pass, which starts from the mark the last
one-but-one pass saw, still reports it. Reporting a deletion again is harmless: its event key
(object, id, deletion time) is stored once, and applying a deletion twice changes nothing the
second time.

Cost. HubSpot's list runs by id, not by ``archivedAt``, and has no filter: every pass reads the
whole recycle bin (what was archived in the last 90 days), 100 records a GET — 5,000 archived
contacts are 50 calls a pass. Pipedrive's ``recents`` is filtered and ordered by time: a pass
reads the changes since the mark (500 a page, 20 tokens each). Passes run every
``deletes_poll_seconds`` (by default ``poll_seconds``; raise it where the bin is large); one
beat tick reads at most ``MAX_PAGES`` pages of a pass and the next tick goes on from the page
kept in the cursor row's token, so no tick holds the row (and beat) for long.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from providers.base import DeletedRecord, ProviderClient
from syncsvc.config.runtime import RuntimeConnection
from syncsvc.inbound import events
from syncsvc.inbound.run import FIRST_POLL_LOOKBACK, POLL_OVERLAP, Transaction

MAX_PAGES = 20
"""Pages of a pass one beat tick reads (HubSpot: 2,000 archived records)."""


def cursor_name(obj: str) -> str:
    """Not an object name (objects are identifiers): the row holding ``obj``'s deletes poll."""
    return f"~deleted:{obj}"


def event_key(obj: str, gone: DeletedRecord) -> str:
    """One deletion of one record (a record restored and deleted again is a new one)."""
    stamp = gone.deleted_at
    millis = int(stamp.timestamp() * 1000) if stamp else 0
    return f"poll:{obj}:{gone.id}:deleted:{millis}"


def _stamp(raw: Any) -> datetime | None:
    return datetime.fromisoformat(raw) if isinstance(raw, str) and raw else None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


@dataclass
class Progress:
    """What the cursor row's token keeps between ticks."""

    seen: datetime | None = None
    """The newest deletion time the last finished pass saw: the mark once the next one ends."""
    page: str | None = None
    """Where the pass under way goes on, due at the next tick (None: no pass is under way)."""
    pass_seen: datetime | None = None
    """The newest deletion time the pass under way has seen so far."""

    @classmethod
    def load(cls, token: str | None) -> Progress:
        data = json.loads(token) if token else {}
        if not isinstance(data, dict):
            return cls()
        return cls(
            seen=_stamp(data.get("seen")),
            page=data.get("page"),
            pass_seen=_stamp(data.get("pass_seen")),
        )

    def dump(self) -> str:
        data = {
            "seen": self.seen.isoformat() if self.seen else None,
            "page": self.page,
            "pass_seen": self.pass_seen.isoformat() if self.pass_seen else None,
        }
        return json.dumps(data, separators=(",", ":"))


def poll(
    transaction: Transaction,
    conn: RuntimeConnection,
    client: ProviderClient,
    now: datetime,
    max_pages: int = MAX_PAGES,
) -> int:
    """Store the deletions of each object whose deletes poll is due (a pass under way always
    is); returns how many events were new."""
    assert conn.inbound is not None
    every = conn.inbound.deletes_every
    if not type(client).DELETES_POLL or not every:
        return 0
    new = 0
    for name in conn.inbound.objects:
        with transaction() as db:
            cursor = events.read_cursor(db, conn.id, cursor_name(name))
            progress = Progress.load(cursor.token)
            due = progress.page is not None or (
                cursor.updated_at is None or now - cursor.updated_at >= timedelta(seconds=every)
            )
            if not due:
                continue
            mark = cursor.high_water or now - FIRST_POLL_LOOKBACK
            since = mark - POLL_OVERLAP
            reported: list[events.Reported] = []
            for _ in range(max_pages):
                page = client.deleted_since(name, since, progress.page)
                for gone in page.records:
                    if gone.deleted_at is not None and gone.deleted_at < since:
                        continue
                    key = event_key(name, gone)
                    reported.append(events.Reported(name, gone.id, key, "delete", None))
                    progress.pass_seen = _later(progress.pass_seen, gone.deleted_at)
                progress.pass_seen = _later(progress.pass_seen, page.reached)
                progress.page = page.after
                if page.after is None:
                    break
            new += events.store(db, conn.id, "poll", reported)
            if progress.page is None:  # the pass ended: the mark moves to the one before's
                mark = progress.seen or mark
                progress.seen = _later(progress.seen, progress.pass_seen)
                progress.pass_seen = None
            events.write_cursor(db, conn.id, cursor_name(name), mark, progress.dump())
    return new
