"""What Pipedrive, Zoho and Dataverse send inbound, read without a server: Pipedrive's basic
auth and v2 payloads, Zoho's channel token and notifications, Dataverse's change-tracking pages
(deletions, paging, links to other hosts), and the config refusing webhooks a CRM cannot send."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.dynamics import changes
from providers.dynamics.operations import Table
from providers.pipedrive.webhooks import PipedriveWebhooks, basic_auth
from providers.webhooks import BadWebhook, WebhookRequest
from providers.zoho.notifications import ZohoNotifications, watch_body
from syncsvc.config.loader import load_config_file
from syncsvc.errors import ConfigError, PermanentError

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
PD_CREDENTIALS = {"api_token": "t", "webhook_user": "hook", "webhook_password": "s3cret"}


def request(body: Any, credentials: dict[str, str], **headers: str) -> WebhookRequest:
    raw = json.dumps(body).encode()
    return WebhookRequest("POST", "https://x/v1/inbound/c", raw, headers, credentials, NOW)


def pd_body(action: str = "change", entity: str = "person", **meta: Any) -> dict[str, Any]:
    return {
        "data": {"id": 42},
        "previous": None,
        "meta": {"action": action, "entity": entity, "entity_id": "42",
                 "timestamp": "2026-12-04T11:59:59.123Z", "version": "2.0", **meta},
    }  # fmt: skip


def test_pipedrive_webhooks_need_the_basic_auth_they_were_created_with() -> None:
    receiver = PipedriveWebhooks()
    good = basic_auth("hook", "s3cret")
    receiver.verify(request(pd_body(), PD_CREDENTIALS, Authorization=good))
    for header in (
        basic_auth("hook", "wrong"),
        basic_auth("other", "s3cret"),
        "Bearer abc",
        "Basic !!!",
        "",
    ):
        with pytest.raises(BadWebhook):
            receiver.verify(request(pd_body(), PD_CREDENTIALS, Authorization=header))
    with pytest.raises(BadWebhook):  # a connection without webhook credentials takes none
        receiver.verify(request(pd_body(), {"api_token": "t"}, Authorization=good))


def test_pipedrive_v2_events_parse_into_changes_and_deletes() -> None:
    receiver = PipedriveWebhooks()
    (change,) = receiver.parse(pd_body("change"))
    assert (change.object, change.crm_id, change.kind) == ("persons", "42", "change")
    assert change.occurred_at == datetime(2026, 12, 4, 11, 59, 59, 123000, tzinfo=UTC)
    (created,) = receiver.parse(pd_body("create", "deal"))
    assert (created.object, created.kind) == ("deals", "change")
    (deleted,) = receiver.parse(pd_body("delete", "organization"))
    assert (deleted.object, deleted.kind) == ("organizations", "delete")
    assert len({change.event_key, created.event_key, deleted.event_key}) == 3
    assert receiver.parse(pd_body("change", "activity")) == []  # not an object syncsvc takes


@pytest.mark.parametrize(
    "meta",
    [{"version": "1.0"}, {"entity_id": "42; DROP"}, {"entity_id": None}, {"timestamp": "soon"}],
)
def test_malformed_pipedrive_bodies_are_refused(meta: dict[str, Any]) -> None:
    with pytest.raises(BadWebhook):
        PipedriveWebhooks().parse(pd_body(**meta))


ZOHO = {"server_time": 1764849600000, "module": "Contacts", "ids": ["5725767000000001001"],
        "operation": "update", "channel_id": "1000000068001", "token": "tok", "query_params": {},
        "affected_fields": []}  # fmt: skip


def test_zoho_notifications_are_proven_by_the_channel_token() -> None:
    receiver = ZohoNotifications()
    receiver.verify(request(ZOHO, {"webhook_token": "tok"}))
    for body, credentials in (
        ({**ZOHO, "token": "nope"}, {"webhook_token": "tok"}),
        ({k: v for k, v in ZOHO.items() if k != "token"}, {"webhook_token": "tok"}),
        (ZOHO, {}),
    ):
        with pytest.raises(BadWebhook):
            receiver.verify(request(body, credentials))
    (event,) = receiver.parse(ZOHO)
    assert (event.object, event.crm_id, event.kind) == ("Contacts", "5725767000000001001", "change")
    (gone,) = receiver.parse({**ZOHO, "operation": "delete"})
    assert gone.kind == "delete" and gone.event_key != event.event_key
    with pytest.raises(BadWebhook):
        receiver.parse({**ZOHO, "ids": ["1 OR 1=1"]})


def test_a_zoho_channel_token_is_at_most_50_characters() -> None:
    body = watch_body(1, ["Contacts"], "https://x/hook", "t" * 50, NOW + timedelta(days=1))
    assert body["watch"][0]["events"] == ["Contacts.all"]
    with pytest.raises(ValueError):
        watch_body(1, ["Contacts"], "https://x/hook", "t" * 51, NOW)


TABLE = Table("/api/data/v9.2", "contacts", "contact")
BASE = "https://org.crm.dynamics.com"
GUIDS = ["0b7e1a52-4f0e-4d2b-9c3a-1a2b3c4d5e6f", "1c8f2b63-5a1f-4e3c-8d4b-2b3c4d5e6f70"]


def test_a_delta_page_reports_changes_and_both_forms_of_deletion() -> None:
    answer = {
        "value": [
            {"contactid": GUIDS[0], "firstname": "Ada", "modifiedon": "2026-12-04T11:00:00Z"},
            {"@odata.context": f"{BASE}/api/data/v9.2/$metadata#contacts/$deletedEntity",
             "id": GUIDS[1], "reason": "deleted"},
            {"@removed": {"reason": "deleted"}, "@id": f"contacts({GUIDS[0].upper()})"},
        ],
        "@odata.deltaLink": f"{BASE}/api/data/v9.2/contacts?$select=firstname&$deltatoken=9",
    }  # fmt: skip
    page = changes.page_of(TABLE, BASE, answer, ["firstname"], initial=False, since=NOW)
    assert [(r.id, r.fields) for r in page.records] == [(GUIDS[0], {"firstname": "Ada"})]
    assert page.deleted == [GUIDS[1], GUIDS[0]]
    assert page.after is None
    assert page.resume == "delta /api/data/v9.2/contacts?$select=firstname&$deltatoken=9"


def test_the_first_read_of_a_table_reports_only_recent_rows_and_pages_on() -> None:
    old, new = "2026-12-01T00:00:00Z", "2026-12-04T11:59:00Z"
    answer = {
        "value": [
            {"contactid": GUIDS[0], "modifiedon": old},
            {"contactid": GUIDS[1], "modifiedon": new},
        ],
        "@odata.nextLink": f"{BASE}/api/data/v9.2/contacts?$skiptoken=x",
    }
    since = NOW - timedelta(minutes=5)
    page = changes.page_of(TABLE, BASE, answer, [], initial=True, since=since)
    assert [r.id for r in page.records] == [GUIDS[1]]
    assert page.after == page.resume == "initial /api/data/v9.2/contacts?$skiptoken=x"


def test_a_link_to_another_host_is_not_followed() -> None:
    answer = {"value": [], "@odata.deltaLink": "https://evil.example/api/data/v9.2/contacts"}
    with pytest.raises(PermanentError, match="not the environment"):
        changes.page_of(TABLE, BASE, answer, [], initial=False, since=NOW)


def test_inbound_webhooks_on_a_crm_that_sends_none_are_refused(tmp_path: Path) -> None:
    doc = {
        "version": 1,
        "connections": [
            {
                "name": "dv",
                "provider": "dynamics",
                "base_url": BASE,
                "credentials": {"client_id": "a", "client_secret": "b", "tenant_id": "c"},
                "objects": {"contacts": {"mappings": [{"source": "email", "target": "emailaddress1"}]}},
                "rules": [{"name": "r", "source": "demo.contacts", "operations": ["insert"],
                           "action": "upsert", "object": "contacts",
                           "id_property": "emailaddress1"}],
                "inbound": {"objects": {"contacts": {
                    "table": "demo.contacts", "key": {"column": "id", "field": "emailaddress1"},
                    "mappings": [{"source": "firstname", "target": "first_name"}]}}},
            }
        ],
    }  # fmt: skip
    path = tmp_path / "dv.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="sends no webhooks"):
        load_config_file(path)
