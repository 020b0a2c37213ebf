"""Typed settings built from the environment (never read at import time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from syncsvc.errors import ConfigError
from syncsvc.ratelimit import parse_rate_limit
from syncsvc.scrub import scrub, url_secrets

PREFIX = "SYNCSVC_"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INTERNAL_SCHEMAS = REPO_ROOT / "schemas" / "internal"


def env_int(
    env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None
) -> int:
    """``SYNCSVC_<name>`` as an integer from ``minimum`` (to ``maximum``); unset: ``default``."""
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be an integer, got {raw!r}") from None
    if maximum is not None and not minimum <= value <= maximum:
        raise ConfigError(f"{PREFIX}{name} must be from {minimum} to {maximum}, got {value}")
    if value < minimum:
        raise ConfigError(f"{PREFIX}{name} must be >= {minimum}, got {value}")
    return value


def env_float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    """``SYNCSVC_<name>`` as a number of at least ``minimum``; unset: ``default``."""
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


API_OPTIONS = frozenset(
    {
        "API_RATE_LIMIT",
        "API_UNAUTHENTICATED_RATE_LIMIT",
        "API_MAX_BODY_BYTES",
        "API_MAX_EVENTS",
        "API_MAX_PAGE",
        "API_DEFAULT_PAGE",
        "API_EVENT_ID_RETENTION_HOURS",
        "API_DB_TIMEOUT",
        "API_PORT",
        "API_HEADER_TIMEOUT",
        "API_BODY_TIMEOUT",
        "API_METRICS_MAX_AGE",
    }
)
"""The ``SYNCSVC_API_*`` variables there are; any other is a configuration error."""


@dataclass(frozen=True)
class ApiOptions:
    """The HTTP API's options (``SYNCSVC_API_*``)."""

    rate_limit: str = "600/minute"
    """Requests per API key (a key's own ``rate_limit`` overrides it)."""
    unauthenticated_rate_limit: str = "60/minute"
    """Requests that fail authentication (no, malformed or unknown key), per client address:
    past it they get 429 instead of 401. A valid key is never refused for its address."""
    max_body_bytes: int = 1024 * 1024
    max_events: int = 1000
    max_page: int = 1000
    default_page: int = 100
    event_id_retention_hours: int = 7 * 24
    db_timeout: float = 5.0
    """Seconds to wait for a pooled database connection before answering 503."""
    header_timeout: float = 10.0
    """Seconds from a connection's first byte (or its accept) to the end of its request head."""
    body_timeout: float = 30.0
    """Seconds for a request body to arrive, once its head has."""
    metrics_max_age: float = 15.0
    """Seconds a computation of ``/metrics`` is reused (per API process) before the next one."""


def _api_options(env: Mapping[str, str]) -> ApiOptions:
    unknown = sorted(
        k for k in env if k.startswith(PREFIX + "API_") and k[len(PREFIX) :] not in API_OPTIONS
    )
    if unknown:
        raise ConfigError(f"unknown API setting(s) {unknown} (known: {sorted(API_OPTIONS)})")
    rate = env.get(PREFIX + "API_RATE_LIMIT") or "600/minute"
    parse_rate_limit(rate, PREFIX + "API_RATE_LIMIT")
    unauthenticated = env.get(PREFIX + "API_UNAUTHENTICATED_RATE_LIMIT") or "60/minute"
    parse_rate_limit(unauthenticated, PREFIX + "API_UNAUTHENTICATED_RATE_LIMIT")
    max_page = env_int(env, "API_MAX_PAGE", 1000, 1, 10_000)
    return ApiOptions(
        rate_limit=rate,
        unauthenticated_rate_limit=unauthenticated,
        max_body_bytes=env_int(env, "API_MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
        max_events=env_int(env, "API_MAX_EVENTS", 1000, 1, 100_000),
        max_page=max_page,
        default_page=min(max_page, env_int(env, "API_DEFAULT_PAGE", 100, 1, 10_000)),
        event_id_retention_hours=env_int(env, "API_EVENT_ID_RETENTION_HOURS", 7 * 24, 1, 24 * 3650),
        db_timeout=float(env_int(env, "API_DB_TIMEOUT", 5, 1, 600)),
        header_timeout=float(env_int(env, "API_HEADER_TIMEOUT", 10, 1, 600)),
        body_timeout=float(env_int(env, "API_BODY_TIMEOUT", 30, 1, 3600)),
        metrics_max_age=float(env_int(env, "API_METRICS_MAX_AGE", 15, 1, 3600)),
    )


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
    bridge_gather_ms: int = 50
    """After a claim that was not full, the bridge waits this long before the next one, so
    that a steady stream of commits travels in chains of many events, not one each."""
    bridge_poll_max_ms: int = 250
    bridge_redispatch_seconds: int = 60
    bridge_max_inflight: int = 20_000
    lease_seconds: int = 120
    sweep_interval_seconds: float = 5.0
    inbound_tick_seconds: float = 2.0
    """How often beat polls the CRMs due for an inbound poll and hands waiting events on."""
    inbound_public_url: str | None = None
    """The tenant API's address as the CRMs reach it (``https://sync.example.com``): beat keeps
    the webhook subscriptions that expire (Zoho's notification channels) pointed at
    ``/v1/inbound/<connection>`` there. Unset: none are kept."""
    sweep_grace_seconds: int = 15
    http_connect_timeout: float = 5.0
    http_read_timeout: float = 30.0
    max_attempts: int = 10
    sync_log_days: int = 14
    """Days a sync log entry is kept (``syncsvc.retention``)."""
    dead_letter_days: int = 30
    """Days a replayed dead letter is kept after its replay (unreplayed ones stay)."""
    inbound_event_days: int = 14
    """Days an applied or ignored inbound event is kept after it was settled (received ones,
    not applied yet, and failed ones stay)."""
    prune_interval_seconds: float = 300.0
    """How often beat runs the retention task."""
    prune_batch_size: int = 5000
    """Rows deleted per statement (and transaction) by the retention task."""
    backfill_live_share: int = 20
    """Percent of each connection's rate-limit window that backfill pushes leave to live changes
    (``syncsvc.ratelimit``): a backfill push waits while the window has no more than that left."""
    backfill_max_backlog: int = 2000
    """A backfill writes its next page only while its connection has at most this many records
    waiting (its own events not yet persisted plus the connection's pending outbox rows)."""
    internal_schema_dirs: tuple[Path, ...] = (DEFAULT_INTERNAL_SCHEMAS,)
    api: ApiOptions = field(default_factory=ApiOptions)
    extra: Mapping[str, str] = field(default_factory=dict)
    """Every ``SYNCSVC_*`` variable, for components that read their own (Flower's credentials)."""
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """The whole environment these settings were read from: ``${VAR}`` references in a
    connection's options resolve against it (``providers.oauth.resolve_options``)."""

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
        bridge_batch_size=env_int(env, "BRIDGE_BATCH_SIZE", 500, 1),
        bridge_chain_size=env_int(env, "BRIDGE_CHAIN_SIZE", 0, 0),
        bridge_poll_min_ms=env_int(env, "BRIDGE_POLL_MIN_MS", 5, 1),
        bridge_gather_ms=env_int(env, "BRIDGE_GATHER_MS", 50, 0, 5_000),
        bridge_poll_max_ms=env_int(env, "BRIDGE_POLL_MAX_MS", 250, 1),
        bridge_redispatch_seconds=env_int(env, "BRIDGE_REDISPATCH_SECONDS", 60, 1),
        bridge_max_inflight=env_int(env, "BRIDGE_MAX_INFLIGHT", 20_000, 1),
        lease_seconds=env_int(env, "LEASE_SECONDS", 120, 1),
        sweep_interval_seconds=env_float(env, "SWEEP_INTERVAL_SECONDS", 5.0, 0.1),
        inbound_tick_seconds=env_float(env, "INBOUND_TICK_SECONDS", 2.0, 0.1),
        inbound_public_url=env.get(PREFIX + "INBOUND_PUBLIC_URL") or None,
        sweep_grace_seconds=env_int(env, "SWEEP_GRACE_SECONDS", 15, 0),
        http_connect_timeout=env_float(env, "HTTP_CONNECT_TIMEOUT", 5.0, 0.1),
        http_read_timeout=env_float(env, "HTTP_READ_TIMEOUT", 30.0, 0.1),
        max_attempts=env_int(env, "MAX_ATTEMPTS", 10, 1),
        sync_log_days=env_int(env, "SYNC_LOG_DAYS", 14, 1, 3650),
        dead_letter_days=env_int(env, "DEAD_LETTER_DAYS", 30, 1, 3650),
        inbound_event_days=env_int(env, "INBOUND_EVENT_DAYS", 14, 1, 3650),
        prune_interval_seconds=env_float(env, "PRUNE_INTERVAL_SECONDS", 300.0, 1.0),
        prune_batch_size=env_int(env, "PRUNE_BATCH_SIZE", 5000, 1, 100_000),
        backfill_live_share=env_int(env, "BACKFILL_LIVE_SHARE", 20, 0, 90),
        backfill_max_backlog=env_int(env, "BACKFILL_MAX_BACKLOG", 2000, 1, 1_000_000),
        internal_schema_dirs=(*_schema_dirs(env), DEFAULT_INTERNAL_SCHEMAS),
        api=_api_options(env),
        extra={k: v for k, v in env.items() if k.startswith(PREFIX)},
        environ=env,
    )
