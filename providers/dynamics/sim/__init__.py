"""An in-memory Dataverse environment speaking the Web API over HTTP: tooling for tests, the demo
and the benchmark. The product (``providers.dynamics``) never imports it; find it by provider name
with ``providers.simulation.registry.make_simulator``."""

from providers.dynamics.sim.app import DynamicsSim, make_simulator

__all__ = ["DynamicsSim", "make_simulator"]
