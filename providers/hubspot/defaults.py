"""HubSpot CRM v3 defaults (API_NOTES §1): 100 inputs per batch call, 100 requests per 10 s."""

from __future__ import annotations

from types import MappingProxyType

from providers.base import ProviderDefaults

MAX_BATCH = 100
"""HubSpot rejects batch calls with more inputs than this."""

LINK_TYPES = MappingProxyType(
    {
        ("contacts", "companies"): "279",
        ("companies", "contacts"): "280",
        ("deals", "contacts"): "3",
        ("contacts", "deals"): "4",
        ("deals", "companies"): "341",
        ("companies", "deals"): "342",
    }
)
"""HubSpot's own (unlabelled) association types per (from, to) object pair."""

DEFAULTS = ProviderDefaults(
    base_url="https://api.hubapi.com",
    batch_size=MAX_BATCH,
    rate_limit_requests=100,
    rate_limit_seconds=10,
    objects=("contacts", "companies", "deals"),
    # Only contacts have a standard identity property (HubSpot dedupes them by email);
    # companies and deals need a unique property the account defines, named in each rule.
    id_property=MappingProxyType({"contacts": "email"}),
    link_types=LINK_TYPES,
)
