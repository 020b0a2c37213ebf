"""Shared machinery for the CRM simulators: tooling, never imported by the product.

Each provider ships its own ``SimApp`` in ``providers/<name>/sim/``; ``guard`` is the door its API
calls go through (with the CRM's ``GuardPolicy``), ``registry`` finds one by provider name.
"""

from providers.simulation.app import (
    MAIN_HOST,
    RollingWindow,
    SimApp,
    SimRequest,
    SimResponse,
    empty_response,
    json_response,
)
from providers.simulation.server import SimServer

__all__ = [
    "MAIN_HOST",
    "RollingWindow",
    "SimApp",
    "SimRequest",
    "SimResponse",
    "SimServer",
    "empty_response",
    "json_response",
]
