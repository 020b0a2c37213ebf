"""The migrations produce exactly the schema the models describe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from syncsvc.models import metadata
from tests.support import servers
from tests.support.databases import migrated_database


@pytest.fixture(scope="module")
def migrated_only(test_servers: servers.TestServers) -> Iterator[str]:
    """A database of its own with nothing but the migrations: the session's database also gets
    the demo's tables (from the tests that write to them), which are not the service's."""
    with migrated_database(test_servers) as url:
        yield url


def test_migrated_schema_matches_the_models(migrated_only: str) -> None:
    engine = create_engine(migrated_only.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "compare_type": True,
                    "version_table_schema": "syncsvc",
                },
            )
            diff = [
                d
                for d in compare_metadata(context, metadata)
                if not (d[0] == "remove_table" and d[1].name == "alembic_version")
            ]
    finally:
        engine.dispose()
    assert diff == []
