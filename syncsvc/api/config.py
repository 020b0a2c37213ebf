"""The API's own options, read from ``Settings.extra`` (``SYNCSVC_API_*``), checked at start."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from limits import RateLimitItem, parse

from syncsvc.errors import ConfigError
from syncsvc.secrets import secret_key
from syncsvc.settings import PREFIX, REPO_ROOT, Settings

OPENAPI_PATH = REPO_ROOT / "docs" / "openapi.json"
DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_OPS_BIND = "127.0.0.1:8001"

_OPTIONS = {
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


def parse_rate_limit(text: str, where: str) -> RateLimitItem:
    """``600/minute``, ``10/second``, ``5000 per hour`` (the ``limits`` notation)."""
    try:
        return parse(text)
    except ValueError:
        raise ConfigError(
            f"{where} must be a rate such as '600/minute' or '10/second', got {text!r}"
        ) from None


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{PREFIX}{name} must be from {low} to {high}, got {value}")
    return value


@dataclass(frozen=True)
class ApiSettings:
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
    pool_size: int = 8
    """Database connections per API process (the server sets it to its threads + 1)."""
    cursor_key: bytes = b""
    openapi_path: Path = OPENAPI_PATH
    header_timeout: float = 10.0
    """Seconds from a connection's first byte (or its accept) to the end of its request head."""
    body_timeout: float = 30.0
    """Seconds for a request body to arrive, once its head has."""
    metrics_max_age: float = 15.0
    """Seconds a computation of ``/metrics`` is reused (per API process) before the next one."""


def load_api_settings(settings: Settings) -> ApiSettings:
    env = settings.extra
    unknown = sorted(
        k for k in env if k.startswith(PREFIX + "API_") and k[len(PREFIX) :] not in _OPTIONS
    )
    if unknown:
        raise ConfigError(f"unknown API setting(s) {unknown} (known: {sorted(_OPTIONS)})")
    rate = env.get(PREFIX + "API_RATE_LIMIT") or "600/minute"
    parse_rate_limit(rate, PREFIX + "API_RATE_LIMIT")
    unauthenticated = env.get(PREFIX + "API_UNAUTHENTICATED_RATE_LIMIT") or "60/minute"
    parse_rate_limit(unauthenticated, PREFIX + "API_UNAUTHENTICATED_RATE_LIMIT")
    max_page = _int(env, "API_MAX_PAGE", 1000, 1, 10_000)
    return ApiSettings(
        rate_limit=rate,
        unauthenticated_rate_limit=unauthenticated,
        max_body_bytes=_int(env, "API_MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
        max_events=_int(env, "API_MAX_EVENTS", 1000, 1, 100_000),
        max_page=max_page,
        default_page=min(max_page, _int(env, "API_DEFAULT_PAGE", 100, 1, 10_000)),
        event_id_retention_hours=_int(env, "API_EVENT_ID_RETENTION_HOURS", 7 * 24, 1, 24 * 3650),
        db_timeout=float(_int(env, "API_DB_TIMEOUT", 5, 1, 600)),
        cursor_key=derive_cursor_key(secret_key(settings, create=False)),
        header_timeout=float(_int(env, "API_HEADER_TIMEOUT", 10, 1, 600)),
        body_timeout=float(_int(env, "API_BODY_TIMEOUT", 30, 1, 3600)),
        metrics_max_age=float(_int(env, "API_METRICS_MAX_AGE", 15, 1, 3600)),
    )


def derive_cursor_key(master: bytes) -> bytes:
    """A key used only for poll cursors, so a cursor MAC reveals nothing about the master key."""
    return hmac.new(master, b"syncsvc poll cursor v1", hashlib.sha256).digest()
