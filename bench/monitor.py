"""What a benchmark run watches beside the records: processes' peak memory, PostgreSQL's locks.

Peak memory is each process's own high-water mark of resident memory (``VmHWM`` in
``/proc/<pid>/status``), read every second for every process in the tree of each started
service, so a prefork child that exits before the end is still counted.

Locks are sampled every 100 ms from PostgreSQL itself: ``pg_locks.waitstart`` (when a backend
began waiting for a lock it has not been granted) gives the longest lock wait seen, and
``pg_stat_activity.xact_start`` of every open transaction gives the longest transaction, the
upper bound of how long any lock was held (row and advisory locks last until commit). Waits and
transactions shorter than the sampling interval can be missed; the longest ones cannot.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from syncsvc.db import Row, connect

PROC = Path("/proc")
RSS_INTERVAL = 1.0
LOCK_INTERVAL = 0.1
TICKS = os.sysconf("SC_CLK_TCK")

_HWM = re.compile(r"^VmHWM:\s+(\d+)\s+kB", re.MULTILINE)
_NAME = re.compile(r"^Name:\s+(\S+)", re.MULTILINE)

LOCK_WAITS = """
SELECT a.application_name AS app, l.locktype, l.mode,
       extract(epoch FROM now() - l.waitstart)::float8 AS seconds
FROM pg_locks AS l JOIN pg_stat_activity AS a USING (pid)
WHERE NOT l.granted AND l.waitstart IS NOT NULL AND a.datname = current_database()
"""

OPEN_TRANSACTIONS = """
SELECT application_name AS app, extract(epoch FROM now() - xact_start)::float8 AS seconds
FROM pg_stat_activity
WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
  AND backend_type = 'client backend'
"""


def vm_hwm_kb(status: str) -> int | None:
    """The ``VmHWM`` (peak resident set) of a ``/proc/<pid>/status`` text, in kB."""
    found = _HWM.search(status)
    return int(found.group(1)) if found else None


def parent_pid(stat: str) -> int | None:
    """The parent pid in a ``/proc/<pid>/stat`` text (the command may hold spaces and ``)``)."""
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 else None


def cpu_seconds(stat: str, ticks_per_second: int) -> float:
    """User + system CPU time of a ``/proc/<pid>/stat`` text (fields 14 and 15), in seconds."""
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / ticks_per_second


def descendants(root: int, parents: dict[int, int]) -> set[int]:
    """``root`` and every process below it, from a ``{pid: parent pid}`` map."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def _parents() -> dict[int, int]:
    parents = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                parent = parent_pid((entry / "stat").read_text())
            except OSError:
                continue
            if parent is not None:
                parents[int(entry.name)] = parent
    return parents


@dataclass
class PeakRss:
    """Peak resident memory per process: ``{(service, pid): (process name, MB)}``, and the CPU
    seconds each process had used when last seen (a process that exits keeps its last figure)."""

    peaks: dict[tuple[str, int], tuple[str, float]] = field(default_factory=dict)
    cpu: dict[tuple[str, int], float] = field(default_factory=dict)
    baseline: dict[tuple[str, int], float] = field(default_factory=dict)
    """CPU seconds at the first sample (``restart_cpu``): what the run used is the difference."""

    def sample(self, services: dict[str, int]) -> None:
        parents = _parents()
        for service, root in list(services.items()):
            for pid in descendants(root, parents):
                try:
                    status = (PROC / str(pid) / "status").read_text()
                    stat = (PROC / str(pid) / "stat").read_text()
                except OSError:
                    continue
                self.cpu[(service, pid)] = cpu_seconds(stat, TICKS)
                kb = vm_hwm_kb(status)
                name = _NAME.search(status)
                if kb is not None:
                    old = self.peaks.get((service, pid), ("", 0.0))[1]
                    label = name.group(1) if name else "?"
                    self.peaks[(service, pid)] = (label, max(old, kb / 1024))

    def restart_cpu(self) -> None:
        """Count CPU time from now on (what the processes used before is left out)."""
        self.baseline = dict(self.cpu)

    def cpu_by_service(self) -> dict[str, float]:
        """CPU seconds each service's processes used since ``restart_cpu``."""
        out: dict[str, float] = {}
        for key, seconds in self.cpu.items():
            out[key[0]] = out.get(key[0], 0.0) + seconds - self.baseline.get(key, 0.0)
        return dict(sorted(out.items()))

    def by_service(self) -> dict[str, list[float]]:
        """Each service's processes' peaks, largest first."""
        out: dict[str, list[float]] = {}
        for (service, _pid), (_name, mb) in self.peaks.items():
            out.setdefault(service, []).append(mb)
        return {s: sorted(v, reverse=True) for s, v in sorted(out.items())}


@dataclass
class LockPeaks:
    """The longest lock wait and the longest open transaction seen, per application."""

    waits: dict[str, tuple[float, str]] = field(default_factory=dict)
    """``{application: (seconds, "locktype mode")}``"""
    transactions: dict[str, float] = field(default_factory=dict)
    samples: int = 0
    samples_with_waits: int = 0

    def add(self, waits: Iterable[Row], transactions: Iterable[Row]) -> None:
        self.samples += 1
        waited = False
        for w in waits:
            waited = True
            app = str(w["app"] or "?")
            seconds = float(w["seconds"])
            if seconds > self.waits.get(app, (-1.0, ""))[0]:
                self.waits[app] = (seconds, f"{w['locktype']} {w['mode']}")
        self.samples_with_waits += waited
        for t in transactions:
            app = str(t["app"] or "?")
            self.transactions[app] = max(self.transactions.get(app, 0.0), float(t["seconds"]))

    @property
    def longest_wait(self) -> float:
        return max((s for s, _ in self.waits.values()), default=0.0)

    @property
    def longest_transaction(self) -> float:
        return max(self.transactions.values(), default=0.0)


def postgres_server_pid(db_url: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine (its backends are
    its children): the parent of this connection's backend."""
    with connect(db_url, autocommit=True, application_name="syncsvc-bench") as db:
        row = db.execute("SELECT pg_backend_pid() AS pid").fetchone()
    try:
        return parent_pid((PROC / str(row["pid"] if row else 0) / "stat").read_text())
    except OSError:
        return None


class Watch:
    """Samples memory and locks in two threads until ``stop``."""

    def __init__(self, db_url: str, services: dict[str, int]) -> None:
        self.db_url = db_url
        self.services = services
        self.rss = PeakRss()
        self.locks = LockPeaks()
        self.error: str | None = None
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._rss_loop, daemon=True),
            threading.Thread(target=self._lock_loop, daemon=True),
        ]

    def __enter__(self) -> Watch:
        self.rss.sample(self.services)
        self.rss.restart_cpu()
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)
        self.rss.sample(self.services)

    def _rss_loop(self) -> None:
        while not self._stop.wait(RSS_INTERVAL):
            self.rss.sample(self.services)

    def _lock_loop(self) -> None:
        try:
            with connect(self.db_url, autocommit=True, application_name="syncsvc-bench") as db:
                for _ in self._ticks():
                    waits = db.execute(LOCK_WAITS).fetchall()
                    transactions = db.execute(OPEN_TRANSACTIONS).fetchall()
                    self.locks.add(waits, transactions)
        except psycopg.Error as exc:
            self.error = type(exc).__name__

    def _ticks(self) -> Iterator[None]:
        while not self._stop.wait(LOCK_INTERVAL):
            yield None
