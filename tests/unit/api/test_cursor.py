"""Poll cursors: opaque, bound to one connection, refused when altered."""

from __future__ import annotations

import base64

import pytest

from syncsvc.api import cursor
from syncsvc.api.config import derive_cursor_key
from syncsvc.api.cursor import CursorError, Position

KEY = derive_cursor_key(b"a master key for the tests")


@pytest.mark.parametrize(
    "position",
    [Position(0, 0), Position(1, 1), Position(2**40 + 7, 123456), Position(2**63 - 1, 2**63 - 1)],
)
def test_a_cursor_decodes_to_the_position_it_was_made_from(position: Position) -> None:
    assert cursor.decode(KEY, 7, cursor.encode(KEY, 7, position)) == position


def test_a_cursor_is_opaque_and_url_safe() -> None:
    text = cursor.encode(KEY, 7, Position(272900, 1))
    assert "272900" not in text
    assert all(c.isalnum() or c in "-_." for c in text)


def test_positions_order_by_transaction_then_sequence() -> None:
    assert Position(1, 99) < Position(2, 0) < Position(2, 1)
    assert max(Position(5, 1), Position(4, 9)) == Position(5, 1)


def test_a_cursor_of_another_connection_is_refused() -> None:
    text = cursor.encode(KEY, 7, Position(10, 2))
    with pytest.raises(CursorError, match="not issued for this connection"):
        cursor.decode(KEY, 8, text)


def test_a_cursor_made_with_another_key_is_refused() -> None:
    text = cursor.encode(derive_cursor_key(b"another master key"), 7, Position(10, 2))
    with pytest.raises(CursorError):
        cursor.decode(KEY, 7, text)


def test_an_edited_position_is_refused() -> None:
    text = cursor.encode(KEY, 7, Position(10, 2))
    mac = text.split(".")[1]
    forged = base64.urlsafe_b64encode(b"99999999:2").rstrip(b"=").decode() + "." + mac
    with pytest.raises(CursorError):
        cursor.decode(KEY, 7, forged)


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "abc",
        "a.b.c",
        "!!!.???",
        "x" * 300,
        "MTox.",
        ".MTox",
        "MTox.MTox",
        "\x00.\x00",
        "é.é",
    ],
)
def test_malformed_cursors_are_refused(text: str) -> None:
    with pytest.raises(CursorError):
        cursor.decode(KEY, 7, text)


def test_a_validly_signed_but_malformed_body_is_refused() -> None:
    body = b"-1:5"
    mac = cursor._mac(KEY, 7, body)
    text = cursor._b64(body) + "." + cursor._b64(mac)
    with pytest.raises(CursorError, match="malformed"):
        cursor.decode(KEY, 7, text)
