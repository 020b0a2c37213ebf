"""``preview`` reads every CRM back: each provider's ``read_by_key`` against its simulator,
through the example config's contact mappings, on a table no capture or worker touches.

Rows are previewed before the CRM has them (``create``), sent with the provider's own client
(the preview's payloads), previewed again (``unchanged``: the CRM's formats compare equal to
ours), then changed in the table (the changed field, and only it, differs)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from providers.base import PushItem
from providers.registry import provider_names
from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc.config.apply import apply_document
from syncsvc.config.loader import load_config_file
from syncsvc.config.runtime import RuntimeConnection, load_runtime_config
from syncsvc.db import Row, connect
from syncsvc.demo.system import example_pointed_at, example_sim_options
from syncsvc.errors import RateLimited
from syncsvc.preview.report import PreviewReport, preview_rows
from syncsvc.settings import Settings

TABLE = "previewcrm.contacts"
DDL = """
CREATE SCHEMA IF NOT EXISTS previewcrm;
DROP TABLE IF EXISTS previewcrm.contacts;
CREATE TABLE previewcrm.contacts (
    id integer PRIMARY KEY, email text NOT NULL, first_name text, last_name text, phone text,
    lifecycle_stage text, company_id integer, updated_at timestamptz NOT NULL DEFAULT now()
)
"""
ROWS = 6


@pytest.fixture(scope="module", params=provider_names())
def crm(request: pytest.FixtureRequest) -> Iterator[tuple[str, SimServer]]:
    name = request.param
    server = SimServer(make_simulator(name, example_sim_options(name)), port=0).start()
    yield name, server
    server.stop()


def contacts_config(provider: str, url: str) -> dict[str, Any]:
    """The example connection, its contact rules reading ``TABLE`` instead of the demo's."""
    doc = example_pointed_at(provider, url)
    conn = doc["connections"][0]
    conn["name"] = f"preview-{provider}"
    conn["rules"] = [
        {**r, "source": TABLE} for r in conn["rules"] if r["source"] == "demo.contacts"
    ]
    used = {r["object"] for r in conn["rules"]}
    conn["objects"] = {k: v for k, v in conn["objects"].items() if k in used}
    return doc


def applied(settings: Settings, tmp_path: Path, provider: str, url: str) -> RuntimeConnection:
    path = tmp_path / f"{provider}.yaml"
    path.write_text(yaml.safe_dump(contacts_config(provider, url)))
    apply_document(load_config_file(path), settings, strict=True)
    with connect(settings.db_url) as db:
        conns = load_runtime_config(db).connections.values()
    return next(c for c in conns if c.name == f"preview-{provider}")


def push(settings: Settings, conn: RuntimeConnection, report: PreviewReport) -> None:
    """Send the previewed payloads with the provider's client, as the push worker would."""
    results = [r.result for row in report.rows for r in row.results]
    items = [
        PushItem(
            outbox_id=i,
            object=str(r.object),
            op="upsert",
            record_key=str(r.id_value),
            id_property=r.id_property,
            id_value=r.id_value,
            payload=dict(r.payload or {}),
            external_id=None,
            version=1,
        )
        for i, r in enumerate(results, start=1)
    ]
    client = conn.provider.client_class(conn.connection_info(settings))
    deadline = time.monotonic() + 60
    try:
        while items:
            answers = client.push(items[0].object, "upsert", items)
            waits = [a.error for a in answers if isinstance(a.error, RateLimited)]
            assert [a.error for a in answers if not isinstance(a.error, RateLimited)] == [None] * (
                len(answers) - len(waits)
            )
            again = {a.outbox_id for a in answers if a.error is not None}
            items = [i for i in items if i.outbox_id in again]
            if items:  # the CRM's own window (Pipedrive: 20 requests / 2 s) says when
                assert time.monotonic() < deadline, waits
                time.sleep(max(float(w.retry_after or 0.5) for w in waits))
    finally:
        client.close()


def actions(report: PreviewReport) -> list[str]:
    return [r.crm_action for row in report.rows for r in row.results]


def test_each_crm_is_read_back_for_the_preview(
    crm: tuple[str, SimServer], settings: Settings, database_url: str, tmp_path: Path
) -> None:
    provider, server = crm
    conn = applied(settings, tmp_path, provider, server.url)
    db: psycopg.Connection[Row]
    with connect(database_url, autocommit=True) as db:
        db.execute(DDL)
        db.execute(
            "INSERT INTO previewcrm.contacts (id, email, first_name, last_name, phone, "
            "lifecycle_stage) SELECT g, 'p' || g || '@example.com', 'First' || g, 'Last' || g, "
            "'+4930555' || g, 'lead' FROM generate_series(1, %s) AS g",
            (ROWS,),
        )
        first = preview_rows(db, settings, conn, limit=ROWS)
        assert first.crm.unavailable is None, first.crm.unavailable
        assert actions(first) == ["create"] * ROWS
        assert first.crm.calls >= 1

        push(settings, conn, first)
        again = preview_rows(db, settings, conn, limit=ROWS)
        assert again.crm.unavailable is None, again.crm.unavailable
        differing = [
            (row.outcome.record_key, [(c.field, c.crm, c.ours) for c in r.changes])
            for row in again.rows
            for r in row.results
            if r.changes
        ]
        assert differing == []
        assert actions(again) == ["unchanged"] * ROWS

        db.execute("UPDATE previewcrm.contacts SET email = 'changed@example.com' WHERE id = 2")
        changed = preview_rows(db, settings, conn, limit=ROWS)
    views = {row.outcome.record_key: row.results[0] for row in changed.rows}
    assert views["2"].crm_action == "update"
    assert [(c.crm, c.ours) for c in views["2"].changes] == [
        ("p2@example.com", "changed@example.com")
    ]
    assert all(views[str(n)].crm_action == "unchanged" for n in range(1, ROWS + 1) if n != 2)
