"""The config document as typed values (what a YAML file means once checked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncsvc.inbound.model import InboundSpec
from syncsvc.kinds import ACTIONS, MODES, OP_CODES, OPERATIONS, Action, Mode, Operation
from syncsvc.links.model import Association

__all__ = ["ACTIONS", "MODES", "OPERATIONS", "OP_CODES", "ConfigDocument", "ConnectionSpec"]


@dataclass(frozen=True)
class RuleSpec:
    name: str
    source: str
    operations: tuple[Operation, ...]
    action: Action
    object: str
    id_property: str | None = None
    when: dict[str, Any] | None = None
    enabled: bool = True


@dataclass(frozen=True)
class ConnectionSpec:
    name: str
    provider: str
    mode: Mode
    base_url: str
    rate_limit_requests: int
    rate_limit_seconds: int
    batch_size: int
    max_attempts: int
    enabled: bool
    options: dict[str, Any]
    objects: dict[str, list[dict[str, Any]]]
    """Field mappings per target object (explicit or the provider's defaults)."""
    rules: tuple[RuleSpec, ...]
    credentials: dict[str, Any] | None = None
    """Resolved credentials (secret); None when the file gave an encrypted blob."""
    credentials_ref: dict[str, Any] | None = None
    """The credentials as written, when every value is an environment reference."""
    credentials_encrypted: str | None = None
    inbound: InboundSpec | None = None
    """Changes flowing back from the CRM (issue 14); None: push only."""
    associations: tuple[Association, ...] = ()
    """Child records linked to their parents at the CRM (``syncsvc.links``)."""


@dataclass(frozen=True)
class ConfigDocument:
    source: str
    connections: tuple[ConnectionSpec, ...] = field(default_factory=tuple)
