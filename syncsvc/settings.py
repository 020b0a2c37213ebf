"""Typed settings built from the environment (never read at import time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from syncsvc.errors import ConfigError
from syncsvc.scrub import scrub, url_secrets

PREFIX = "SYNCSVC_"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INTERNAL_SCHEMAS = REPO_ROOT / "schemas" / "internal"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{PREFIX}{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{PREFIX}{name} must be >= {minimum}, got {value}")
    return value


def _schema_dirs(env: Mapping[str, str]) -> tuple[Path, ...]:
    raw = env.get(PREFIX + "SCHEMA_PATH", "")
    return tuple(Path(p).resolve() for p in raw.split(os.pathsep) if p)


def _check_database_url(url: str) -> None:
    """A postgresql:// URL that libpq can parse; errors never show its password."""
    problem = None
    if not url.startswith("postgresql"):
        problem = f"must be a postgresql:// URL, got {url!r}"
    else:
        try:
            conninfo_to_dict(url)
        except psycopg.Error as exc:
            problem = f"is not a valid PostgreSQL URL ({' '.join(str(exc).split())})"
    if problem:
        raise ConfigError(scrub(f"DATABASE_URL {problem}", url_secrets(url)))


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know, resolved once at start."""

    database_url: str | None
    redis_url: str | None
    data_dir: Path
    secret_key: str | None = None
    redis_prefix: str = ""
    bridge_batch_size: int = 500
    bridge_chain_size: int = 0
    """Records per Celery chain; 0 means the claim size. 1 is the naive per-record baseline."""
    bridge_poll_min_ms: int = 5
    bridge_poll_max_ms: int = 250
    bridge_redispatch_seconds: int = 60
    bridge_max_inflight: int = 20_000
    lease_seconds: int = 120
    sweep_interval_seconds: float = 5.0
    sweep_grace_seconds: int = 15
    http_connect_timeout: float = 5.0
    http_read_timeout: float = 30.0
    max_attempts: int = 10
    internal_schema_dirs: tuple[Path, ...] = (DEFAULT_INTERNAL_SCHEMAS,)
    fault_pause_before_mark: float = 0.0
    """Fault-injection hook for the test suite: the bridge sleeps this long between enqueueing a
    claim's chains and marking its events (so a test can kill it exactly there). Never set it in
    production."""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / "secret.key"

    def with_urls(self, database_url: str, redis_url: str) -> Settings:
        return replace(self, database_url=database_url, redis_url=redis_url)

    @property
    def db_url(self) -> str:
        if not self.database_url:
            raise ConfigError("DATABASE_URL is not set and no local server was started")
        return self.database_url

    @property
    def broker_url(self) -> str:
        if not self.redis_url:
            raise ConfigError("REDIS_URL is not set and no local server was started")
        return self.redis_url


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get(PREFIX + "DATA_DIR") or Path.cwd() / ".syncsvc").resolve()
    database_url = env.get("DATABASE_URL") or None
    if database_url and database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://") :]
    if database_url:
        _check_database_url(database_url)
    redis_url = env.get("REDIS_URL") or None
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        message = f"REDIS_URL must be a redis://, rediss:// or unix:// URL, got {redis_url!r}"
        raise ConfigError(scrub(message, url_secrets(redis_url)))
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=data_dir,
        secret_key=env.get(PREFIX + "SECRET_KEY") or None,
        redis_prefix=env.get(PREFIX + "REDIS_PREFIX", ""),
        bridge_batch_size=_int(env, "BRIDGE_BATCH_SIZE", 500, 1),
        bridge_chain_size=_int(env, "BRIDGE_CHAIN_SIZE", 0, 0),
        bridge_poll_min_ms=_int(env, "BRIDGE_POLL_MIN_MS", 5, 1),
        bridge_poll_max_ms=_int(env, "BRIDGE_POLL_MAX_MS", 250, 1),
        bridge_redispatch_seconds=_int(env, "BRIDGE_REDISPATCH_SECONDS", 60, 1),
        bridge_max_inflight=_int(env, "BRIDGE_MAX_INFLIGHT", 20_000, 1),
        lease_seconds=_int(env, "LEASE_SECONDS", 120, 1),
        sweep_interval_seconds=_float(env, "SWEEP_INTERVAL_SECONDS", 5.0, 0.1),
        sweep_grace_seconds=_int(env, "SWEEP_GRACE_SECONDS", 15, 0),
        http_connect_timeout=_float(env, "HTTP_CONNECT_TIMEOUT", 5.0, 0.1),
        http_read_timeout=_float(env, "HTTP_READ_TIMEOUT", 30.0, 0.1),
        max_attempts=_int(env, "MAX_ATTEMPTS", 10, 1),
        internal_schema_dirs=(*_schema_dirs(env), DEFAULT_INTERNAL_SCHEMAS),
        fault_pause_before_mark=_float(env, "FAULT_PAUSE_BEFORE_MARK", 0.0, 0.0),
        extra={k: v for k, v in env.items() if k.startswith(PREFIX)},
    )
