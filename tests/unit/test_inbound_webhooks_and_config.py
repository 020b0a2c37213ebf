"""HubSpot v3 webhook signatures and the ``inbound:`` config section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.hubspot import webhooks
from syncsvc.config.loader import load_config_file
from syncsvc.errors import ConfigError
from syncsvc.inbound.parse import parse_inbound

URI = "https://example.com/v1/inbound/hs?x=1"
BODY = b'[{"eventId":1,"subscriptionType":"contact.deletion","objectId":7,"occurredAt":1}]'
NOW = 1_800_000_000_000


def headers(signature: str, stamp: int) -> dict[str, str | None]:
    return {webhooks.SIGNATURE_HEADER: signature, webhooks.TIMESTAMP_HEADER: str(stamp)}


def test_a_signed_fresh_request_passes_and_anything_else_is_refused() -> None:
    good = webhooks.sign("secret", "POST", URI, BODY, NOW)
    webhooks.verify("secret", "POST", URI, BODY, headers(good, NOW), NOW + 1000)
    refused = [
        ("other", URI, BODY, headers(good, NOW), NOW),  # wrong secret
        ("secret", URI, BODY + b" ", headers(good, NOW), NOW),  # body changed
        ("secret", URI + "&y", BODY, headers(good, NOW), NOW),  # another URI
        ("secret", URI, BODY, headers(good, NOW), NOW + webhooks.MAX_AGE_MS + 1),  # too old
        ("secret", URI, BODY, {}, NOW),
    ]
    for secret, uri, body, hdrs, now in refused:
        with pytest.raises(webhooks.BadWebhook):
            webhooks.verify(secret, "POST", uri, body, hdrs, now)


def test_events_parse_into_changes_and_deletes() -> None:
    events = webhooks.parse_events(
        [
            {
                "eventId": 1,
                "subscriptionType": "contact.propertyChange",
                "objectId": 5,
                "occurredAt": 2,
            },
            {"eventId": 2, "subscriptionType": "deal.deletion", "objectId": 6, "occurredAt": 3},
            # HubSpot's shape: no objectId, the record is fromObjectId (one event per side)
            {
                "eventId": 3,
                "subscriptionType": "contact.associationChange",
                "occurredAt": 4,
                "changeSource": "CRM_UI",
                "associationType": "CONTACT_TO_COMPANY",
                "fromObjectId": 5,
                "toObjectId": 9,
                "associationRemoved": True,
                "isPrimaryAssociation": False,
            },
            {"eventId": 4, "subscriptionType": "contact.merge", "objectId": 5, "occurredAt": 5},
        ]
    )
    assert [(e.event_key, e.object, e.crm_id, e.kind) for e in events] == [
        ("webhook:1", "contacts", "5", "change"),
        ("webhook:2", "deals", "6", "delete"),
        ("webhook:3", "contacts", "5", "change"),
    ]
    with pytest.raises(webhooks.BadWebhook):
        webhooks.parse_events([{"eventId": "x", "subscriptionType": "contact.creation"}])
    with pytest.raises(webhooks.BadWebhook):  # an association change names its record
        webhooks.parse_events(
            [{"eventId": 5, "subscriptionType": "company.associationChange", "occurredAt": 6}]
        )


def fail(path: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {message}")


SECTION: dict[str, Any] = {
    "poll_seconds": 30,
    "conflict": "last_write_wins",
    "objects": {
        "contacts": {
            "table": "demo.contacts",
            "key": {"column": "id", "field": "syncsvc_id"},
            "mappings": [
                {"source": "email", "target": "email", "transforms": ["lower"]},
                {"source": "firstname", "target": "first_name"},
            ],
            "on_delete": {"soft_delete": "deleted_at"},
            "ownership": {"internal": ["email"]},
        }
    },
}


def test_the_inbound_section_parses_and_round_trips() -> None:
    spec = parse_inbound(SECTION, "inbound", fail, ("contacts",))
    assert spec is not None
    contacts = spec.objects["contacts"]
    assert contacts.policy_for("email") == "internal_owns"
    assert contacts.policy_for("first_name") == "last_write_wins"
    assert contacts.on_delete == "soft_delete" and contacts.soft_delete_column == "deleted_at"
    again = parse_inbound(spec.to_json(), "inbound", fail, ("contacts",))
    assert again == spec


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"conflict": "newest"}, "inbound.conflict: must be one of"),
        ({"webhooks": False, "poll_seconds": 0}, "nothing would arrive"),
        ({"objects": {"tickets": {}}}, "inbound.objects.tickets: unknown object"),
    ],
)
def test_bad_sections_are_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_inbound({**SECTION, **change}, "inbound", fail, ("contacts",))


def test_a_writable_column_must_be_mapped() -> None:
    section = {
        **SECTION,
        "objects": {"contacts": {**SECTION["objects"]["contacts"], "writable": ["phone"]}},
    }
    with pytest.raises(ConfigError, match=r"writable\[0\]: 'phone' is not the target"):
        parse_inbound(section, "inbound", fail, ("contacts",))


def test_the_deletes_poll_follows_the_change_poll_unless_set() -> None:
    spec = parse_inbound(SECTION, "inbound", fail, ("contacts",))
    assert spec is not None and spec.deletes_poll_seconds is None and spec.deletes_every == 30
    assert "deletes_poll_seconds" not in spec.to_json()
    slower = parse_inbound({**SECTION, "deletes_poll_seconds": 600}, "inbound", fail, ("contacts",))
    assert slower is not None and slower.deletes_every == 600
    assert parse_inbound(slower.to_json(), "inbound", fail, ("contacts",)) == slower
    off = parse_inbound({**SECTION, "deletes_poll_seconds": 0}, "inbound", fail, ("contacts",))
    assert off is not None and off.deletes_every == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"deletes_poll_seconds": -1}, "deletes_poll_seconds: must be an integer from 0"),
        ({"deletes_poll_seconds": "often"}, "deletes_poll_seconds: must be an integer from 0"),
        ({"deletes_poll_seconds": True}, "deletes_poll_seconds: must be an integer from 0"),
        ({"poll_seconds": 0, "webhooks": True, "deletes_poll_seconds": 60}, "are not polled"),
    ],
)
def test_bad_deletes_poll_settings_are_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_inbound({**SECTION, **change}, "inbound", fail, ("contacts",))


def test_a_deletes_poll_is_refused_where_the_change_poll_reports_deletions(
    tmp_path: Path,
) -> None:
    def doc(provider: str, base_url: str, obj: str, key: str) -> dict[str, Any]:
        connection = {
            "name": "c", "provider": provider, "base_url": base_url,
            "credentials": {"client_id": "a", "client_secret": "b", "refresh_token": "c",
                            "access_token": "t"},
            "objects": {obj: {"mappings": [{"source": "email", "target": key}]}},
            "rules": [{"name": "r", "source": "demo.contacts", "operations": ["insert"],
                       "action": "upsert", "object": obj, "id_property": key}],
            "inbound": {"webhooks": False, "poll_seconds": 30, "deletes_poll_seconds": 300,
                        "objects": {obj: {"table": "demo.contacts",
                                          "key": {"column": "email", "field": key},
                                          "mappings": [{"source": "x", "target": "first_name"}]}}},
        }  # fmt: skip
        return {"version": 1, "connections": [connection]}

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc("salesforce", "https://acme.my.salesforce.com", "Contact", "Email")))  # fmt: skip
    with pytest.raises(ConfigError, match="reports deletions itself"):
        load_config_file(path)
    path.write_text(yaml.safe_dump(doc("hubspot", "https://api.hubapi.com", "contacts", "email")))
    load_config_file(path)
