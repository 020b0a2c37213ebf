"""The API worker's client socket: reads end at the phase's deadline, with a logged drop; the
bytes the event loop read ahead come first."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from gunicorn.http.errors import NoMoreData

from syncsvc.api.worker import ClientSocket, SlowClient


@pytest.fixture
def pair() -> Iterator[tuple[ClientSocket, socket.socket]]:
    a, b = socket.socketpair()
    server = ClientSocket(a, "198.51.100.9:4242", send_timeout=5.0)
    yield server, b
    server.close()
    b.close()


def test_a_read_past_the_deadline_is_a_logged_slow_client(
    pair: tuple[ClientSocket, socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    server, client = pair
    server.setblocking(True)
    server.arm("body", 0.2)
    client.sendall(b"part")
    assert server.recv(100) == b"part"
    with caplog.at_level(logging.WARNING, "syncsvc.api"):
        with pytest.raises(SlowClient) as caught:
            server.recv(100)
        with pytest.raises(NoMoreData):  # what gunicorn drops quietly
            server.recv(100)
    assert str(caught.value) == "198.51.100.9:4242: the request body took longer than 0.2 s"
    assert [r.getMessage() for r in caplog.records] == [
        "dropped a slow client 198.51.100.9:4242: the request body took longer than 0.2 s"
    ]


def test_a_callers_shorter_timeout_stays_the_callers(
    pair: tuple[ClientSocket, socket.socket],
) -> None:
    server, _ = pair
    server.arm("body", 60.0)
    server.settimeout(0.1)  # gunicorn bounding a drain
    with pytest.raises(TimeoutError) as caught:
        server.recv(100)
    assert not isinstance(caught.value, SlowClient)


def test_the_head_read_ahead_comes_first_then_the_socket(
    pair: tuple[ClientSocket, socket.socket],
) -> None:
    server, client = pair
    server.setblocking(False)
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    assert server.fill_head() is False
    client.sendall(b"\r\n{}")
    assert server.fill_head() is True
    server.setblocking(True)
    server.arm("head", 5.0)
    assert server.recv(8) == b"GET / HT"
    assert server.recv(100) == b"TP/1.1\r\nHost: x\r\n\r\n{}"
    client.sendall(b"more")
    assert server.recv(100) == b"more"
    client.close()
    assert server.recv(100) == b""


def test_a_client_that_closes_during_its_head_is_noticed(
    pair: tuple[ClientSocket, socket.socket],
) -> None:
    server, client = pair
    server.setblocking(False)
    client.close()
    with pytest.raises(EOFError):
        server.fill_head()
