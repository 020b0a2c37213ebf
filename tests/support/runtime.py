"""Runtime connections built in memory, for unit tests of the pure core (claim, transform)."""

from __future__ import annotations

from collections.abc import Mapping

from providers.base import Provider
from providers.registry import get_provider
from syncsvc.config.runtime import CompiledRule, RuntimeConnection
from syncsvc.mapping.mapper import Mapper


def runtime_connection(
    cid: int,
    *rules: CompiledRule,
    provider: Provider | None = None,
    enabled: bool = True,
    mappers: Mapping[str, Mapper] | None = None,
) -> RuntimeConnection:
    """A push connection ``conn-<cid>`` (HubSpot unless ``provider``) with ``rules``."""
    return RuntimeConnection(
        id=cid,
        name=f"conn-{cid}",
        provider=provider or get_provider("hubspot"),
        mode="push",
        enabled=enabled,
        base_url="http://127.0.0.1:9",
        options={},
        batch_size=100,
        rate_limit_requests=100,
        rate_limit_seconds=10,
        max_attempts=10,
        credentials_enc=None,
        rules=rules,
        mappers=mappers or {},
    )
