"""Find provider packages by name: ``providers/<name>/`` exporting ``PROVIDER``."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import Path

from providers.base import Provider
from syncsvc.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent
_NOT_PROVIDERS = {"simulation"}


@cache
def provider_names() -> tuple[str, ...]:
    names = [
        m.name
        for m in pkgutil.iter_modules([str(_PACKAGE_DIR)])
        if m.ispkg and m.name not in _NOT_PROVIDERS and not m.name.startswith("_")
    ]
    return tuple(sorted(names))


@cache
def get_provider(name: str) -> Provider:
    if name not in provider_names():
        known = ", ".join(provider_names()) or "none"
        raise ConfigError(f"unknown provider {name!r} (known: {known})")
    module = importlib.import_module(f"providers.{name}")
    provider = getattr(module, "PROVIDER", None)
    if not isinstance(provider, Provider):
        raise ConfigError(f"providers.{name} does not export a PROVIDER")
    return provider
