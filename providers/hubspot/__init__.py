"""HubSpot CRM v3: contacts, companies and deals through the batch API."""

from providers.base import Provider
from providers.hubspot.client import HubSpotClient
from providers.hubspot.defaults import DEFAULTS
from providers.hubspot.transformer import HubSpotTransformer

PROVIDER = Provider(
    name="hubspot",
    defaults=DEFAULTS,
    client_class=HubSpotClient,
    transformer=HubSpotTransformer(),
)

__all__ = ["PROVIDER", "HubSpotClient", "HubSpotTransformer"]
