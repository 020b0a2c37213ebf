"""Shared machinery for the CRM simulators (each provider ships its own ``SimApp``)."""

from providers.simulation.app import (
    RollingWindow,
    SimApp,
    SimRequest,
    SimResponse,
    empty_response,
    json_response,
)
from providers.simulation.server import SimServer

__all__ = [
    "RollingWindow",
    "SimApp",
    "SimRequest",
    "SimResponse",
    "SimServer",
    "empty_response",
    "json_response",
]
