"""Alembic environment: one advisory lock and a lock timeout around every migration run."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from syncsvc.demo import schema as demo_schema
from syncsvc.models import SCHEMA, metadata

MIGRATION_LOCK_ID = 0x5359_4E43  # "SYNC"


def _not_the_demo(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate leaves the demo's schema alone: the demo creates its own tables
    (``syncsvc.demo.schema``), so a database the demo ran on would otherwise get them dropped."""
    return not (type_ == "schema" and name == demo_schema.SCHEMA)


def _sqlalchemy_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def run_migrations_online() -> None:
    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database URL given to Alembic")
    engine = create_engine(_sqlalchemy_url(url))
    with engine.connect() as connection:
        connection.execute(text("SET lock_timeout = '10s'"))
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                version_table_schema=SCHEMA,
                include_schemas=True,
                include_name=_not_the_demo,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported; run `manage.py migrate`")
run_migrations_online()
