from __future__ import annotations

from pathlib import Path

import pytest

from syncsvc.cli.context import AppContext
from syncsvc.errors import ConfigError
from syncsvc.flower_auth import flower_credentials
from syncsvc.secrets import api_key_matches, decrypt_json, encrypt_json, hash_api_key, new_api_key
from syncsvc.settings import load_settings


def test_flower_credentials_are_generated_once_for_the_local_default(tmp_path: Path) -> None:
    settings = load_settings({"SYNCSVC_DATA_DIR": str(tmp_path)})
    first = flower_credentials(settings)
    assert first == flower_credentials(settings)
    assert len(first[1]) >= 20
    assert (tmp_path / "flower.auth").stat().st_mode & 0o777 == 0o600
    configured = load_settings({"SYNCSVC_DATA_DIR": str(tmp_path), "SYNCSVC_FLOWER_USER": "u",
                                "SYNCSVC_FLOWER_PASSWORD": "p"})  # fmt: skip
    assert flower_credentials(configured) == ("u", "p")


def test_a_flower_password_flower_cannot_compare_is_refused_at_start(tmp_path: Path) -> None:
    settings = load_settings({"SYNCSVC_DATA_DIR": str(tmp_path), "SYNCSVC_FLOWER_USER": "u",
                              "SYNCSVC_FLOWER_PASSWORD": "pässwort"})  # fmt: skip
    with pytest.raises(ConfigError, match="SYNCSVC_FLOWER_PASSWORD must be ASCII"):
        flower_credentials(settings)


def test_processes_started_by_run_and_demo_get_the_local_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run`` / ``demo`` may generate a key under the data folder; the service processes they
    start (which refuse to run without SYNCSVC_SECRET_KEY) are handed that same key."""
    monkeypatch.delenv("SYNCSVC_SECRET_KEY", raising=False)
    monkeypatch.setenv("SYNCSVC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://127.0.0.1:1/unused")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    env = AppContext().child_env()
    assert env["SYNCSVC_SECRET_KEY"].encode() == (tmp_path / "secret.key").read_bytes().strip()


def test_credentials_round_trip_encrypted_and_a_wrong_key_is_a_clear_error(tmp_path: Path) -> None:
    settings = load_settings({"SYNCSVC_DATA_DIR": str(tmp_path)})
    token = encrypt_json(settings, {"access_token": "secret-value"})
    assert b"secret-value" not in token
    assert decrypt_json(settings, token) == {"access_token": "secret-value"}
    other = load_settings({"SYNCSVC_DATA_DIR": str(tmp_path / "other")})
    encrypt_json(other, {})  # creates a different key
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        decrypt_json(other, token)


def test_a_malformed_secret_key_is_refused() -> None:
    settings = load_settings({"SYNCSVC_SECRET_KEY": "too-short"})
    with pytest.raises(ConfigError, match="SYNCSVC_SECRET_KEY must be"):
        encrypt_json(settings, {})


def test_api_keys_are_stored_as_hashes() -> None:
    key = new_api_key()
    stored = hash_api_key(key)
    assert key not in stored and api_key_matches(key, stored)
    assert not api_key_matches(key + "x", stored)
