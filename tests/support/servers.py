"""Real PostgreSQL and Redis for tests: the ones on 127.0.0.1 when reachable, else embedded."""

from __future__ import annotations

import fcntl
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from syncsvc.embedded import ensure_local_servers
from syncsvc.settings import load_settings

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
MIN_CONNECTIONS = 300
"""The suite runs several stacks at once (pytest-xdist), each with a bridge, workers, beat and
an API keeping pools: a server allowing fewer connections fails them with "too many clients",
so the embedded one (``syncsvc.embedded.MAX_CONNECTIONS``) is used instead."""
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class TestServers:
    admin_url: str
    """A superuser URL on the maintenance database, for CREATE/DROP DATABASE."""
    redis_url: str
    embedded: bool


def discover(data_dir: Path) -> TestServers:
    admin = os.environ.get("SYNCSVC_TEST_ADMIN_URL")
    redis_url = os.environ.get("SYNCSVC_TEST_REDIS_URL")
    embedded = False
    if admin is None and _reachable("127.0.0.1", 5432):
        try:
            with psycopg.connect(LOCAL_PG, connect_timeout=3) as db:
                row = db.execute("SELECT current_setting('max_connections')::int").fetchone()
            admin = LOCAL_PG if row is not None and int(row[0]) >= MIN_CONNECTIONS else None
        except psycopg.Error:
            admin = None
    if redis_url is None and _reachable("127.0.0.1", 6379):
        try:
            redis.Redis.from_url(LOCAL_REDIS, socket_timeout=3).ping()
            redis_url = LOCAL_REDIS
        except redis.RedisError:
            redis_url = None
    if admin is None or redis_url is None:
        env = {"SYNCSVC_DATA_DIR": str(data_dir)}
        if admin is not None:
            env["DATABASE_URL"] = admin
        if redis_url is not None:
            env["REDIS_URL"] = redis_url
        data_dir.mkdir(parents=True, exist_ok=True)
        # Parallel test processes (pytest-xdist) share the embedded servers: one starts them.
        with (data_dir / "start.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            settings = ensure_local_servers(load_settings(env))
        admin, redis_url, embedded = settings.db_url, settings.broker_url, True
    return TestServers(admin, redis_url, embedded)


def database_url(admin_url: str, name: str) -> str:
    """``admin_url`` pointing at database ``name`` (works for TCP and unix-socket URLs)."""
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path="/" + name))


def create_database(admin_url: str) -> tuple[str, str]:
    name = f"syncsvc_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    return name, database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                psycopg.sql.Identifier(name)
            )
        )


def drop_redis_prefix(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    batch = []
    for key in client.scan_iter(match=prefix + "*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)
