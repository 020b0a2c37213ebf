"""Zoho CRM v8 defaults (API_NOTES §4): 100 records per write call, OAuth tokens of one hour.

Zoho meters API credits over a rolling 24 hours and concurrent calls per org and app; it has no
published short window. Our per-connection window (100 requests / 10 s) keeps a busy connection
well inside the concurrency cap; credit exhaustion shows up as a ``daily`` ``RateLimited``.
"""

from __future__ import annotations

from types import MappingProxyType

from providers.base import ProviderDefaults

MAX_BATCH = 100
"""Zoho refuses insert/update/upsert calls with more records than this, and deletes of more ids."""
MAX_COQL_IN = 50
"""Values per COQL ``in (...)`` lookup (Zoho caps ``in`` lists; 50 is safe for v2.1 and later)."""
API_VERSION = "v8"
TOKEN_URL = "https://accounts.zoho.com/oauth/v2/token"  # noqa: S105 - a URL, not a secret
TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 - a path

DATA_CENTERS = MappingProxyType(
    {
        "us": "accounts.zoho.com",
        "eu": "accounts.zoho.eu",
        "in": "accounts.zoho.in",
        "au": "accounts.zoho.com.au",
        "cn": "accounts.zoho.com.cn",
        "jp": "accounts.zoho.jp",
        "ca": "accounts.zohocloud.ca",
        "sa": "accounts.zoho.sa",
        "uk": "accounts.zoho.uk",
    }
)
"""The Accounts server of each data centre (https://www.zoho.com/crm/developer/docs/api/v8/
multi-dc.html): a refresh token works only at the one that issued it (``options.data_center``)."""
API_DOMAINS = (
    "zohoapis.com", "zohoapis.eu", "zohoapis.in", "zohoapis.com.au", "zohoapis.com.cn",
    "zohoapis.jp", "zohoapis.ca", "zohoapis.sa", "zohoapis.uk",
)  # fmt: skip
"""Zoho's API domains (``www.zohoapis.<dc>``): the token answer's ``api_domain`` must be on one
(``providers.hosts``)."""
MODULES = ("Contacts", "Accounts", "Deals")

LINK_TYPES = MappingProxyType(
    {
        ("Contacts", "Accounts"): "Account_Name",
        ("Deals", "Accounts"): "Account_Name",
        ("Deals", "Contacts"): "Contact_Name",
    }
)
"""The child's standard lookup field per (child, parent) module pair."""

DEFAULTS = ProviderDefaults(
    base_url="https://www.zohoapis.com",
    batch_size=MAX_BATCH,
    rate_limit_requests=100,
    rate_limit_seconds=10,
    objects=MODULES,
    id_property=MappingProxyType({}),
    link_types=LINK_TYPES,
    # No default upsert key: each rule names a field the org holds unique values in (a custom
    # field with "Do not allow duplicate values"); config apply checks it against the metadata.
)


def module_path(module: str, *rest: str) -> str:
    """``/crm/v8/{module}/...`` (module API names are plain identifiers)."""
    return "/".join((f"/crm/{API_VERSION}", module, *rest))
