"""Session fixtures: a fresh, migrated database on a real PostgreSQL and a private Redis prefix."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet

from syncsvc import migrate
from syncsvc.db import Row, close_pools, connect
from syncsvc.settings import Settings, load_settings
from tests.support.servers import (
    TestServers,
    create_database,
    discover,
    drop_database,
    drop_redis_prefix,
)

TEST_SCHEMAS = Path(__file__).resolve().parent / "schemas"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """schemathesis names each API operation's item (``test[GET /healthz]``) but gives them all
    the test function's node id; pytest-xdist schedules by node id and would run only one of
    them. Each such item gets its name as its node id."""
    ids = Counter(item.nodeid for item in items)
    for item in items:
        if ids[item.nodeid] > 1:
            unique = f"{item.nodeid.rsplit('::', 1)[0]}::{item.name}"
            if hasattr(item, "_id"):  # pytest 9 keeps the node id as a parsed NodeId
                item._id = type(item._id).parse(unique)
            else:
                item._nodeid = unique


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("syncsvc-data")


@pytest.fixture(scope="session")
def test_servers() -> TestServers:
    # Embedded servers, when needed, live in one folder so repeated runs reuse them.
    return discover(Path(__file__).resolve().parent.parent / ".syncsvc" / "test-servers")


@pytest.fixture(scope="session")
def database_url(test_servers: TestServers) -> Iterator[str]:
    name, url = create_database(test_servers.admin_url)
    migrate.upgrade(url)
    yield url
    close_pools()
    drop_database(test_servers.admin_url, name)


@pytest.fixture(scope="session")
def redis_prefix(test_servers: TestServers) -> Iterator[str]:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    yield prefix
    drop_redis_prefix(test_servers.redis_url, prefix)


@pytest.fixture(scope="session")
def service_env(
    database_url: str, test_servers: TestServers, redis_prefix: str, data_dir: Path
) -> dict[str, str]:
    """The environment every process of the service under test gets."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCSVC_")}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=test_servers.redis_url,
        SYNCSVC_REDIS_PREFIX=redis_prefix,
        SYNCSVC_SECRET_KEY=Fernet.generate_key().decode(),
        SYNCSVC_DATA_DIR=str(data_dir),
        SYNCSVC_SCHEMA_PATH=str(TEST_SCHEMAS),
        SYNCSVC_SWEEP_INTERVAL_SECONDS="1",
        SYNCSVC_SWEEP_GRACE_SECONDS="3",
        SYNCSVC_BRIDGE_REDISPATCH_SECONDS="20",
        SYNCSVC_LOG_LEVEL="INFO",
    )
    return env


@pytest.fixture(scope="session")
def settings(service_env: dict[str, str]) -> Settings:
    return load_settings(service_env)


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Row]]:
    conn = connect(database_url)
    yield conn
    conn.close()
