"""An in-memory HubSpot account speaking CRM v3 over HTTP: tooling for tests, the demo
and the benchmark. The product (``providers.hubspot``) never imports it; find it by provider name
with ``providers.simulation.registry.make_simulator``."""

from providers.hubspot.sim.app import HubSpotSim, make_simulator

__all__ = ["HubSpotSim", "make_simulator"]
