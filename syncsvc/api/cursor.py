"""Poll cursors: an opaque, tamper-evident position ``(tx, seq)`` in one connection's feed.

A cursor is ``base64url("tx:seq") + "." + base64url(HMAC-SHA256(key, "connection:tx:seq")[:16])``.
The MAC binds it to its connection, so a cursor of one connection is refused by another, and
a client cannot make up a position it was never given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

MAC_BYTES = 16
MAX_CURSOR_CHARS = 200
_BODY = re.compile(r"^(0|[1-9][0-9]{0,19}):(0|[1-9][0-9]{0,19})$")
MAX_POSITION = 2**63 - 1


class CursorError(ValueError):
    """The cursor was not made by this service for this connection."""


@dataclass(frozen=True, order=True)
class Position:
    """Where the feed stands: the transaction id and sequence number of the last change."""

    tx: int
    seq: int


START = Position(0, 0)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise CursorError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CursorError("not base64url") from None


def _mac(key: bytes, connection_id: int, body: bytes) -> bytes:
    message = str(connection_id).encode() + b":" + body
    return hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]


def encode(key: bytes, connection_id: int, position: Position) -> str:
    body = f"{position.tx}:{position.seq}".encode()
    return f"{_b64(body)}.{_b64(_mac(key, connection_id, body))}"


def decode(key: bytes, connection_id: int, cursor: str) -> Position:
    """The position in ``cursor``; ``CursorError`` when it is malformed or not ours."""
    if not cursor or len(cursor) > MAX_CURSOR_CHARS or cursor.count(".") != 1:
        raise CursorError("malformed cursor")
    body_text, mac_text = cursor.split(".")
    body = _unb64(body_text)
    mac = _unb64(mac_text)
    if not hmac.compare_digest(mac, _mac(key, connection_id, body)):
        raise CursorError("cursor was not issued for this connection")
    match = _BODY.match(body.decode("ascii", errors="replace"))
    if match is None:
        raise CursorError("malformed cursor")
    tx, seq = int(match.group(1)), int(match.group(2))
    if tx > MAX_POSITION or seq > MAX_POSITION:
        raise CursorError("malformed cursor")
    return Position(tx, seq)
