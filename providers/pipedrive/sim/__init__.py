"""An in-memory Pipedrive account speaking API v2 over HTTP: tooling for tests, the demo
and the benchmark. The product (``providers.pipedrive``) never imports it; find it by provider name
with ``providers.simulation.registry.make_simulator``."""

from providers.pipedrive.sim.app import PipedriveSim, make_simulator

__all__ = ["PipedriveSim", "make_simulator"]
