"""HubSpot CRM v3: contacts, companies and deals through the batch API."""

from providers.base import Provider
from providers.hubspot.client import HubSpotClient
from providers.hubspot.defaults import DEFAULTS
from providers.hubspot.simulator import HubSpotSim, make_simulator
from providers.hubspot.transformer import HubSpotTransformer

PROVIDER = Provider(
    name="hubspot",
    defaults=DEFAULTS,
    client_class=HubSpotClient,
    transformer=HubSpotTransformer(),
    make_simulator=make_simulator,
)

__all__ = ["PROVIDER", "HubSpotClient", "HubSpotSim", "HubSpotTransformer", "make_simulator"]
