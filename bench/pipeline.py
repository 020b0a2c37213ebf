"""One benchmark run: a private database, a simulator and the real processes, N changes through.

Latency is measured from the writer's commit to the simulator's acknowledgement of the write
(both wall clocks on this machine); throughput is records / (last ack - first commit).
"""

from __future__ import annotations

import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import requests
import yaml
from cryptography.fernet import Fernet
from psycopg import sql

from bench.stats import RunFigures, figures
from syncsvc import capture, migrate
from syncsvc.config.loader import load_config_file
from syncsvc.config.store import apply_config
from syncsvc.db import connect
from syncsvc.demo import schema as demo_schema
from syncsvc.demo.system import EXAMPLES, example_config, example_pointed_at
from syncsvc.errors import ConfigError
from syncsvc.processes import ProcessSet
from syncsvc.settings import Settings, load_settings

Progress = Callable[[str], None]
WRITE_CHUNK = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _db_url(server_url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(server_url)._replace(path="/" + name))


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A fresh, migrated database with the demo's tables on the configured server, dropped
    afterwards."""
    name = f"syncsvc_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _db_url(server_url, name)
    try:
        migrate.upgrade(url)
        with connect(url) as db, db.transaction():
            demo_schema.install(db)
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def sim_options_args(provider: str) -> list[str]:
    """``--options-file`` with what the example CRM account holds (its custom fields), if any."""
    path = EXAMPLES / f"{provider}.sim.json"
    return ["--options-file", str(path)] if path.exists() else []


def demo_connection(provider: str, base_url: str) -> dict[str, Any]:
    """The demo config's connection for ``provider``, pointed at ``base_url``, limits raised."""
    doc = example_pointed_at(provider, base_url)
    for conn in doc["connections"]:
        if conn["provider"] == provider:
            conn["name"] = f"bench-{provider}"
            conn["rate_limit"] = {"requests": 1_000_000, "per_seconds": 10}
            conn["rules"] = [r for r in conn["rules"] if r["source"] == "demo.contacts"]
            kept = {r["name"] for r in conn["rules"]}
            conn["associations"] = [
                a for a in conn.get("associations", []) if a.get("parent_rule") in kept
            ]
            return dict(conn)
    raise ConfigError(f"{example_config(provider)} has no connection for provider {provider!r}")


class PipelineBench:
    """Starts simulator + bridge + workers once per run and drives records through them."""

    def __init__(
        self, server_url: str, redis_url: str, provider: str, workdir: Path, progress: Progress
    ):
        self.server_url = server_url
        self.redis_url = redis_url
        self.provider = provider
        self.workdir = workdir
        self.progress = progress

    def env(self, db_url: str, chain_size: int) -> dict[str, str]:
        """The environment every process of one run gets."""
        return {
            "DATABASE_URL": db_url,
            "REDIS_URL": self.redis_url,
            "SYNCSVC_REDIS_PREFIX": f"bench{uuid.uuid4().hex[:6]}:",
            "SYNCSVC_DATA_DIR": str(self.workdir),
            "SYNCSVC_SECRET_KEY": Fernet.generate_key().decode(),  # this run's scratch data
            "SYNCSVC_BRIDGE_CHAIN_SIZE": str(chain_size),
            "SYNCSVC_LOG_LEVEL": "WARNING",
            "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        }

    def start_system(self, procs: ProcessSet, settings: Settings) -> str:
        """Start the simulator, configure the connection, start bridge and workers; returns the
        simulator's URL."""
        port = free_port()
        sim_url = f"http://127.0.0.1:{port}"
        procs.start(
            "sim",
            "simulate",
            self.provider,
            "--port",
            str(port),
            "--rate-limit",
            "1000000/10",
            *sim_options_args(self.provider),
        )
        self._wait_http(sim_url + "/_sim/health", 30)
        self._configure(settings, sim_url)
        procs.start("bridge", "bridge")
        procs.start("worker", "worker", "--sync", "--concurrency", "2")
        procs.start("push", "worker", "--push", self.provider, "--concurrency", "8")
        return sim_url

    def run(self, label: str, records: int, chain_size: int, rate: float | None) -> RunFigures:
        with scratch_database(self.server_url) as db_url:
            env = self.env(db_url, chain_size)
            settings = load_settings(env)
            procs = ProcessSet(env, self.workdir / "logs" / label.replace(" ", "-"))
            try:
                sim_url = self.start_system(procs, settings)
                self.progress(f"{label}: warming up")
                self._drive(db_url, sim_url, 50, None, timeout=120)
                self.progress(
                    f"{label}: {records} records" + (f" at {rate:.0f}/s" if rate else " (burst)")
                )
                committed, acked = self._drive(
                    db_url, sim_url, records, rate, timeout=max(180.0, records / 20)
                )
                return figures(label, committed, acked)
            finally:
                procs.stop_all()
                from syncsvc.db import close_pools

                close_pools()

    def _configure(self, settings: Settings, sim_url: str) -> None:
        path = self.workdir / f"bench-{self.provider}.yaml"
        path.write_text(
            yaml.safe_dump({"version": 1, "connections": [demo_connection(self.provider, sim_url)]})
        )
        doc = load_config_file(path)
        with connect(settings.db_url) as db, db.transaction():
            capture.add_capture(db, "demo.contacts", notify="throttled", throttle_ms=50)
            apply_config(db, settings, doc)

    @staticmethod
    def _wait_http(url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                requests.get(url, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise ConfigError(f"{url} did not come up")

    def _drive(
        self, db_url: str, sim_url: str, records: int, rate: float | None, timeout: float
    ) -> tuple[dict[str, float], dict[str, float]]:
        http = requests.Session()
        since = http.get(
            f"{sim_url}/_sim/acks", params={"since": 0, "limit": 0}, timeout=30
        ).json()["last"]
        committed: dict[str, float] = {}
        with connect(db_url, autocommit=True) as db:
            started = time.monotonic()
            written = 0
            while written < records:
                n = min(WRITE_CHUNK if rate is None else max(1, int(rate / 20)), records - written)
                with db.transaction():
                    ids = db.execute(
                        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
                        "SELECT 'bench' || g || '.' || %s || '@example.com', 'Bench', "
                        "'Mark' || g, 'lead' "
                        "FROM generate_series(1, %s) AS g RETURNING id",
                        (uuid.uuid4().hex[:8], n),
                    ).fetchall()
                now = time.time()
                for r in ids:
                    committed[str(r["id"])] = now
                written += n
                if rate is not None:
                    pause = started + written / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
        acked: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while len(acked) < len(committed) and time.monotonic() < deadline:
            body = http.get(f"{sim_url}/_sim/acks", params={"since": since}, timeout=30).json()
            for ack in body["acks"]:
                key = str(ack["key"])
                if key in committed and key not in acked:
                    acked[key] = float(ack["at"])
            since = body["last"] if body["acks"] else since
            if len(acked) < len(committed):
                time.sleep(0.2)
        if len(acked) < len(committed):
            raise ConfigError(
                f"only {len(acked)} of {len(committed)} records reached the simulator "
                f"in {timeout:.0f}s "
                f"(logs: {self.workdir / 'logs'})"
            )
        return committed, acked
