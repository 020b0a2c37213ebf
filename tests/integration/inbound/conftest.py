"""An inbound world of a test module's own: its database, a private Redis it may flush and
restart, a HubSpot simulator whose webhooks reach its API, and every process of the service
(bridge, workers, beat, API), which it may kill and start again."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from psycopg import sql

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc import capture
from syncsvc.config.loader import check_source_fields, load_config_file
from syncsvc.config.store import apply_config
from syncsvc.db import Row, connect
from syncsvc.demo import schema as demo_schema
from syncsvc.demo.system import example_sim_options
from syncsvc.processes import ProcessSet
from syncsvc.settings import Settings, load_settings
from tests.faults.servers import PrivateRedis, free_port
from tests.support.databases import migrated_database
from tests.support.inbound import contacts_config, inbound_statuses
from tests.support.servers import TestServers
from tests.support.sim import SimControl
from tests.support.wait import wait_until

SECRET = "inbound-world-app-secret"
CONNECTION = "hs-inbound"
ORIGIN = f"inbound:{CONNECTION}"

# Every write to demo.contacts, with the origin the writing transaction declared: the tests
# count the inbound path's writes (and anything else that writes) row by row.
WRITE_LOG = """
CREATE SCHEMA IF NOT EXISTS inbound_test;
CREATE TABLE IF NOT EXISTS inbound_test.writes (
    n bigserial PRIMARY KEY,
    op text NOT NULL,
    row_id integer NOT NULL,
    email text,
    first_name text,
    last_name text,
    origin text,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE OR REPLACE FUNCTION inbound_test.log_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r demo.contacts;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    INSERT INTO inbound_test.writes (op, row_id, email, first_name, last_name, origin)
    VALUES (TG_OP, r.id, r.email, r.first_name, r.last_name,
            nullif(current_setting('syncsvc.origin', true), ''));
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS log_write ON demo.contacts;
CREATE TRIGGER log_write AFTER INSERT OR UPDATE OR DELETE ON demo.contacts
    FOR EACH ROW EXECUTE FUNCTION inbound_test.log_write();
"""


def connection_config(
    base_url: str,
    conflict: str = "internal_wins",
    poll_seconds: int = 0,
    inbound_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """hs-inbound: demo.contacts pushed to HubSpot contacts, and HubSpot's edits coming back."""
    return contacts_config(
        connection=CONNECTION,
        provider="hubspot",
        base_url=base_url,
        credentials={"access_token": "demo-token", "webhook_secret": SECRET},
        obj="contacts",
        key_field="syncsvc_id",
        outbound=[
            {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"]},
            {"source": "email", "target": "email"},
            {"source": "first_name", "target": "firstname"},
            {"source": "last_name", "target": "lastname"},
        ],
        inbound=[
            {"source": "email", "target": "email"},
            {"source": "firstname", "target": "first_name"},
            {"source": "lastname", "target": "last_name"},
        ],
        webhooks=True,
        poll_seconds=poll_seconds,
        inbound_settings={"conflict": conflict},
        inbound_object=inbound_extra,
    )


class InboundWorld:
    def __init__(
        self,
        db_url: str,
        redis: PrivateRedis,
        sim: SimServer,
        env: dict[str, str],
        log_dir: Path,
    ) -> None:
        self.redis = redis
        self.sim_server = sim
        self.hubspot = SimControl(sim.url)
        self.env = env
        self.settings: Settings = load_settings(env)
        self.procs = ProcessSet(env, log_dir)
        self.tmp = log_dir
        self.db = connect(db_url, autocommit=True)
        self.api_port, self.ops_port = free_port(), free_port()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        self.procs.start("bridge", "bridge")
        self.procs.start("worker", "worker", "--sync", "--concurrency", "2")
        self.procs.start("push-hubspot", "worker", "--push", "hubspot", "--concurrency", "4")
        self.procs.start("beat", "beat")
        self.procs.start(
            "api", "api", "--bind", f"127.0.0.1:{self.api_port}",
            "--ops-bind", f"127.0.0.1:{self.ops_port}", "--workers", "1", "--threads", "4",
        )  # fmt: skip
        wait_until(self._api_answers, 60, message=lambda: self.procs.log_tail("api"))

    def _api_answers(self) -> bool:
        try:
            answer = requests.get(f"{self.api_url}/healthz", timeout=2)
        except requests.ConnectionError:
            return False
        return answer.status_code == 200

    def pause(self, name: str) -> None:
        self.procs.stop(name)

    def resume(self, name: str) -> None:
        self.procs.start(name, *self.procs.procs[name].args)

    def kill_all(self) -> None:
        for name in list(self.procs.procs):
            self.procs.kill(name, signal.SIGKILL)

    def apply(self, config: dict[str, Any]) -> None:
        path = self.tmp / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        doc = load_config_file(path)
        assert check_source_fields(doc, self.settings.internal_schema_dirs) == []
        with connect(self.settings.db_url) as db, db.transaction():
            apply_config(db, self.settings, doc)
        self.hubspot.configure(
            webhook_url=f"{self.api_url}/v1/inbound/{CONNECTION}", webhook_secret=SECRET
        )

    def reset(self) -> None:
        """No config, no rows, no events; the simulator empty (its webhooks off until
        ``apply``)."""
        self.hubspot.configure(webhook_url="", webhook_secret="")
        self.db.execute("DELETE FROM syncsvc.connection")
        self.db.execute("UPDATE syncsvc.config_state SET generation = generation + 1")
        self.db.execute(
            "TRUNCATE demo.contacts, syncsvc.outbox, syncsvc.dead_letter, syncsvc.sync_event, "
            "syncsvc.sync_log, syncsvc.inbound_event, syncsvc.inbound_link, "
            "syncsvc.inbound_cursor, inbound_test.writes"
        )
        self.hubspot.reset()

    def sim_edit(self, action: str, **body: Any) -> dict[str, Any]:
        resp = requests.post(
            f"{self.hubspot.base_url}/_sim/edit",
            json={"object": "contacts", "action": action, **body},
            timeout=10,
        )
        resp.raise_for_status()
        return resp.json() if resp.content else {}

    def crm_contacts(self) -> dict[str, dict[str, Any]]:
        """HubSpot's contacts by id: their properties."""
        return {r["id"]: r["properties"] for r in self.hubspot.records("contacts")}

    def rows(self) -> dict[int, Row]:
        return {r["id"]: r for r in self.db.execute("SELECT * FROM demo.contacts")}

    def writes(self, origin: str | None = ORIGIN) -> list[Row]:
        where = sql.SQL("origin IS NULL") if origin is None else sql.SQL("origin = %(o)s")
        query = sql.SQL("SELECT * FROM inbound_test.writes WHERE {} ORDER BY n").format(where)
        return self.db.execute(query, {"o": origin}).fetchall()

    def inbound_statuses(self) -> dict[str, int]:
        return inbound_statuses(self)

    def quiet(self) -> bool:
        """Nothing waits: no captured event, no pending outbox row, no received CRM event."""
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM syncsvc.sync_event) AS events, "
            "(SELECT count(*) FROM syncsvc.outbox WHERE status = 'pending') AS pending, "
            "(SELECT count(*) FROM syncsvc.inbound_event WHERE status = 'received') AS inbound"
        ).fetchone()
        assert row is not None
        return row["events"] == 0 and row["pending"] == 0 and row["inbound"] == 0

    def describe(self) -> str:
        outbox = self.db.execute(
            "SELECT status, count(*) AS n, max(last_error) AS err FROM syncsvc.outbox "
            "GROUP BY status"
        ).fetchall()
        failed = self.db.execute(
            "SELECT crm_id, detail FROM syncsvc.inbound_event WHERE status = 'failed' LIMIT 5"
        ).fetchall()
        logs = "\n".join(f"--- {n}\n{self.procs.log_tail(n, 15)}" for n in self.procs.procs)
        return f"outbox={outbox} inbound={self.inbound_statuses()} failed={failed}\n{logs}"

    def close(self) -> None:
        self.procs.stop_all()
        self.db.close()


@pytest.fixture(scope="module")
def world(
    test_servers: TestServers,
    service_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[InboundWorld]:
    work = tmp_path_factory.mktemp("inbound-world")
    redis = PrivateRedis(work)
    sim = SimServer(make_simulator("hubspot", example_sim_options("hubspot")), port=0).start()
    try:
        with migrated_database(test_servers) as db_url:
            with connect(db_url) as db, db.transaction():
                demo_schema.install(db)
                for table in demo_schema.TABLES:
                    capture.add_capture(db, table, notify="always")
                db.execute(WRITE_LOG)
            env = {
                **service_env,
                "DATABASE_URL": db_url,
                "REDIS_URL": redis.url,
                "SYNCSVC_INBOUND_TICK_SECONDS": "1",
                "SYNCSVC_API_UNAUTHENTICATED_RATE_LIMIT": "1000000/minute",
            }
            inbound = InboundWorld(db_url, redis, sim, env, work / "logs")
            try:
                inbound.start()
                yield inbound
            finally:
                inbound.close()
    finally:
        sim.stop()
        redis.kill()
