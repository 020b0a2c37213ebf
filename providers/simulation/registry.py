"""Find a CRM's simulator by provider name, for tooling only (``manage.py simulate``, tests, the
benchmark): ``providers/<name>/sim/`` exporting ``make_simulator``.

The product never comes here, so a push worker loads no simulator. Only the names
``providers.registry`` knows are looked up.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from providers.registry import provider_names
from providers.simulation.app import SimApp
from syncsvc.errors import ConfigError


def make_simulator(provider: str, options: Mapping[str, Any] | None = None) -> SimApp:
    """``provider``'s simulator configured from ``options`` (unknown ones raise ``ConfigError``)."""
    if provider not in provider_names():
        known = ", ".join(provider_names()) or "none"
        raise ConfigError(f"unknown provider {provider!r} (known: {known})")
    module = importlib.import_module(f"providers.{provider}.sim")
    factory = getattr(module, "make_simulator", None)
    if not callable(factory):
        raise ConfigError(f"providers.{provider}.sim does not export make_simulator")
    simulator = factory(options or {})
    if not isinstance(simulator, SimApp):
        raise ConfigError(f"providers.{provider}.sim.make_simulator did not return a SimApp")
    return simulator
