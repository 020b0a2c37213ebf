"""HubSpot CRM v3: contacts, companies and deals through the batch API."""

from providers.base import Provider
from providers.hubspot.client import HubSpotClient
from providers.hubspot.defaults import DEFAULTS
from providers.hubspot.transformer import HubSpotTransformer
from providers.hubspot.webhooks import HubSpotWebhooks

PROVIDER = Provider(
    name="hubspot",
    defaults=DEFAULTS,
    client_class=HubSpotClient,
    transformer=HubSpotTransformer(),
    webhooks=HubSpotWebhooks(),
)

__all__ = ["PROVIDER", "HubSpotClient", "HubSpotTransformer"]
