"""The end-to-end stack: a HubSpot simulator plus the real bridge, workers and beat."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from providers.registry import provider_names
from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc import capture
from syncsvc.config.apply import apply_document
from syncsvc.config.loader import check_source_fields, load_config_file
from syncsvc.config.store import apply_config
from syncsvc.db import Row, connect
from syncsvc.demo import schema as demo_schema
from syncsvc.demo.system import example_sim_options
from syncsvc.processes import ProcessSet
from syncsvc.settings import Settings
from tests.support.sim import SimControl
from tests.support.wait import wait_until

DEMO_TABLES = demo_schema.TABLES


@pytest.fixture(scope="session")
def demo_tables(database_url: str) -> None:
    """The demo's tables, which most of these tests write to (the migrations do not create them)."""
    with connect(database_url) as db, db.transaction():
        demo_schema.install(db)


@pytest.fixture(scope="session")
def hubspot_server() -> Iterator[SimServer]:
    server = SimServer(make_simulator("hubspot", example_sim_options("hubspot")), port=0).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hubspot(hubspot_server: SimServer) -> SimControl:
    return SimControl(hubspot_server.url)


@pytest.fixture(scope="session")
def stack(
    service_env: dict[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProcessSet]:
    procs = ProcessSet(service_env, tmp_path_factory.mktemp("logs"))
    _RUNNING_STACKS.append(procs)
    procs.start("bridge", "bridge")
    procs.start("worker", "worker", "--sync", "--concurrency", "2")
    for name in provider_names():  # one push worker per CRM, as in the Procfile (I-4)
        procs.start(f"push-{name}", "worker", "--push", name, "--concurrency", "4")
    procs.start("beat", "beat")
    yield procs
    procs.stop_all()
    _RUNNING_STACKS.remove(procs)


_RUNNING_STACKS: list[ProcessSet] = []


@pytest.fixture
def stack_bridge_paused() -> Iterator[None]:
    """For tests that run their own in-process bridge: the shared stack's bridge (if a stack
    is running) would claim their events, so it is stopped meanwhile."""
    paused = [p for p in _RUNNING_STACKS if "bridge" in p.procs and p.alive("bridge")]
    for procs in paused:
        procs.stop("bridge")
    yield
    for procs in paused:
        procs.start("bridge", "bridge")


class Pipeline:
    """Test-side handle on the running system: configure it, write to it, wait for it."""

    def __init__(self, settings: Settings, procs: ProcessSet, tmp: Path) -> None:
        self.settings = settings
        self.procs = procs
        self.tmp = tmp
        self.db = connect(settings.db_url, autocommit=True)

    def apply(self, config: dict[str, Any]) -> None:
        path = self.tmp / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        doc = load_config_file(path)
        assert check_source_fields(doc, self.settings.internal_schema_dirs) == []
        with connect(self.settings.db_url) as db, db.transaction():
            apply_config(db, self.settings, doc)

    def apply_as_user(self, config: dict[str, Any]) -> None:
        """What ``manage.py config apply`` does: the CRM is asked for its field definitions,
        the mappings are checked against them and the definitions cached."""
        path = self.tmp / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        apply_document(load_config_file(path), self.settings, strict=True)

    def idle(self) -> bool:
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM syncsvc.sync_event) AS events, "
            "(SELECT count(*) FROM syncsvc.outbox WHERE status = 'pending') AS pending"
        ).fetchone()
        assert row is not None
        return row["events"] == 0 and row["pending"] == 0

    def wait_idle(self, timeout: float = 60) -> None:
        wait_until(self.idle, timeout, message=self.describe)

    def describe(self) -> str:
        rows = self.db.execute(
            "SELECT status, count(*) AS n, max(last_error) AS err FROM syncsvc.outbox GROUP BY status"
        ).fetchall()
        events = self.db.execute("SELECT count(*) AS n FROM syncsvc.sync_event").fetchone()
        letters = [
            (d["record_key"], d["stage"], d["field"], d["reason"][:80]) for d in self.dead_letters()
        ]
        logs = "\n".join(f"--- {n}\n{self.procs.log_tail(n, 15)}" for n in self.procs.procs)
        return f"outbox={rows} events={events} dead_letters={letters}\n{logs}"

    def in_flight(self) -> bool:
        """A chain (its events not yet persisted) or a push (a leased row) is under way."""
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM syncsvc.sync_event) AS events, "
            "(SELECT count(*) FROM syncsvc.outbox WHERE lease_until > now()) AS leased"
        ).fetchone()
        assert row is not None
        return bool(row["events"] or row["leased"])

    def reset(self) -> None:
        """Let in-flight work finish, then start from empty tables and no config. Rows a test
        left waiting (a rate limit or a budget it ran into, a paused connection) are not in
        flight: they go with their connection."""
        wait_until(lambda: not self.in_flight(), 90, message=self.describe)
        self.db.execute(
            "TRUNCATE demo.contacts, demo.companies, demo.deals, syncsvc.outbox, "
            "syncsvc.dead_letter, syncsvc.sync_event, syncsvc.sync_log"
        )
        self.db.execute("DELETE FROM syncsvc.connection")
        self.db.execute("UPDATE syncsvc.config_state SET generation = generation + 1")
        for table in DEMO_TABLES:
            capture.add_capture(self.db, table, notify="always")

    def dead_letters(self) -> list[Row]:
        return self.db.execute("SELECT * FROM syncsvc.dead_letter ORDER BY id").fetchall()

    def close(self) -> None:
        self.db.close()


@pytest.fixture
def pipeline(
    settings: Settings, stack: ProcessSet, tmp_path: Path, hubspot: SimControl, demo_tables: None
) -> Iterator[Pipeline]:
    p = Pipeline(settings, stack, tmp_path)
    p.reset()
    hubspot.reset()
    yield p
    p.close()


def execute(db: psycopg.Connection[Row], query: str, *params: Any) -> list[Row]:
    cur = db.execute(query, params)
    return cur.fetchall() if cur.description else []
