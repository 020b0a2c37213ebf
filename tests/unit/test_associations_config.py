"""The ``associations:`` section: what ``config apply --check`` accepts and refuses, and which
parent a child row names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.registry import provider_names
from syncsvc.config.loader import check_source_fields, load_config_file
from syncsvc.demo.system import example_pointed_at
from syncsvc.errors import ConfigError
from syncsvc.links.model import Association
from syncsvc.links.wanted import parent_keys, wanted_links
from syncsvc.pipeline.batch import OutboxItem

SCHEMAS = (Path(__file__).resolve().parents[2] / "schemas" / "internal",)


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _hubspot(associations: list[dict[str, Any]]) -> dict[str, Any]:
    doc = json.loads(json.dumps(example_pointed_at("hubspot", "http://127.0.0.1:9")))
    doc["connections"][0]["associations"] = associations
    return doc


@pytest.mark.parametrize("provider", provider_names())
def test_every_example_links_contacts_and_deals_to_companies(provider: str, tmp_path: Path) -> None:
    doc = load_config_file(_write(tmp_path, example_pointed_at(provider, "http://127.0.0.1:9")))
    links = doc.connections[0].associations
    assert [a.via for a in links] == ["company_id", "company_id"]
    assert all(a.link_type for a in links)
    assert check_source_fields(doc, SCHEMAS) == []


def test_the_crm_default_type_is_used_and_a_given_one_kept(tmp_path: Path) -> None:
    doc = load_config_file(
        _write(
            tmp_path,
            _hubspot(
                [
                    {"name": "a", "from": "contacts", "to": "companies", "via": "company_id",
                     "parent_rule": "companies"},
                    {"name": "b", "from": "deals", "to": "companies", "via": "company_id",
                     "parent_rule": "companies", "type": 5},
                ]
            ),
        )
    )  # fmt: skip
    assert [a.link_type for a in doc.connections[0].associations] == ["279", "5"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"to": "tickets"}, "associations[0].to: hubspot has no object 'tickets'"),
        ({"parent_rule": "nope"}, "associations[0].parent_rule: no rule named 'nope'"),
        ({"parent_rule": "contacts"}, "rule 'contacts' must upsert 'companies'"),
        ({"type": "x y"}, "associations[0].type"),
        ({"to": "deals", "from": "deals", "parent_rule": "deals"}, "no default link"),
        ({"colour": "red"}, "unknown key(s) ['colour']"),
    ],
)
def test_a_wrong_association_is_refused_naming_its_path(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    spec = {"name": "a", "from": "contacts", "to": "companies", "via": "company_id",
            "parent_rule": "companies", **change}  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        load_config_file(_write(tmp_path, _hubspot([spec])))
    assert message in str(raised.value)


def test_a_column_the_child_table_lacks_is_refused(tmp_path: Path) -> None:
    spec = {"name": "a", "from": "contacts", "to": "companies", "via": "employer",
            "parent_rule": "companies"}  # fmt: skip
    doc = load_config_file(_write(tmp_path, _hubspot([spec])))
    problems = check_source_fields(doc, SCHEMAS)
    assert problems == [
        f"{doc.source}: connections[0].associations[0].via: demo.contacts has no field 'employer'"
    ]


def test_a_link_the_crm_cannot_make_is_refused(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(example_pointed_at("pipedrive", "http://127.0.0.1:9")))
    doc["connections"][0]["associations"][0]["type"] = "person_id"
    with pytest.raises(ConfigError, match="person_id points at persons, not organizations"):
        load_config_file(_write(tmp_path, doc))


def test_a_child_row_names_its_parent_by_record_key_and_the_newest_version_wins() -> None:
    assoc = Association("a", "contacts", "companies", "company_id", "companies", "279")
    assert parent_keys([assoc], "contacts", {"company_id": 42}) == [
        {"association": "a", "parent_object": "companies", "parent_key": "42"}
    ]
    assert parent_keys([assoc], "contacts", {"company_id": None})[0]["parent_key"] is None
    assert parent_keys([assoc], "deals", {"company_id": 42}) == []

    def item(version: int, parent: str) -> OutboxItem:
        return OutboxItem(
            object="contacts", record_key="7", source_table="demo.contacts", op="upsert",
            id_property="syncsvc_id", id_value="7", payload={}, version=version,
            links=[{"association": "a", "parent_object": "companies", "parent_key": parent}],
        )  # fmt: skip

    [link] = wanted_links([item(5, "1"), item(9, "2"), item(7, "3")])
    assert (link["parent_key"], link["version"]) == ("2", 9)
