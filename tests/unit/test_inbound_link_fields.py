"""What each CRM's client reads a child's parent from on the inbound path (issue 14,
associations B → A): the fields read with the child, and its parent's CRM id (None: none)."""

from __future__ import annotations

import json
from typing import Any

import requests

from providers.base import CrmRecord
from providers.dynamics import DynamicsClient
from providers.dynamics import links as dynamics
from providers.hubspot import links as hubspot
from providers.pipedrive import PipedriveClient
from providers.pipedrive import links as pipedrive
from providers.zoho import ZohoClient
from providers.zoho import links as zoho

ACCOUNT = "1f0c2e9a-2b7d-4c1e-9a55-0c3b9d2e7f10"


def records(*values: dict[str, Any]) -> dict[str, CrmRecord]:
    return {str(i): CrmRecord(str(i), v, None) for i, v in enumerate(values)}


def test_pipedrive_reads_the_relation_field_of_the_record() -> None:
    assert PipedriveClient.link_fields("persons", "organizations", "org_id") == ["org_id"]
    assert PipedriveClient.link_fields("deals", "persons", "person_id") == ["person_id"]
    found = pipedrive.parent_ids(
        "org_id", records({"org_id": 7}, {"org_id": None}, {"org_id": {"value": 8}}, {})
    )
    assert found == {"0": "7", "1": None, "2": "8", "3": None}


def test_zoho_reads_the_lookup_object_of_the_record() -> None:
    assert ZohoClient.link_fields("Contacts", "Accounts", "Account_Name") == ["Account_Name"]
    found = zoho.parent_ids(
        "Account_Name",
        records(
            {"Account_Name": {"name": "North", "id": "5725767000000001"}}, {"Account_Name": None}
        ),
    )
    assert found == {"0": "5725767000000001", "1": None}


def test_dataverse_reads_the_lookup_value_and_only_a_record_of_the_link_types_table() -> None:
    value = "_parentcustomerid_value"
    table = value + dynamics.LOGICAL_NAME
    assert DynamicsClient.link_fields("contacts", "accounts", "parentcustomerid_account") == [
        value,
        table,
    ]
    assert DynamicsClient.link_fields("opportunities", "accounts", "parentaccountid") == [
        "_parentaccountid_value",
        "_parentaccountid_value" + dynamics.LOGICAL_NAME,
    ]
    found = dynamics.parent_ids(
        "contacts",
        "parentcustomerid_account",
        records(
            {value: ACCOUNT.upper(), table: "account"},
            {value: ACCOUNT, table: "contact"},  # the parent customer is a contact
            {value: None},
            {value: ACCOUNT},  # no annotation: taken as the link type's table
        ),
    )
    assert found == {"0": ACCOUNT, "1": None, "2": None, "3": ACCOUNT}


def test_hubspot_takes_the_one_association_of_the_type_and_leaves_an_ambiguous_child_out() -> None:
    def to(company: int, type_id: int = 279) -> dict[str, Any]:
        kinds = [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]
        return {"toObjectId": company, "associationTypes": kinds}

    answer = {
        "status": "COMPLETE",
        "results": [
            {"from": {"id": "0"}, "to": [to(11), to(12, type_id=1)]},
            {"from": {"id": "1"}, "to": [to(11), to(12)]},  # moved internally: both kept
        ],
    }

    def call(method: str, path: str, body: Any) -> requests.Response:
        assert (method, path) == ("POST", "/crm/v4/associations/contacts/companies/batch/read")
        assert body == {"inputs": [{"id": "0"}, {"id": "1"}, {"id": "2"}]}
        response = requests.Response()
        response.status_code, response._content = 200, json.dumps(answer).encode()
        return response

    found = hubspot.parent_ids(call, "contacts", "companies", "279", records({}, {}, {}))
    assert found == {"0": "11", "2": None}
