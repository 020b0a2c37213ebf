"""How a backfill looks in a terminal: a live progress bar, a plain line when not a terminal,
and the table of ``backfill list`` / ``status``."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from syncsvc.backfill.runner import Update
from syncsvc.backfill.store import Progress as BackfillProgress

PLAIN_EVERY_SECONDS = 2.0


class ProgressView:
    """Two bars per backfill: rows read, and records settled (pushed or failed) with rate and
    ETA; the counts beside them. Without a terminal: one line every two seconds."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not self.live,
        )
        self._tasks: dict[int, tuple[TaskID, TaskID]] = {}
        self._started: dict[int, tuple[float, int]] = {}
        self._printed = 0.0

    def __enter__(self) -> ProgressView:
        self.bars.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bars.__exit__(kind, exc, tb)

    def _rate(self, p: BackfillProgress) -> str:
        start = self._started.setdefault(p.id, (time.monotonic(), p.pushed + p.failed))
        seconds = time.monotonic() - start[0]
        if seconds < 1:
            return ""
        return f"{(p.pushed + p.failed - start[1]) / seconds:,.0f} rec/s"

    def update(self, u: Update) -> None:
        p = u.progress
        total = max(u.total or 0, p.rows_read) or None
        if u.holding is not None:
            state = f"holding: {u.holding:,} records wait at the connection"
        else:
            state = "reading" if p.reading else "waiting for delivery"
        if p.state != "running":
            state = p.state
        detail = f"queued {p.queued:,}  pushed {p.pushed:,}  failed {p.failed:,}  ({state})"
        if p.id not in self._tasks:
            label = f"backfill {p.id} {p.connection} {p.source_table}"
            read = self.bars.add_task(f"{label} read", total=total, detail="", rate="")
            sent = self.bars.add_task(f"{label} sent", total=total, detail="", rate="")
            self._tasks[p.id] = (read, sent)
        read, sent = self._tasks[p.id]
        self.bars.update(read, completed=p.rows_read, total=total, detail=f"pages {p.pages:,}")
        self.bars.update(
            sent, completed=p.pushed + p.failed, total=total, detail=detail, rate=self._rate(p)
        )
        now = time.monotonic()
        if not self.live and (now - self._printed >= PLAIN_EVERY_SECONDS or p.state != "running"):
            self._printed = now
            of = f"/{total:,}" if total else ""
            self.console.print(
                f"backfill {p.id}: read {p.rows_read:,}{of} in {p.pages:,} pages, {detail} "
                f"{self._rate(p)}",
                highlight=False,
                soft_wrap=True,
            )


def backfill_table(rows: list[BackfillProgress], title: str = "backfills") -> Table:
    table = Table(
        "id", "connection", "table", "rule", "state", "read", "queued", "pushed", "failed",
        "started", "updated", "process", title=title,
    )  # fmt: skip
    for p in rows:
        state = p.state + (" (reading)" if p.state == "running" and p.reading else "")
        table.add_row(
            str(p.id),
            p.connection,
            p.source_table,
            p.rule_name or "(all)",
            state,
            f"{p.rows_read:,}",
            f"{p.queued:,}",
            f"{p.pushed:,}",
            f"{p.failed:,}",
            f"{p.started_at:%Y-%m-%d %H:%M:%S}",
            f"{p.updated_at:%H:%M:%S}",
            f"{p.pid}@{p.host}" if p.pid else "-",
        )
    return table
