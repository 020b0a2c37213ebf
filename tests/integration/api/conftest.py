"""The API under test: `manage.py api` (gunicorn) in a subprocess, talked to over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from syncsvc.api import keys
from syncsvc.db import connect
from syncsvc.processes import ProcessSet
from tests.integration.conftest import Pipeline
from tests.support.rules import synced_rules
from tests.support.wait import wait_until

POLL_BASE_URL = "http://127.0.0.1:9"  # a poll-mode connection never calls its CRM

CONTACT_MAPPINGS = [
    {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"]},
    {"source": "email", "target": "email", "transforms": ["strip", "lower"], "required": True},
    {"source": "first_name", "target": "firstname"},
    {"source": "last_name", "target": "lastname"},
]


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class ApiProcess:
    """One `manage.py api`: its tenant URL, its ops URL and its log."""

    url: str
    ops_url: str
    procs: ProcessSet

    def log(self) -> str:
        path: Path = self.procs.procs["api"].log_path
        return path.read_text(errors="replace") if path.exists() else ""


def start_api(
    service_env: dict[str, str],
    log_dir: Path,
    env: dict[str, str],
    workers: int = 2,
    threads: int = 4,
) -> ApiProcess:
    procs = ProcessSet({**service_env, **env}, log_dir)
    port, ops_port = _free_ports(2)
    api = ApiProcess(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ops_port}", procs)
    procs.start(
        "api",
        "api",
        "--bind",
        f"127.0.0.1:{port}",
        "--ops-bind",
        f"127.0.0.1:{ops_port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    )

    def healthy() -> bool:
        assert procs.alive("api"), procs.log_tail("api")
        try:
            return requests.get(f"{api.ops_url}/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(healthy, 60, message=lambda: procs.log_tail("api"))
    except BaseException:
        procs.stop_all()
        raise
    return api


@pytest.fixture(scope="session")
def api_server(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    """The API most tests share: limits out of the way, metrics recomputed every second."""
    env = {
        "SYNCSVC_API_RATE_LIMIT": "1000000/minute",
        "SYNCSVC_API_UNAUTHENTICATED_RATE_LIMIT": "1000000/minute",
        "SYNCSVC_API_METRICS_MAX_AGE": "1",
    }
    api = start_api(service_env, tmp_path_factory.mktemp("api-logs"), env)
    yield api
    api.procs.stop_all()


@pytest.fixture(scope="session")
def api_url(api_server: ApiProcess) -> str:
    return api_server.url


@pytest.fixture(scope="session")
def ops_url(api_server: ApiProcess) -> str:
    return api_server.ops_url


@pytest.fixture(scope="session")
def strict_api(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    """An API with tight limits, for the tests of those limits: one process of two threads,
    5 failed authentications a minute per address, 2 s for a request head and for a body,
    metrics reused for an hour."""
    env = {
        "SYNCSVC_API_UNAUTHENTICATED_RATE_LIMIT": "5/minute",
        "SYNCSVC_API_HEADER_TIMEOUT": "2",
        "SYNCSVC_API_BODY_TIMEOUT": "2",
        "SYNCSVC_API_METRICS_MAX_AGE": "3600",
    }
    api = start_api(service_env, tmp_path_factory.mktemp("strict-api-logs"), env, 1, 2)
    yield api
    api.procs.stop_all()


def contacts_connection(
    name: str,
    mode: str = "poll",
    base_url: str = POLL_BASE_URL,
    rate_limit: tuple[int, int] = (100, 10),
    batch_size: int = 100,
) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "hubspot",
        "mode": mode,
        "base_url": base_url,
        "credentials": {"access_token": "demo-token"},
        "rate_limit": {"requests": rate_limit[0], "per_seconds": rate_limit[1]},
        "batch_size": batch_size,
        "objects": {"contacts": {"mappings": CONTACT_MAPPINGS}},
        "rules": synced_rules("demo.contacts", "contacts"),
    }


class Api:
    """A client with one key, over plain ``requests``."""

    def __init__(self, url: str, key: str | None) -> None:
        self.url = url
        self.http = requests.Session()
        if key is not None:
            self.http.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.post(self.url + path, timeout=30, **kwargs)

    def changes(self, name: str, **params: Any) -> requests.Response:
        return self.get(f"/v1/connections/{name}/changes", params=params)

    def ack(self, name: str, cursor: str) -> requests.Response:
        return self.post(f"/v1/connections/{name}/ack", json={"cursor": cursor})

    def events(self, events: list[dict[str, Any]]) -> requests.Response:
        return self.post("/v1/events", json={"events": events})


class ApiWorld:
    """Connections and keys for one test; everything is removed afterwards."""

    def __init__(self, pipeline: Pipeline, url: str, ops_url: str) -> None:
        self.pipeline = pipeline
        self.url = url
        self.ops_url = ops_url

    def connections(self, *specs: dict[str, Any]) -> None:
        self.pipeline.apply({"version": 1, "connections": list(specs)})

    def key(self, connection: str, scope: str, rate_limit: str | None = None) -> str:
        with connect(self.pipeline.settings.db_url) as db, db.transaction():
            return keys.create_key(db, connection, scope, rate_limit)[1]

    def client(
        self,
        connection: str,
        scope: str = "write",
        rate_limit: str | None = None,
        url: str | None = None,
    ) -> Api:
        return Api(url or self.url, self.key(connection, scope, rate_limit))

    def anonymous(self) -> Api:
        return Api(self.url, None)

    def connection_id(self, name: str) -> int:
        row = self.pipeline.db.execute(
            "SELECT id FROM syncsvc.connection WHERE name = %s", (name,)
        ).fetchone()
        assert row is not None
        return int(row["id"])

    def events_drained(self) -> bool:
        row = self.pipeline.db.execute("SELECT count(*) AS n FROM syncsvc.sync_event").fetchone()
        return row is not None and row["n"] == 0

    def cleanup(self) -> None:
        """Poll connections keep pending rows until acknowledged: drop them with the test."""
        wait_until(self.events_drained, 120, message=self.pipeline.describe)
        self.pipeline.db.execute("DELETE FROM syncsvc.connection")
        self.pipeline.db.execute("UPDATE syncsvc.config_state SET generation = generation + 1")


@pytest.fixture
def world(pipeline: Pipeline, api_server: ApiProcess) -> Iterator[ApiWorld]:
    w = ApiWorld(pipeline, api_server.url, api_server.ops_url)
    yield w
    w.cleanup()
