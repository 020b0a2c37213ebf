"""Flower runs behind basic auth."""

from __future__ import annotations

import base64
from pathlib import Path

import requests

from tests.support.flower import flower


def test_flower_refuses_requests_without_the_configured_credentials(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**service_env, "SYNCSVC_FLOWER_USER": "ops", "SYNCSVC_FLOWER_PASSWORD": "s3cret-pw"}
    with flower(env, tmp_path) as (url, _):
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.get(url, auth=("ops", "wrong"), timeout=5).status_code == 401
        assert requests.get(url, auth=("ops", "s3cret-pw"), timeout=5).status_code == 200


def test_a_comma_in_the_flower_password_does_not_split_it(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    """Flower's --basic-auth is a comma-separated list: "correct-horse-battery,x" used to become
    two credentials, "ops:correct-horse-battery" and a bare "x" that logged in."""
    password = "correct-horse-battery,x"
    env = {**service_env, "SYNCSVC_FLOWER_USER": "ops", "SYNCSVC_FLOWER_PASSWORD": password}
    with flower(env, tmp_path) as (url, _):
        bare = {"Authorization": "Basic " + base64.b64encode(b"x").decode()}
        assert requests.get(url, headers=bare, timeout=5).status_code == 401
        half = ("ops", "correct-horse-battery")
        assert requests.get(url, auth=half, timeout=5).status_code == 401
        assert requests.get(url, auth=("ops", password), timeout=5).status_code == 200
