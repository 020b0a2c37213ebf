"""The push step against a real simulator, driven directly (no Celery)."""

from __future__ import annotations

import psycopg
import requests
from psycopg.types.json import Jsonb

from providers.base import ConnectionInfo
from providers.registry import get_provider
from syncsvc.db import Row
from syncsvc.pipeline.batch import PushGroup
from syncsvc.push.deliver import Pusher
from syncsvc.settings import Settings
from tests.support.sim import SimControl


def test_a_row_deleted_after_its_push_was_ordered_goes_as_an_archive(
    db: psycopg.Connection[Row], settings: Settings, hubspot: SimControl
) -> None:
    hubspot.reset()
    db.autocommit = True
    db.execute("DELETE FROM syncsvc.connection WHERE name = 'push-test'")
    cid = db.execute(
        "INSERT INTO syncsvc.connection (name, provider, base_url, rate_limit_requests, "
        "rate_limit_seconds, batch_size) VALUES ('push-test', 'hubspot', %s, 100, 10, 100) RETURNING id",
        (hubspot.base_url,),
    ).fetchone()["id"]  # type: ignore[index]
    created = requests.post(
        f"{hubspot.base_url}/crm/v3/objects/contacts",
        json={"properties": {"email": "gone@example.com", "syncsvc_id": "77"}},
        headers={"Authorization": "Bearer demo-token"},
        timeout=10,
    ).json()
    # The push was ordered as an upsert, but the record was deleted before the push leased it.
    row = db.execute(
        "INSERT INTO syncsvc.outbox (connection_id, object, record_key, source_table, op, id_property, "
        "id_value, payload, version, external_id) VALUES (%s, 'contacts', '77', 'demo.contacts', "
        "'archive', 'syncsvc_id', '77', %s, 2, %s) RETURNING id",
        (cid, Jsonb({}), created["id"]),
    ).fetchone()
    info = ConnectionInfo(cid, "push-test", "hubspot", hubspot.base_url, {"access_token": "demo-token"},
                          {}, 100, 100, 10)  # fmt: skip
    client = get_provider("hubspot").client_class(info)
    try:
        pusher = Pusher(settings.db_url, cid, client, 100, 10, 30)
        outcome = pusher.run([PushGroup(object="contacts", op="upsert", ids=[row["id"]])])  # type: ignore[index]
    finally:
        client.close()
        db.execute("DELETE FROM syncsvc.connection WHERE id = %s", (cid,))
    assert outcome.delivered == 1
    assert hubspot.records("contacts") == [], "the record must be archived, not upserted again"
