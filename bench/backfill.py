"""A backfill benchmark run: N existing rows through a real ``manage.py backfill`` process.

The rows are inserted in one ``INSERT … SELECT generate_series`` before the table is captured
(so they are existing rows, with no live events). Then the system starts as in
``bench.pipeline`` (simulator with its rate limit raised, bridge, sync and push workers), and
``manage.py backfill bench-hubspot --where "t.id <= N"`` runs to its end. Throughput is N / (last
backfill ack - backfill start); memory and locks are watched by ``bench.monitor``.

With a live rate, a writer inserts new rows (ids above N, so outside the backfill) at that rate
while the backfill runs, and their commit-to-acknowledgement latency is measured as the
pipeline benchmark measures it.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import requests

from bench.monitor import LockPeaks, Watch, postgres_server_pid
from bench.pipeline import PipelineBench, scratch_database
from bench.stats import RunFigures, figures, timeline
from syncsvc.db import close_pools, connect
from syncsvc.errors import ConfigError
from syncsvc.processes import ProcessSet
from syncsvc.settings import load_settings

SEED = """
INSERT INTO demo.contacts (id, email, first_name, last_name, lifecycle_stage)
SELECT g, 'seed' || g || '@example.com', 'Seed', 'Row' || g, 'lead'
FROM generate_series(1, %(n)s) AS g
"""
LIVE = """
INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage)
SELECT 'live' || g || '.' || %(tag)s || '@example.com', 'Live', 'Row' || g, 'lead'
FROM generate_series(1, %(n)s) AS g RETURNING id
"""
LIVE_TICK = 0.05


@dataclass(frozen=True)
class BackfillFigures:
    records: int
    seconds: float
    """From the backfill process's start to the last backfill row's acknowledgement."""
    records_per_second: float
    first_ack_seconds: float
    """From the backfill process's start to its first row's acknowledgement."""
    rss_mb: dict[str, list[float]]
    cpu_seconds: dict[str, float]
    """CPU time each service used during the backfill (all its processes)."""
    locks: LockPeaks
    live: RunFigures | None


class BackfillBench(PipelineBench):
    def run_backfill(
        self,
        records: int,
        live_rate: float | None,
        page_size: int,
        max_backlog: int | None,
        bridge_batch_size: int | None = None,
    ) -> BackfillFigures:
        with scratch_database(self.server_url) as db_url:
            self._seed(db_url, records)
            env = self.env(db_url, chain_size=0)
            if bridge_batch_size:
                env["SYNCSVC_BRIDGE_BATCH_SIZE"] = str(bridge_batch_size)
            settings = load_settings(env)
            procs = ProcessSet(env, self.workdir / "logs" / f"backfill-{records}")
            try:
                sim_url = self.start_system(procs, settings)
                self.progress("backfill: warming up")
                self._drive(db_url, sim_url, 50, None, timeout=120)
                acks = AckLog(sim_url, records)
                writer = LiveWriter(db_url, live_rate) if live_rate else None
                args = ["backfill", f"bench-{self.provider}", "--where", f"t.id <= {records}"]
                args += ["--page-size", str(page_size)]
                if max_backlog:
                    args += ["--max-backlog", str(max_backlog)]
                services = {n: p.popen.pid for n, p in procs.procs.items()}
                postgres = postgres_server_pid(db_url)
                if postgres is not None:
                    services["postgres"] = postgres
                self.progress(
                    f"backfill: {records:,} rows"
                    + (f", live {live_rate:.0f}/s" if live_rate else "")
                )
                with Watch(db_url, services) as watch:
                    if writer:
                        writer.start()
                    started = time.time()
                    backfill = procs.start("backfill", *args)
                    watch.services["backfill"] = backfill.popen.pid
                    done = self._await_backfill(
                        procs, acks, records, timeout=max(600.0, records / 50)
                    )
                    if writer:
                        writer.stop()
                        acks.until(writer.committed, timeout=120)
                live = None
                if writer:
                    live = figures("live inserts during backfill", writer.committed, acks.first)
                    self._report_timeline(writer.committed, acks.first, started)
                return BackfillFigures(
                    records=records,
                    seconds=done - started,
                    records_per_second=records / max(done - started, 1e-6),
                    first_ack_seconds=min(acks.first[str(k)] for k in range(1, records + 1))
                    - started,
                    rss_mb=watch.rss.by_service(),
                    cpu_seconds=watch.rss.cpu_by_service(),
                    locks=watch.locks,
                    live=live,
                )
            finally:
                procs.stop_all()
                close_pools()

    def _report_timeline(
        self, committed: dict[str, float], acked: dict[str, float], started: float
    ) -> None:
        """The live latency per 5 s of the run, in the logs, and its three worst windows."""
        series = timeline(committed, acked)
        offset = min(committed.values()) - started
        path = self.workdir / "logs" / "live-latency.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [f"{offset + t:.0f},{n},{p99:.0f}" for t, n, p99 in series]
        path.write_text("seconds_after_backfill_start,records,p99_ms\n" + "\n".join(rows) + "\n")
        worst = sorted(series, key=lambda s: -s[2])[:3]
        self.progress(
            "live p99 by 5 s window, worst: "
            + ", ".join(
                f"{offset + t:.0f}–{offset + t + 5:.0f} s {p99:,.0f} ms" for t, _, p99 in worst
            )
        )

    @staticmethod
    def _seed(db_url: str, records: int) -> None:
        with connect(db_url) as db, db.transaction():
            db.execute(SEED, {"n": records})
            db.execute(
                "SELECT setval(pg_get_serial_sequence('demo.contacts', 'id'), %s)", (records,)
            )
        with connect(db_url, autocommit=True) as db:
            db.execute("VACUUM ANALYZE demo.contacts")

    def _await_backfill(
        self, procs: ProcessSet, acks: AckLog, records: int, timeout: float
    ) -> float:
        """The time of the last backfill row's acknowledgement, once all N arrived and the
        backfill process ended."""
        deadline = time.monotonic() + timeout
        reported = 0.0
        while time.monotonic() < deadline:
            acks.poll()
            got = acks.backfilled
            if time.monotonic() - reported > 10:
                reported = time.monotonic()
                self.progress(f"backfill: {got:,} of {records:,} acknowledged")
            if got >= records and not procs.alive("backfill"):
                return max(acks.first[str(k)] for k in range(1, records + 1))
            if not procs.alive("backfill") and procs.procs["backfill"].popen.returncode:
                raise ConfigError("backfill failed:\n" + procs.log_tail("backfill", 20))
            time.sleep(0.5)
        raise ConfigError(
            f"only {acks.backfilled} of {records} rows reached the simulator "
            f"in {timeout:.0f}s (logs: {self.workdir / 'logs'})"
        )


class AckLog:
    """The simulator's acknowledgements, first one per key, read incrementally; ``backfilled``
    counts the first acknowledgements of keys 1..``records`` (the backfill's rows)."""

    def __init__(self, sim_url: str, records: int) -> None:
        self.url = f"{sim_url}/_sim/acks"
        self.records = records
        self.http = requests.Session()
        head = self.http.get(self.url, params={"since": 0, "limit": 0}, timeout=30).json()
        self.since = int(head["last"])
        self.first: dict[str, float] = {}
        self.backfilled = 0

    def poll(self) -> None:
        while True:
            body = self.http.get(self.url, params={"since": self.since}, timeout=60).json()
            for ack in body["acks"]:
                key = str(ack["key"])
                if key not in self.first:
                    self.first[key] = float(ack["at"])
                    self.backfilled += key.isdigit() and int(key) <= self.records
                self.since = int(ack["seq"])
            if not body["acks"] or self.since >= int(body["last"]):
                return

    def until(self, keys: dict[str, float], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if all(k in self.first for k in keys):
                return
            time.sleep(0.2)
        missing = sum(1 for k in keys if k not in self.first)
        raise ConfigError(f"{missing} live records did not reach the simulator in {timeout:.0f}s")


class LiveWriter:
    """Inserts rows at ``rate`` per second in its own thread; ``committed`` maps id → commit.
    Every insert has its own tag: the emails stay unique (the CRM refuses a second contact
    with an email it holds)."""

    def __init__(self, db_url: str, rate: float) -> None:
        self.db_url = db_url
        self.rate = rate
        self.committed: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _loop(self) -> None:
        with connect(self.db_url, autocommit=True, application_name="syncsvc-bench-live") as db:
            started = time.monotonic()
            written = 0
            while not self._stop.is_set():
                due = int((time.monotonic() - started) * self.rate) - written
                if due > 0:
                    with db.transaction():
                        ids = db.execute(LIVE, {"tag": uuid.uuid4().hex, "n": due}).fetchall()
                    now = time.time()
                    for r in ids:
                        self.committed[str(r["id"])] = now
                    written += due
                self._stop.wait(LIVE_TICK)
