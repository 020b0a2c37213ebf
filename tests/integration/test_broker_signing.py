"""Whoever can write to the broker cannot make workers write to the outbox: a persist message
that is unsigned or signed with another key is refused, the same message signed with the
service's key lands (so the check can fail)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from cryptography.fernet import Fernet

from syncsvc.pipeline.batch import MappedBatch, OutboxItem
from syncsvc.settings import Settings
from tasks import signing
from tasks.app import configure
from tasks.queues import sync_queue
from tasks.stages import persist
from tests.integration.conftest import Pipeline, execute
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


def forged_batch(connection_id: int, key: str) -> MappedBatch:
    item = OutboxItem(
        object="contacts",
        record_key=key,
        source_table="demo.contacts",
        op="upsert",
        id_property="email",
        id_value=f"{key}@example.org",
        payload={"email": f"{key}@example.org", "firstname": "Mallory"},
        version=1,
    )
    return MappedBatch(
        connection_id=connection_id,
        table="demo.contacts",
        event_ids=[],
        items=[item],
        rejects=[],
    )


def in_outbox(pipeline: Pipeline, key: str) -> bool:
    return bool(execute(pipeline.db, "SELECT 1 FROM syncsvc.outbox WHERE record_key = %s", key))


def refusals(pipeline: Pipeline) -> int:
    log = pipeline.procs.procs["worker"].log_path.read_text(errors="replace")
    return log.count("not signed with this service's key") + log.count(
        "Refusing to deserialize untrusted content"
    )


def test_only_messages_signed_with_the_service_key_reach_the_outbox(
    pipeline: Pipeline, settings: Settings
) -> None:
    pipeline.apply(
        {
            "connections": [
                {
                    "name": "signed",
                    "provider": "hubspot",
                    "mode": "poll",
                    "base_url": "http://127.0.0.1:9",
                    "credentials": {"access_token": "t"},
                    "rules": [
                        {
                            "source": "demo.contacts",
                            "action": "upsert",
                            "object": "contacts",
                            "operations": ["insert", "update"],
                            "id_property": "email",
                        }
                    ],
                    "objects": {"contacts": {"mappings": [{"source": "email", "target": "email"}]}},
                }
            ]
        }
    )
    cid = execute(pipeline.db, "SELECT id FROM syncsvc.connection WHERE name = 'signed'")[0]["id"]
    configure(settings)
    queue = sync_queue("hubspot")
    unsigned, wrong_key, signed = (f"forged-{secrets.token_hex(4)}" for _ in range(3))
    before = refusals(pipeline)

    persist.apply_async(args=[forged_batch(cid, unsigned)], queue=queue, serializer="json")
    signing.install(Fernet.generate_key())
    try:
        persist.apply_async(args=[forged_batch(cid, wrong_key)], queue=queue)
    finally:
        configure(settings)
    wait_until(lambda: refusals(pipeline) >= before + 2, 60, message=pipeline.describe)

    persist.apply_async(args=[forged_batch(cid, signed)], queue=queue)
    wait_until(lambda: in_outbox(pipeline, signed), 60, message=pipeline.describe)
    refused: dict[str, Any] = {k: in_outbox(pipeline, k) for k in (unsigned, wrong_key)}
    assert refused == {unsigned: False, wrong_key: False}
