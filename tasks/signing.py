"""Broker messages signed with a key derived from ``SYNCSVC_SECRET_KEY``.

Chain messages carry record payloads that the persist task writes to the outbox and the push
workers send to a tenant's CRM: whoever can write to the broker could otherwise make workers
send anything to any CRM. Every task message is JSON with an HMAC-SHA256 over it; a worker
refuses (and drops) a message that is unsigned, signed with another key or altered. A message
dropped this way loses nothing: the bridge re-dispatches events whose chain did not persist
(I-1) and the sweeper re-sends due outbox rows.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from kombu.serialization import register
from kombu.utils.json import dumps, loads

SERIALIZER = "syncsvc-signed-json"
CONTENT_TYPE = "application/x-syncsvc-signed-json"
_CONTEXT = b"syncsvc broker messages v1"


class BadSignature(ValueError):
    """A broker message that syncsvc did not sign with this key."""


def message_key(master: bytes) -> bytes:
    """A key used only for broker messages: a signature reveals nothing of the master key."""
    return hmac.new(master, _CONTEXT, hashlib.sha256).digest()


def install(master: bytes) -> None:
    """Register the signing serializer for this process with the key derived from ``master``."""
    key = message_key(master)

    def sign(body: str) -> str:
        return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()

    def encode(payload: Any) -> str:
        body = dumps(payload)
        return f"{sign(body)}:{body}"

    def decode(data: str | bytes) -> Any:
        text = data.decode() if isinstance(data, bytes) else data
        signature, _, body = text.partition(":")
        if not hmac.compare_digest(signature, sign(body)):
            raise BadSignature("broker message not signed with this service's key: refused")
        return loads(body)

    register(SERIALIZER, encode, decode, content_type=CONTENT_TYPE, content_encoding="utf-8")
