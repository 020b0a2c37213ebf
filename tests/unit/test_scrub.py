"""scrub(): secrets out of messages; bad DATABASE_URL / REDIS_URL values never shown with their
passwords (issue 12, item 8)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from syncsvc.db import connect
from syncsvc.errors import ConfigError
from syncsvc.scrub import scrub, url_secrets
from syncsvc.settings import REPO_ROOT, load_settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://bob:hunter2@db:5432/app", "postgresql://bob:***@db:5432/app"),
        ("got 'redis://:hunter2@cache:6379/0'", "got 'redis://:***@cache:6379/0'"),
        ("rediss://default:hunter2@cache/0", "rediss://default:***@cache/0"),
        ("unix://:hunter2@/run/redis.sock?db=2", "unix://:***@/run/redis.sock?***"),
        ('in URI: "postgresql://bob:hunter2@[::1/x"', 'in URI: "postgresql://bob:***@[::1/x"'),
        ("postgresql://bob:p@ss@db/app", "postgresql://bob:***@db/app"),
        ("postgresql://bob:pa/ss@db/app", "postgresql://bob:***@db/app"),
        ("postgresql://db/app?password=hunter2&sslmode=require", "postgresql://db/app?***"),
        ("https://api.example.com/v3/x?hapikey=hunter2#frag", "https://api.example.com/v3/x?***"),
        ("https://hunter2@git.example.com/repo", "https://***@git.example.com/repo"),
        ("https://crm.example.com:443/users/a@b.com", "https://crm.example.com:443/users/a@b.com"),
        ("postgresql://bob@db/app", "postgresql://***@db/app"),
        ("no url here: plain text", "no url here: plain text"),
        (
            "host=db user=bob password=hunter2 dbname=app",
            "host=db user=bob password=*** dbname=app",
        ),
        ("host=db password='hun ter2' dbname=app", "host=db password=*** dbname=app"),
        ("grant_type=refresh_token&refresh_token=hunter2&client_secret=s3", None),
        ('{"error": "bad", "access_token": "hunter2"}', '{"error": "bad", "access_token": "***"}'),
    ],
)
def test_scrub_hides_url_passwords_queries_and_secret_values(
    text: str, expected: str | None
) -> None:
    scrubbed = scrub(text)
    assert "hunter2" not in scrubbed
    assert "hun ter2" not in scrubbed
    if expected is not None:
        assert scrubbed == expected


def test_scrub_replaces_known_secret_values_anywhere() -> None:
    text = "the CRM said: token abc.DEF-123 is unknown (abc.DEF-123)"
    assert scrub(text, ["abc.DEF-123", None, ""]) == "the CRM said: token *** is unknown (***)"
    assert scrub("nothing secret", ["absent"]) == "nothing secret"


def test_url_secrets_finds_passwords_a_url_parser_would_miss() -> None:
    url = "postgresql://bob:hun ter%232@db/app"
    assert url_secrets(url) == ("hun ter%232", "hun ter#2")
    assert "hun ter" not in scrub(f"got {url!r}", url_secrets(url))
    assert url_secrets("postgresql://db/app") == ()


def test_scrub_is_linear_on_long_input() -> None:
    """Runs on whole CRM error bodies: patterns that would backtrack get no purchase."""
    long = "a." * 200_000 + "password=" + "x" * 100_000 + " http://" + "@" * 50_000
    scrubbed = scrub(long)
    assert scrubbed.startswith("a.a.")
    assert "x" * 10 not in scrubbed


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://bob:hunter2@db/app"),
        ("DATABASE_URL", "postgresql://bob:hunter2@[::1/app"),
        ("DATABASE_URL", "postgresql://bob:hunter2@db/app?bogus_option=1"),
        ("DATABASE_URL", "postgresql://bob:hun ter2@[::1/app"),
        ("REDIS_URL", "http://bob:hunter2@cache:6379/0"),
        ("REDIS_URL", "memcached://:hunter2@cache"),
    ],
)
def test_a_bad_url_is_refused_without_showing_its_password(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable) as caught:
        load_settings({variable: value})
    message = str(caught.value)
    assert "hunter2" not in message
    assert "hun ter2" not in message
    assert "\n" not in message


def test_an_unparsable_dsn_given_to_connect_is_a_config_error_without_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        connect("postgresql://bob:hunter2@[::1/app")
    assert "hunter2" not in str(caught.value)
    assert "invalid PostgreSQL URL" in str(caught.value)


def test_the_command_line_shows_a_bad_database_url_as_one_line_without_its_password() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": "postgresql://bob:hunter2@[::1/app",
        "REDIS_URL": "redis://:hunter2@127.0.0.1:1/0",
    }
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "capture", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "hunter2" not in done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert done.stderr.startswith("Error: DATABASE_URL is not a valid PostgreSQL URL")
