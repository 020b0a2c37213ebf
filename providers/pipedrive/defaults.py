"""Pipedrive defaults (API_NOTES §3): one record per request, a rolling 2-second burst window.

Pipedrive has no batch write and no upsert, so ``batch_size`` is how many outbox rows one
``push`` call works through (one request each, plus a search for rows we have no id for).
"""

from __future__ import annotations

import re
from types import MappingProxyType

from providers.base import ProviderDefaults

OBJECTS = ("persons", "organizations", "deals")

MAX_PER_REQUEST = 1
"""Pipedrive takes one record per create/update/delete request."""
DEFAULT_BATCH = 50
"""Rows per ``push`` call: each is its own request, so keep a call well inside a lease."""

TOKEN_URL = "https://oauth.pipedrive.com/oauth/token"  # noqa: S105 - a URL
API_DOMAINS = ("pipedrive.com",)
"""A token answer's ``api_domain`` (``https://{company}.pipedrive.com``) must be on this domain
(``providers.hosts``)."""
SEARCH_LIMIT = (10, 2.0)
"""The search endpoints have their own burst limit on every plan: 10 requests per 2 s."""
SEARCH_MAX_RESULTS = 500

CUSTOM_KEY_RE = re.compile(r"^[0-9a-f]{40}$")

FIELDS_PATH = MappingProxyType(
    {
        "persons": "/v1/personFields",
        "organizations": "/v1/organizationFields",
        "deals": "/v1/dealFields",
    }
)

STANDARD_FIELDS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "persons": frozenset(
            {"name", "owner_id", "org_id", "emails", "phones", "visible_to", "label_ids"}
            | {"marketing_status", "add_time", "update_time"}
        ),
        "organizations": frozenset(
            {"name", "owner_id", "address", "visible_to", "label_ids", "website", "linkedin"}
            | {"industry", "annual_revenue", "employee_count", "add_time", "update_time"}
        ),
        "deals": frozenset(
            {"title", "owner_id", "person_id", "org_id", "pipeline_id", "stage_id", "value"}
            | {"currency", "status", "probability", "lost_reason", "visible_to", "label_ids"}
            | {"expected_close_date", "close_time", "won_time", "lost_time", "is_archived"}
            | {"archive_time", "add_time", "update_time"}
        ),
    }
)
"""The API v2 body keys (not custom fields) each object accepts on create and update."""

SEARCH_FIELDS: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {
        "persons": MappingProxyType({"name": "name", "emails": "email", "phones": "phone"}),
        "organizations": MappingProxyType({"name": "name", "address": "address"}),
        "deals": MappingProxyType({"title": "title"}),
    }
)
"""Standard fields a key may live in, and the ``fields`` value that searches them."""

NUMERIC_FIELDS = frozenset(
    {"owner_id", "org_id", "person_id", "pipeline_id", "stage_id", "visible_to", "value"}
    | {"probability", "annual_revenue", "employee_count", "industry"}
)
"""v2 does not turn strings into numbers: these must be sent as JSON numbers."""

MAX_LENGTH = MappingProxyType({"varchar": 255, "varchar_auto": 255, "phone": 255, "text": 65535})
"""Characters a value of these field types holds (Pipedrive's field-type docs: "Text (up to 255
characters)", "Long text (up to 65k characters)"); the field list does not say it per field."""
V1_TO_V2 = MappingProxyType(
    {"email": "emails", "phone": "phones", "user_id": "owner_id", "pipeline": "pipeline_id"}
    | {"label": "label_ids"}
)
"""Standard fields ``GET /v1/{object}Fields`` lists under another key than API v2 writes."""
LOOKUP_FIELDS = MappingProxyType({"persons": frozenset({"emails", "phones"})})
"""Standard fields that identify a record well enough to be a rule's ``id_property``."""

LINK_TYPES = MappingProxyType(
    {
        ("persons", "organizations"): "org_id",
        ("deals", "organizations"): "org_id",
        ("deals", "persons"): "person_id",
    }
)
"""The child's relation field per (child, parent) pair."""

DEFAULTS = ProviderDefaults(
    base_url="https://api.pipedrive.com",
    batch_size=DEFAULT_BATCH,
    rate_limit_requests=20,
    rate_limit_seconds=2,
    objects=OBJECTS,
    id_property=MappingProxyType({}),
    records_per_call=MAX_PER_REQUEST,
    link_types=LINK_TYPES,
)
"""20 requests per 2 s is the lowest plan's API-token burst limit (OAuth apps get 4x that). No
default id property: a rule names the field its records are found by (Pipedrive has no upsert)."""
