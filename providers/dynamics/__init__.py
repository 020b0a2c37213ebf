"""Dynamics 365 / Dataverse Web API: contacts, accounts and opportunities by alternate key."""

from providers.base import Provider
from providers.dynamics.client import DynamicsClient
from providers.dynamics.defaults import DEFAULTS
from providers.dynamics.simulator import DynamicsSim, make_simulator
from providers.dynamics.transformer import DynamicsTransformer

PROVIDER = Provider(
    name="dynamics",
    defaults=DEFAULTS,
    client_class=DynamicsClient,
    transformer=DynamicsTransformer(),
    make_simulator=make_simulator,
)

__all__ = ["PROVIDER", "DynamicsClient", "DynamicsSim", "DynamicsTransformer", "make_simulator"]
