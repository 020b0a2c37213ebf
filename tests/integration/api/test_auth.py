"""API keys: 401 without a valid one, 403 beyond its scope, 404 for another tenant, 429 per key."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests

from syncsvc.settings import REPO_ROOT
from tests.integration.api.conftest import Api, ApiWorld, contacts_connection

pytestmark = pytest.mark.e2e


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def same_answer(a: requests.Response, b: requests.Response) -> None:
    assert (a.status_code, a.headers["Content-Type"], a.content) == (
        b.status_code,
        b.headers["Content-Type"],
        b.content,
    )


def test_requests_without_a_valid_key_are_401(world: ApiWorld) -> None:
    world.connections(contacts_connection("tenant-a"))
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer sk_not-a-real-key-but-well-formed-0123456789"},
        {
            "Authorization": "Bearer \u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
        },
    ):
        for method, path in (
            ("GET", "/v1/connections/tenant-a/changes"),
            ("POST", "/v1/connections/tenant-a/ack"),
            ("POST", "/v1/events"),
        ):
            resp = requests.request(method, world.url + path, headers=headers, json={}, timeout=10)
            assert resp.status_code == 401, (headers, path, resp.text)
            assert resp.json()["error"] == "unauthorized"
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_read_key_cannot_ack_or_post_events(world: ApiWorld) -> None:
    world.connections(contacts_connection("tenant-a"))
    reader = world.client("tenant-a", "read")
    page = reader.changes("tenant-a")
    assert page.status_code == 200
    for resp, scopes in (
        (reader.ack("tenant-a", page.json()["next_cursor"]), "'ack' or 'write'"),
        (
            reader.events([{"table": "demo.contacts", "op": "delete", "key": {"id": 1}}]),
            "'ingest' or 'write'",
        ),
    ):
        assert resp.status_code == 403
        assert resp.json() == {
            "error": "forbidden",
            "message": f"this operation needs a key with scope {scopes}",
        }


def test_ingest_and_ack_scopes_grant_only_their_operation_and_write_grants_both(
    world: ApiWorld,
) -> None:
    world.connections(contacts_connection("tenant-a"))
    event = [{"table": "demo.contacts", "op": "delete", "key": {"id": 1}}]
    ingest, ack, write = (world.client("tenant-a", s) for s in ("ingest", "ack", "write"))
    cursor = write.changes("tenant-a").json()["next_cursor"]

    assert ingest.events(event).status_code == 202
    assert ingest.changes("tenant-a").status_code == 403, "an ingest key reads nothing back"
    assert ingest.ack("tenant-a", cursor).status_code == 403

    assert ack.changes("tenant-a").status_code == 200
    assert ack.ack("tenant-a", cursor).status_code == 200
    assert ack.events(event).status_code == 403

    assert write.changes("tenant-a").status_code == 200
    assert write.ack("tenant-a", cursor).status_code == 200
    assert write.events(event).status_code == 202


def test_a_key_of_one_tenant_gets_the_same_404_for_another_tenants_connection(
    world: ApiWorld,
) -> None:
    world.connections(contacts_connection("tenant-a"), contacts_connection("tenant-b"))
    a = world.client("tenant-a", "write")
    b = world.client("tenant-b", "write")
    cursor_b = b.changes("tenant-b").json()["next_cursor"]

    same_answer(a.changes("tenant-b"), a.changes("no-such-tenant"))
    same_answer(a.changes("tenant-b", cursor=cursor_b), a.changes("no-such-tenant"))
    same_answer(a.ack("tenant-b", cursor_b), a.ack("no-such-tenant", cursor_b))
    assert a.changes("tenant-b").status_code == 404
    assert a.changes("tenant-b").json() == {"error": "not_found", "message": "no such connection"}
    # Nothing a key does moves another tenant's state.
    assert b.ack("tenant-b", cursor_b).json()["delivered"] == 0


def test_a_cursor_works_only_for_the_connection_that_issued_it(world: ApiWorld) -> None:
    world.connections(contacts_connection("tenant-a"), contacts_connection("tenant-b"))
    a = world.client("tenant-a", "write")
    b = world.client("tenant-b", "write")
    cursor_a = a.changes("tenant-a").json()["next_cursor"]
    for resp in (b.changes("tenant-b", cursor=cursor_a), b.ack("tenant-b", cursor_a)):
        assert resp.status_code == 400
        assert resp.json()["problems"][0]["field"] == "cursor"


def test_requests_are_limited_per_key_with_retry_after(world: ApiWorld) -> None:
    world.connections(contacts_connection("tenant-a"))
    limited = world.client("tenant-a", "read", rate_limit="3/minute")
    other = world.client("tenant-a", "read")
    assert [limited.changes("tenant-a").status_code for _ in range(3)] == [200, 200, 200]
    refused = limited.changes("tenant-a")
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert other.changes("tenant-a").status_code == 200, "another key has its own window"


def test_apikeys_commands_create_list_and_revoke(
    world: ApiWorld, service_env: dict[str, str]
) -> None:
    world.connections(contacts_connection("tenant-a"))
    created = manage(service_env, "apikeys", "create", "tenant-a", "--scope", "read")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert re.fullmatch(r"sk_[A-Za-z0-9_-]{40,}", key)
    key_id = re.search(r"created key (\d+)", created.stderr)
    assert key_id is not None
    api = Api(world.url, key)
    assert api.changes("tenant-a").status_code == 200

    listed = manage(service_env, "apikeys", "list", "tenant-a")
    assert listed.returncode == 0, listed.stderr
    assert key[:10] in listed.stdout and key not in listed.stdout, "only the prefix is shown"
    stored = world.pipeline.db.execute(
        "SELECT key_hash FROM syncsvc.api_key WHERE id = %s", (int(key_id.group(1)),)
    ).fetchone()
    assert stored is not None and key not in stored["key_hash"]

    revoked = manage(service_env, "apikeys", "revoke", key_id.group(1))
    assert revoked.returncode == 0, revoked.stderr
    resp = api.changes("tenant-a")
    assert resp.status_code == 401
    assert resp.json()["message"] == "unknown or revoked API key"

    for scope in ("ingest", "ack"):
        made = manage(service_env, "apikeys", "create", "tenant-a", "--scope", scope)
        assert made.returncode == 0, made.stderr
        assert f"({scope})" in made.stderr
    missing = manage(service_env, "apikeys", "create", "no-such", "--scope", "write")
    assert missing.returncode != 0 and "no connection named 'no-such'" in missing.stderr
    bad_rate = manage(
        service_env, "apikeys", "create", "tenant-a", "--scope", "read", "--rate-limit", "lots"
    )
    assert bad_rate.returncode != 0 and "--rate-limit" in bad_rate.stderr
