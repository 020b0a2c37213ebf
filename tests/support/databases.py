"""A database of a test module's own, migrated and dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from syncsvc import migrate
from tests.support import servers


@contextmanager
def migrated_database(test_servers: servers.TestServers) -> Iterator[str]:
    name, url = servers.create_database(test_servers.admin_url)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        servers.drop_database(test_servers.admin_url, name)
