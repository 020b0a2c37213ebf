"""An in-memory Salesforce org speaking the REST API over HTTP: tooling for tests, the demo
and the benchmark. The product (``providers.salesforce``) never imports it; find it by provider name
with ``providers.simulation.registry.make_simulator``."""

from providers.salesforce.sim.app import SalesforceSim, make_simulator

__all__ = ["SalesforceSim", "make_simulator"]
