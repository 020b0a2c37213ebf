"""Default field mappings for the demo tables and Dataverse's value conventions.

Values keep their JSON types (Dataverse wants numbers for Money/Integer/choice columns and
``YYYY-MM-DD`` strings for date-only columns); ``null`` clears a column. Choice (option set)
columns take integers, so the mappings translate the demo's labels with ``map``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from providers.base import Transformer
from providers.dynamics.defaults import KEY_ATTRIBUTE
from providers.values import JsonValues

INDUSTRY_CODES = {
    "software": 6,  # Business Services
    "retail": 25,  # Service Retail
    "finance": 16,  # Financial
    "health": 11,  # Doctor's Offices and Clinics
    "logistics": 30,  # Transportation
}
"""Demo industries → ``account.industrycode`` (the standard choice values 1–33)."""
SALES_STAGES = {
    "appointmentscheduled": 0,  # Qualify
    "qualifiedtobuy": 0,
    "presentationscheduled": 1,  # Develop
    "decisionmakerboughtin": 2,  # Propose
    "contractsent": 2,
    "closedwon": 3,  # Close
    "closedlost": 3,
}
"""Demo deal stages → ``opportunity.salesstage`` (0 Qualify, 1 Develop, 2 Propose, 3 Close)."""


def _key() -> dict[str, Any]:
    """Our record id in the alternate-key column: the upsert key that makes retries harmless."""
    return {"source": "id", "target": KEY_ATTRIBUTE, "transforms": ["to_string"], "required": True}


DEFAULT_MAPPINGS: dict[str, list[dict[str, Any]]] = {
    "contacts": [
        _key(),
        {"source": "first_name", "target": "firstname", "transforms": ["strip"]},
        {
            "source": "last_name",
            "target": "lastname",
            "transforms": ["strip", {"default": "(unknown)"}],
        },
        {"source": "email", "target": "emailaddress1", "transforms": ["strip", "lower"]},
        {"source": "phone", "target": "telephone1", "transforms": ["strip"]},
    ],
    "accounts": [
        _key(),
        {"source": "name", "target": "name", "transforms": ["strip", {"default": "(unnamed)"}]},
        {"source": "domain", "target": "websiteurl", "transforms": ["strip", "lower"]},
        {
            "source": "industry",
            "target": "industrycode",
            "transforms": ["lower", {"map": INDUSTRY_CODES}],
        },
        {"source": "city", "target": "address1_city", "transforms": ["strip"]},
    ],
    "opportunities": [
        _key(),
        {"source": "name", "target": "name", "transforms": ["strip", {"default": "(unnamed)"}]},
        {"source": "amount", "target": "estimatedvalue", "transforms": ["to_number"]},
        {
            "source": "close_date",
            "target": "estimatedclosedate",
            "transforms": [{"date": "%Y-%m-%d"}],
        },
        {"source": "stage", "target": "salesstage", "transforms": ["lower", {"map": SALES_STAGES}]},
    ],
}


dataverse_value = JsonValues("dynamics", multi_separator=",", mapping_as_text=True)
"""One column value as the Web API takes it; multi-select choices are comma-joined."""


class DynamicsTransformer(Transformer):
    default_mappings: Mapping[str, Sequence[Mapping[str, Any]]] = DEFAULT_MAPPINGS

    def shape(self, object_name: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Flat column values; the client sends them as the body of one request each."""
        return {str(k): dataverse_value(v, str(k)) for k, v in properties.items()}
