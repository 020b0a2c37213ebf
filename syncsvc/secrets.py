"""Secrets at rest: Fernet for CRM credentials, SHA-256 for API keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from syncsvc.errors import ConfigError
from syncsvc.scrub import remember_secrets
from syncsvc.settings import Settings


def secret_key(settings: Settings, create: bool = True) -> bytes:
    """``SYNCSVC_SECRET_KEY``, or for the local default a key generated under the data folder."""
    if settings.secret_key:
        key = settings.secret_key.encode()
    else:
        path = settings.secret_key_file
        if path.exists():
            key = path.read_bytes().strip()
        elif create:
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Fernet.generate_key()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
        else:
            raise ConfigError(
                "SYNCSVC_SECRET_KEY is not set and no local key exists; "
                "generate one with `manage.py secret-key`"
            )
    try:
        Fernet(key)
    except ValueError:
        raise ConfigError(
            "SYNCSVC_SECRET_KEY must be 32 url-safe base64-encoded bytes "
            "(generate one with `manage.py secret-key`)"
        ) from None
    return key


def encrypt_json(settings: Settings, value: Mapping[str, Any]) -> bytes:
    return Fernet(secret_key(settings)).encrypt(json.dumps(dict(value)).encode())


def decrypt_json(settings: Settings, token: bytes) -> dict[str, Any]:
    try:
        data = Fernet(secret_key(settings, create=False)).decrypt(bytes(token))
    except InvalidToken:
        raise ConfigError(
            "stored credentials cannot be decrypted with this SYNCSVC_SECRET_KEY"
        ) from None
    result: dict[str, Any] = json.loads(data)
    remember_secrets(result)
    return result


def new_api_key() -> str:
    return "sk_" + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """API keys are 256 random bits, so one SHA-256 is enough (no stretching needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), stored_hash)
