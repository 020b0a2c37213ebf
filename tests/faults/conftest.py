"""The fault suite's world: a private PostgreSQL and Redis it may kill, every CRM's simulator, and
the real bridge, workers and beat. Results go to a report (docs/reliability.md)."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from cryptography.fernet import Fernet

from providers.registry import provider_names
from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc import capture, migrate
from syncsvc.config.loader import load_config_file
from syncsvc.config.store import apply_config
from syncsvc.db import close_pools, connect
from syncsvc.demo import schema as demo_schema
from syncsvc.demo.system import DEMO_TABLES, example_pointed_at, example_sim_options
from syncsvc.processes import ProcessSet
from syncsvc.redisconn import client as redis_client
from syncsvc.settings import Settings, load_settings
from tasks import redelivery
from tests.faults.servers import PrivatePostgres, PrivateRedis
from tests.faults.workload import ChangeStream, Verdict, compare, expected_state
from tests.support.sim import SimControl
from tests.support.wait import wait_until

REPORT_ENV = "SYNCSVC_RELIABILITY_REPORT"


@dataclass
class FaultWorld:
    postgres: PrivatePostgres
    redis: PrivateRedis
    settings: Settings
    procs: ProcessSet
    sims: dict[str, tuple[SimServer, SimControl, dict[str, str]]]
    config_dir: Path
    results: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def db_url(self) -> str:
        return self.postgres.url

    def start_processes(self) -> None:
        self.procs.start("bridge", "bridge")
        self.procs.start("worker", "worker", "--sync", "--concurrency", "2")
        for name in self.sims:
            self.procs.start(f"push-{name}", "worker", "--push", name, "--concurrency", "4")
        self.procs.start("beat", "beat")

    def ensure_running(self) -> None:
        for name, proc in list(self.procs.procs.items()):
            if not self.procs.alive(name):
                self.procs.start(name, *proc.args)

    def child_pid(self, name: str) -> int:
        """The pid of the process a supervised command (``manage.py bridge``, ``worker``) runs."""
        pid = self.procs.procs[name].popen.pid

        def children() -> list[str] | None:
            found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            return found or None

        found = wait_until(children, 30, interval=0.1, message=f"{name} has no child process")
        assert len(found) == 1, found
        return int(found[0])

    def counts(self) -> dict[str, int]:
        with psycopg.connect(self.db_url, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM syncsvc.sync_event), "
                "(SELECT count(*) FROM syncsvc.outbox WHERE status = 'pending'), "
                "(SELECT count(*) FROM syncsvc.dead_letter)"
            ).fetchone()
        assert row is not None
        return {"events": row[0], "pending": row[1], "dead_letters": row[2]}

    def settled(self) -> dict[str, Verdict] | None:
        """The verdicts once nothing is pending and every CRM equals the database, else None."""
        try:
            counts = self.counts()
        except psycopg.Error:
            return None
        if counts["events"] or counts["pending"]:
            return None
        verdicts = compare(
            expected_state(self.db_url), {n: (s[1], s[2]) for n, s in self.sims.items()}
        )
        return verdicts if all(v.ok for v in verdicts.values()) else None

    def describe(self) -> str:
        try:
            counts = self.counts()
            verdicts = compare(
                expected_state(self.db_url), {n: (s[1], s[2]) for n, s in self.sims.items()}
            )
        except psycopg.Error as exc:
            return f"database unavailable: {exc}"
        lines = [f"{counts}"] + [f"{crm}: {v.summary()}" for crm, v in verdicts.items()]
        problems = {
            key.split(":")[1]
            for v in verdicts.values()
            for key in (v.lost + v.stale + v.extra + v.duplicates)[:8]
        }
        if problems:
            with psycopg.connect(self.db_url) as conn:
                rows = conn.execute(
                    "SELECT o.connection_id, o.object, o.record_key, o.op, o.version, "
                    "o.delivered_version, o.status, o.attempts, o.external_id, o.last_error "
                    "FROM syncsvc.outbox o WHERE o.record_key = ANY(%s) ORDER BY 3, 2",
                    (sorted(problems),),
                ).fetchall()
            lines += [f"outbox: {r}" for r in rows]
        logs = "\n".join(f"--- {n}\n{self.procs.log_tail(n, 12)}" for n in self.procs.procs)
        return "\n".join(lines) + "\n" + logs

    def unacked(self) -> dict[str, str]:
        """Every message delivered to a worker and not acknowledged yet: tag → routing key."""
        client = redis_client(self.redis.url)
        try:
            key = redelivery.Keys(self.settings.redis_prefix).unacked
            return {
                tag.decode(): str(json.loads(raw)[2]) for tag, raw in client.hgetall(key).items()
            }
        finally:
            client.close()

    def owners(self) -> dict[str, str]:
        """Which worker incarnation holds each unacknowledged message (``tasks.redelivery``)."""
        client = redis_client(self.redis.url)
        try:
            key = redelivery.Keys(self.settings.redis_prefix).owners
            return {t.decode(): o.decode() for t, o in client.hgetall(key).items()}
        finally:
            client.close()

    def broker_busy(self) -> int:
        """Chain and push messages queued or being worked on (delivered, not yet acknowledged).

        A re-dispatched duplicate chain can still be queued after its events were persisted;
        one that read rows before ``reset`` truncated them would write them into the next test.
        So "quiet" counts unacknowledged messages too, including those a killed worker held:
        the product hands them back as soon as the worker is restarted (``tasks.redelivery``),
        after which they run and are acknowledged like any other. Were that broken, they would
        sit in Redis for the visibility timeout (an hour) and ``reset`` would time out: the
        suite fails on the product's fault, not on luck (``test_a_killed_workers_messages_...``).
        """
        client = redis_client(self.redis.url)
        try:
            busy = 0
            for pattern in ("sync.*", "push.*"):
                for key in client.scan_iter(match=self.settings.redis_prefix + pattern):
                    if client.type(key) == b"list":
                        busy += int(client.llen(key))
        finally:
            client.close()
        return busy + sum(rk.startswith(("sync.", "push.")) for rk in self.unacked().values())

    def quiet(self) -> bool:
        counts = self.counts()
        return counts["events"] == 0 and counts["pending"] == 0 and self.broker_busy() == 0

    def reset(self, timeout: float = 240) -> None:
        """Empty tables and simulators, every connection configured again."""
        self.ensure_running()
        for _ in range(2):  # twice: a finishing chain step enqueues the next one
            wait_until(self.quiet, timeout, interval=0.25, message=self.describe)
            time.sleep(0.5)
        with connect(self.db_url, autocommit=True) as db:
            db.execute(
                "TRUNCATE demo.contacts, demo.companies, demo.deals, syncsvc.outbox, "
                "syncsvc.dead_letter, syncsvc.sync_event"
            )
            for _server, sim, _ in self.sims.values():
                sim.reset()
            for table in DEMO_TABLES:
                capture.add_capture(db, table, notify="throttled", throttle_ms=100)
        with connect(self.db_url) as db, db.transaction():
            for path in sorted(self.config_dir.glob("*.yaml")):
                apply_config(db, self.settings, load_config_file(path))


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultWorld]:
    base = tmp_path_factory.mktemp("faults")
    postgres = PrivatePostgres(base / "pg")
    redis = PrivateRedis(base)
    migrate.upgrade(postgres.url)
    with connect(postgres.url) as db, db.transaction():
        demo_schema.install(db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCSVC_")}
    env.update(
        DATABASE_URL=postgres.url,
        REDIS_URL=redis.url,
        SYNCSVC_SECRET_KEY=Fernet.generate_key().decode(),
        SYNCSVC_DATA_DIR=str(base / "data"),
        SYNCSVC_LEASE_SECONDS="20",
        SYNCSVC_HTTP_CONNECT_TIMEOUT="2",
        SYNCSVC_HTTP_READ_TIMEOUT="4",
        SYNCSVC_BRIDGE_REDISPATCH_SECONDS="15",
        SYNCSVC_SWEEP_INTERVAL_SECONDS="1",
        SYNCSVC_SWEEP_GRACE_SECONDS="3",
        SYNCSVC_LOG_LEVEL="WARNING",
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    )
    settings = load_settings(env)
    sims: dict[str, tuple[SimServer, SimControl, dict[str, str]]] = {}
    config_dir = base / "config"
    config_dir.mkdir()
    chosen = os.environ.get("SYNCSVC_FAULT_PROVIDERS")
    for name in chosen.split(",") if chosen else provider_names():
        server = SimServer(make_simulator(name, example_sim_options(name)), port=0).start()
        doc = example_pointed_at(name, server.url)
        objects = {
            r["source"]: r["object"]
            for r in doc["connections"][0]["rules"]
            if r["action"] == "upsert"
        }
        (config_dir / f"{name}.yaml").write_text(yaml.safe_dump(doc))
        sims[name] = (server, SimControl(server.url), objects)
    world = FaultWorld(postgres, redis, settings, ProcessSet(env, base / "logs"), sims, config_dir)
    world.start_processes()
    yield world
    world.procs.stop_all()
    close_pools()
    for server, _, _ in sims.values():
        server.stop()
    redis.kill()
    postgres.stop()
    _write_report(world.results, world.notes)


def _write_report(results: list[dict[str, Any]], notes: list[str]) -> None:
    """Write this process's results and, under a lock, the report of every fault-suite process
    of this run (pytest-xdist runs the fault modules in parallel, each with its own world)."""
    target = os.environ.get(REPORT_ENV)
    if not target or not results:
        return
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"serial-{os.getpid()}")
    parts = Path(tempfile.gettempdir()) / f"syncsvc-reliability-{run}"
    parts.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (parts / f"{worker}.json").write_text(json.dumps({"results": results, "notes": notes}))
    with (parts / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        every = [json.loads(p.read_text()) for p in sorted(parts.glob("*.json"))]
        report = _render(
            [r for part in every for r in part["results"]],
            [n for part in every for n in part["notes"]],
        )
        _write_between_markers(Path(target), report)


START, END = "<!-- fault suite: start -->", "<!-- fault suite: end -->"


def _write_between_markers(target: Path, report: str) -> None:
    """Replace the part of ``target`` between the markers (the rest is written by hand)."""
    text = target.read_text() if target.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + START + "\n" + report + END + rest.split(END, 1)[1]
    else:
        text = START + "\n" + report + END + "\n"
    target.write_text(text)


def _render(results: list[dict[str, Any]], notes: list[str]) -> str:
    command = os.environ.get("SYNCSVC_RELIABILITY_COMMAND", "make faults")
    lines = [
        "## The fault suite's last recorded run",
        "",
        "What the fault suite (`tests/faults/`) measured in its last recorded run: while inserts,",
        "updates and deletes flowed to every CRM simulator, each fault below happened; afterwards",
        "every record in every simulator was compared with the final database state.",
        "",
        f"Run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}, command: `{command}`",
        "",
        "| fault | changes written | changes during the fault | records checked | lost | stale "
        "| duplicates | time to recover |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['fault']} | {r['writes']} | {r['in_flight']} | {r['records']} | {r['lost']} "
            f"| {r['stale']} | {r['duplicates']} | {r['recover_seconds']:.1f} s |"
        )
    lines += [
        "",
        "*records checked* counts every (CRM, record) pair compared; *time to recover* runs from "
        "the end of the fault (or the kill) until nothing was pending and every CRM equalled the "
        "database. Recovery times include the safety nets' timers set for the suite: lease 20 s, "
        "re-dispatch after 15 s, sweeper every 1 s with 3 s grace, HTTP read timeout 4 s.",
        "",
        *(f"- {note}" for note in notes),
        "",
    ]
    return "\n".join(lines)


def record_result(
    world: FaultWorld, fault: str, writes: int, in_flight: int, verdicts: dict[str, Verdict],
    recovered_after: float,
) -> None:  # fmt: skip
    world.results.append(
        {
            "fault": fault,
            "writes": writes,
            "in_flight": in_flight,
            "records": sum(v.records for v in verdicts.values()),
            "lost": sum(len(v.lost) for v in verdicts.values()),
            "stale": sum(len(v.stale) + len(v.extra) for v in verdicts.values()),
            "duplicates": sum(len(v.duplicates) for v in verdicts.values()),
            "recover_seconds": recovered_after,
        }
    )


def now() -> float:
    return time.monotonic()


def all_sims(world: FaultWorld, mode: str, seconds: float, **extra: object) -> None:
    for _, sim, _ in world.sims.values():
        sim.fault(mode, seconds=seconds, **extra)


def run_fault(world: FaultWorld, name: str, inject: Callable[[], None]) -> None:
    world.reset()
    stream = ChangeStream(world.db_url).start()
    wait_until(lambda: stream.stats.writes >= 150, 60, message="the change stream did not start")
    started = now()
    stream.mark_window(started, float("inf"))
    inject()
    ended = now()
    stream.mark_window(started, ended)
    after = stream.stats.writes
    wait_until(lambda: stream.stats.writes >= after + 150, 120, message="the stream did not go on")
    stats = stream.finish()
    world.ensure_running()
    verdicts = wait_until(world.settled, 300, interval=1.0, message=world.describe)
    recovered = now() - ended
    assert world.counts()["dead_letters"] == 0, world.describe()
    record_result(world, name, stats.writes, stats.in_window, verdicts, recovered)
