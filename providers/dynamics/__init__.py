"""Dynamics 365 / Dataverse Web API: contacts, accounts and opportunities by alternate key."""

from providers.base import Provider
from providers.dynamics.client import DynamicsClient
from providers.dynamics.defaults import DEFAULTS
from providers.dynamics.transformer import DynamicsTransformer

PROVIDER = Provider(
    name="dynamics",
    defaults=DEFAULTS,
    client_class=DynamicsClient,
    transformer=DynamicsTransformer(),
)

__all__ = ["PROVIDER", "DynamicsClient", "DynamicsTransformer"]
