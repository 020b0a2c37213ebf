"""An in-memory Zoho CRM org speaking the v8 record API over HTTP: tooling for tests, the demo
and the benchmark. The product (``providers.zoho``) never imports it; find it by provider name
with ``providers.simulation.registry.make_simulator``."""

from providers.zoho.sim.app import ZohoSim, make_simulator

__all__ = ["ZohoSim", "make_simulator"]
