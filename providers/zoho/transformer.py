"""Default field mappings for the demo tables and Zoho's value conventions (JSON types)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from providers.base import Transformer
from providers.values import JsonValues
from providers.zoho.defaults import KEY_FIELD

DEAL_STAGES = {
    "appointmentscheduled": "Qualification",
    "qualifiedtobuy": "Needs Analysis",
    "presentationscheduled": "Value Proposition",
    "decisionmakerboughtin": "Proposal/Price Quote",
    "contractsent": "Negotiation/Review",
    "closedwon": "Closed Won",
    "closedlost": "Closed Lost",
}
"""Demo stages → the standard Zoho Deals ``Stage`` picklist values."""
NO_CLOSING_DATE = "2099-12-31"
"""Zoho requires a closing date on every deal; a source row without one gets this."""
NO_LAST_NAME = "Unknown"
"""Zoho requires a last name on every contact."""


def _key() -> dict[str, Any]:
    """Our record id in the unique custom field ``Syncsvc_Id``: the upsert key (I-3)."""
    return {"source": "id", "target": KEY_FIELD, "transforms": ["to_string"], "required": True}


DEFAULT_MAPPINGS: dict[str, list[dict[str, Any]]] = {
    "Contacts": [
        _key(),
        {"source": "email", "target": "Email", "transforms": ["strip", "lower"]},
        {"source": "first_name", "target": "First_Name", "transforms": ["strip"]},
        {
            "source": "last_name",
            "target": "Last_Name",
            "transforms": ["strip", {"default": NO_LAST_NAME}],
        },
        {"source": "phone", "target": "Phone", "transforms": ["strip"]},
    ],
    "Accounts": [
        _key(),
        {"source": "name", "target": "Account_Name", "transforms": ["strip"], "required": True},
        {"source": "domain", "target": "Website", "transforms": ["strip", "lower"]},
        {"source": "industry", "target": "Industry", "transforms": ["strip", "title"]},
        {"source": "city", "target": "Billing_City", "transforms": ["strip"]},
    ],
    "Deals": [
        _key(),
        {"source": "name", "target": "Deal_Name", "transforms": ["strip"], "required": True},
        {"source": "amount", "target": "Amount", "transforms": ["to_number"]},
        {
            "source": "stage",
            "target": "Stage",
            "transforms": ["lower", {"map": DEAL_STAGES}, {"default": "Qualification"}],
        },
        {
            "source": "close_date",
            "target": "Closing_Date",
            "transforms": [{"date": "%Y-%m-%d"}, {"default": NO_CLOSING_DATE}],
        },
    ],
}


def _datetime(value: dt.datetime) -> str:
    """Zoho date-times: ``yyyy-MM-ddTHH:mm:ss±HH:mm`` (no fractions)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.replace(microsecond=0).isoformat()


zoho_value = JsonValues("zoho", _datetime)
"""One field value as Zoho's JSON wants it: multi-select values as lists, lookups as
``{"id": ...}`` objects."""


class ZohoTransformer(Transformer):
    default_mappings: Mapping[str, Sequence[Mapping[str, Any]]] = DEFAULT_MAPPINGS

    def shape(self, object_name: str, properties: dict[str, Any]) -> dict[str, Any]:
        """The flat record the client sends in ``data[]`` (field API names as keys)."""
        return {str(k): zoho_value(v, str(k)) for k, v in properties.items()}
