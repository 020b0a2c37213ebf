"""The API's settings: its options from ``Settings.api`` (``SYNCSVC_API_*``, checked when the
settings are loaded) plus what the API derives at start."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass
from pathlib import Path

from syncsvc.secrets import secret_key
from syncsvc.settings import REPO_ROOT, ApiOptions, Settings

OPENAPI_PATH = REPO_ROOT / "docs" / "openapi.json"
DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_OPS_BIND = "127.0.0.1:8001"


@dataclass(frozen=True)
class ApiSettings(ApiOptions):
    pool_size: int = 8
    """Database connections per API process (the server sets it to its threads + 1)."""
    cursor_key: bytes = b""
    openapi_path: Path = OPENAPI_PATH


def load_api_settings(settings: Settings) -> ApiSettings:
    return ApiSettings(
        **asdict(settings.api),
        cursor_key=derive_cursor_key(secret_key(settings, create=False)),
    )


def derive_cursor_key(master: bytes) -> bytes:
    """A key used only for poll cursors, so a cursor MAC reveals nothing about the master key."""
    return hmac.new(master, b"syncsvc poll cursor v1", hashlib.sha256).digest()
