"""Dynamics 365 / Dataverse Web API defaults (API_NOTES §5).

One ``$batch`` carries at most 1000 requests; the service-protection limit is 6000 requests per
user in a 5-minute sliding window (a ``$batch`` counts once). Objects are entity sets. There is no
default id property: an upsert rule names the column that holds an alternate key in the
environment (``config apply`` checks it against the table's keys).
"""

from __future__ import annotations

from types import MappingProxyType

from providers.base import ProviderDefaults

API_PATH = "/api/data/v9.2"
MAX_BATCH = 1000
"""Dataverse refuses a ``$batch`` with more requests than this."""
LOGICAL_NAMES = MappingProxyType(
    {"contacts": "contact", "accounts": "account", "opportunities": "opportunity"}
)
"""Entity set name → table logical name (``options["logical_names"]`` adds custom tables)."""
TOKEN_URL = "https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token"  # noqa: S105
ODATA_HEADERS = MappingProxyType(
    {"OData-MaxVersion": "4.0", "OData-Version": "4.0", "Accept": "application/json"}
)

DEFAULTS = ProviderDefaults(
    base_url="https://org.crm.dynamics.com",
    batch_size=MAX_BATCH,
    rate_limit_requests=6000,
    rate_limit_seconds=300,
    objects=tuple(LOGICAL_NAMES),
    id_property=MappingProxyType({}),
    link_types=MappingProxyType(
        {
            ("contacts", "accounts"): "parentcustomerid_account",
            ("opportunities", "accounts"): "parentaccountid",
            ("opportunities", "contacts"): "parentcontactid",
        }
    ),
)
