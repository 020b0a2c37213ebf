"""The API under test: `manage.py api` (gunicorn) in a subprocess, talked to over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def api_url(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {**service_env, "SYNCSVC_API_RATE_LIMIT": "1000000/minute"}
    procs = ProcessSet(env, tmp_path_factory.mktemp("api-logs"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    procs.start("api", "api", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4")

    def healthy() -> bool:
        assert procs.alive("api"), procs.log_tail("api")
        try:
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until(healthy, 60, message=lambda: procs.log_tail("api"))
    yield url
    procs.stop_all()


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

    def __init__(self, pipeline: Pipeline, url: str) -> None:
        self.pipeline = pipeline
        self.url = url

    def connections(self, *specs: dict[str, Any]) -> None:
        self.pipeline.apply({"version": 1, "connections": list(specs)})

    def key(self, connection: str, scope: str, rate_limit: str | None = None) -> str:
        with connect(self.pipeline.settings.db_url) as db, db.transaction():
            return keys.create_key(db, connection, scope, rate_limit)[1]

    def client(self, connection: str, scope: str = "write", rate_limit: str | None = None) -> Api:
        return Api(self.url, self.key(connection, scope, rate_limit))

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
def world(pipeline: Pipeline, api_url: str) -> Iterator[ApiWorld]:
    w = ApiWorld(pipeline, api_url)
    yield w
    w.cleanup()
