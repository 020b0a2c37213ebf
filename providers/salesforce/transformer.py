"""Default field mappings for the demo tables and Salesforce's value conventions (JSON types)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from providers.base import Transformer
from providers.salesforce.defaults import KEY_FIELD
from providers.values import JsonValues, utc_milliseconds

STAGES = {
    "appointmentscheduled": "Prospecting",
    "qualifiedtobuy": "Qualification",
    "presentationscheduled": "Value Proposition",
    "decisionmakerboughtin": "Proposal/Price Quote",
    "contractsent": "Negotiation/Review",
    "closedwon": "Closed Won",
    "closedlost": "Closed Lost",
}
"""The demo's (HubSpot-style) deal stages → Salesforce's standard StageName picklist values."""

INDUSTRIES = {
    "software": "Technology",
    "retail": "Retail",
    "finance": "Finance",
    "health": "Healthcare",
    "logistics": "Transportation",
}
"""Demo industries → Salesforce's standard Industry picklist values (others pass unchanged)."""

UNKNOWN_LAST_NAME = "[not provided]"
"""LastName is required on Contact; a contact without one still syncs under this name."""
OPEN_CLOSE_DATE = "2099-12-31"
"""CloseDate is required on Opportunity; a deal without one gets this placeholder."""


def _key() -> dict[str, Any]:
    """Our record id in the unique External ID field: the upsert key that makes retries harmless."""
    return {"source": "id", "target": KEY_FIELD, "transforms": ["to_string"], "required": True}


DEFAULT_MAPPINGS: dict[str, list[dict[str, Any]]] = {
    "Contact": [
        _key(),
        {"source": "first_name", "target": "FirstName", "transforms": ["strip", {"truncate": 40}]},
        {
            "source": "last_name",
            "target": "LastName",
            "transforms": ["strip", {"truncate": 80}, {"default": UNKNOWN_LAST_NAME}],
            "required": True,
        },
        {"source": "email", "target": "Email", "transforms": ["strip", "lower", "empty_to_null"]},
        {"source": "phone", "target": "Phone", "transforms": ["strip", {"truncate": 40}]},
    ],
    "Account": [
        _key(),
        {"source": "name", "target": "Name", "transforms": ["strip"], "required": True},
        {"source": "domain", "target": "Website", "transforms": ["strip", "lower"]},
        {"source": "industry", "target": "Industry", "transforms": ["lower", {"map": INDUSTRIES}]},
        {"source": "city", "target": "BillingCity", "transforms": ["strip", {"truncate": 40}]},
    ],
    "Opportunity": [
        _key(),
        {
            "source": "name",
            "target": "Name",
            "transforms": ["strip", {"truncate": 120}],
            "required": True,
        },
        {"source": "amount", "target": "Amount", "transforms": ["to_number"]},
        {
            "source": "stage",
            "target": "StageName",
            "transforms": ["lower", {"map": STAGES}, {"default": "Prospecting"}],
            "required": True,
        },
        {
            "source": "close_date",
            "target": "CloseDate",
            "transforms": [{"date": "%Y-%m-%d"}, {"default": OPEN_CLOSE_DATE}],
            "required": True,
        },
    ],
}


salesforce_value = JsonValues(
    "salesforce", utc_milliseconds, multi_separator=";", mapping_as_text=True
)
"""One field value as the REST API takes it: date-times ISO 8601 in UTC with milliseconds,
multi-select picklists ``;``-joined."""


class SalesforceTransformer(Transformer):
    default_mappings: Mapping[str, Sequence[Mapping[str, Any]]] = DEFAULT_MAPPINGS

    def shape(self, object_name: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Flat fields keyed by API name; the client wraps them into collection records."""
        return {str(k): salesforce_value(v, str(k)) for k, v in properties.items()}
