"""Salesforce REST defaults (API_NOTES §2): sObject Collections of up to 200 records."""

from __future__ import annotations

from types import MappingProxyType

from providers.base import ProviderDefaults

MAX_BATCH = 200
"""sObject Collections refuse more records (or ids) than this in one call."""

API_VERSION = "v62.0"
"""Used when the connection's ``options["api_version"]`` says nothing (collection upsert: v46+)."""

TOKEN_URL = "https://login.salesforce.com/services/oauth2/token"  # noqa: S105 - a URL
TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path
LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")
"""Salesforce's shared login hosts: no org's API, and no client-credentials flow."""
INSTANCE_DOMAINS = ("salesforce.com", "force.com", "cloudforce.com", "salesforce.mil")
"""A token answer's ``instance_url`` must be on one of these (or a host the connection
configures: ``providers.hosts``): My Domains are ``*.my.salesforce.com``, sandboxes
``*.sandbox.my.salesforce.com``, older instances ``*.salesforce.com`` / ``*.force.com``,
government clouds ``*.salesforce.mil``."""

OBJECTS = ("Contact", "Account", "Opportunity", "Lead")
"""The sObjects a rule may name. Upserts need an External ID field on the object (a custom field
of the org's own, named by the rule's ``id_property``): Salesforce has none by default."""

LINK_TYPES = MappingProxyType(
    {
        ("Contact", "Account"): "AccountId",
        ("Opportunity", "Account"): "AccountId",
        ("Opportunity", "Contact"): "ContactId",
    }
)
"""The child's standard lookup field per (child, parent) sObject pair."""

DEFAULTS = ProviderDefaults(
    base_url="https://login.salesforce.com",
    batch_size=MAX_BATCH,
    # Salesforce has no short request window for calls under 20 s; what it counts is the org's
    # daily allocation over a rolling 24 h (100,000 + 1,000 per licence on Enterprise). The
    # default keeps a connection inside the smallest Enterprise allocation; set a connection's
    # ``rate_limit`` to its org's real allocation (or a share of it).
    rate_limit_requests=100_000,
    rate_limit_seconds=86_400,
    objects=OBJECTS,
    id_property=MappingProxyType({}),
    link_types=LINK_TYPES,
)


def api_path(version: str) -> str:
    """``/services/data/vXX.X`` for ``62.0`` or ``v62.0``."""
    version = version.strip()
    return "/services/data/" + (version if version.startswith("v") else "v" + version)
