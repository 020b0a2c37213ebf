"""What a CRM's webhook receiver implements (inbound, issue 14): provider-neutral.

``POST /v1/inbound/{connection}`` reads the body (size-limited), finds the connection's
provider and hands the request to its ``Provider.webhooks``: ``verify`` proves the request is
that CRM's (a signature, basic auth, a token in the body: each CRM its own way) before anything
in it is trusted, ``parse`` turns the body into ``WebhookEvent``s. Both raise ``BadWebhook``;
the API answers 401 for a failed ``verify`` and 400 for a body ``parse`` refuses.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar


class BadWebhook(ValueError):
    """The request is not a valid webhook of this CRM (the message says why, without secrets)."""


@dataclass(frozen=True)
class WebhookEvent:
    """One event of a webhook request, as syncsvc stores it."""

    event_key: str
    """Unique per change at the CRM: a redelivery repeats it and adds nothing."""
    object: str
    crm_id: str
    kind: str
    """``change`` (creation, update, restore) or ``delete``."""
    occurred_at: datetime | None


@dataclass(frozen=True)
class WebhookRequest:
    """One webhook request as it arrived, with the connection's decrypted credentials."""

    method: str
    uri: str
    body: bytes
    headers: Mapping[str, str | None]
    """Only the headers the receiver names in ``HEADERS``."""
    credentials: Mapping[str, Any]
    now: datetime


class WebhookReceiver(abc.ABC):
    """A CRM's webhooks: how a request proves itself, and what its body says."""

    HEADERS: ClassVar[tuple[str, ...]] = ()
    """The request headers ``verify`` reads."""

    @abc.abstractmethod
    def verify(self, request: WebhookRequest) -> None:
        """Raise ``BadWebhook`` unless the request is proven to be this connection's CRM."""

    @abc.abstractmethod
    def parse(self, body: Any) -> list[WebhookEvent]:
        """The events of a verified body (parsed JSON); events of objects or kinds syncsvc does
        not take are left out, a malformed body raises ``BadWebhook``."""
