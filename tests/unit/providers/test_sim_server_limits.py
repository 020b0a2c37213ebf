"""A simulator refuses a request whose Content-Length is not a length, instead of reading to the
end of the connection (which a client holding the socket open would make it do forever)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator


@pytest.fixture
def server() -> Iterator[SimServer]:
    sim = SimServer(make_simulator("hubspot", {}), port=0).start()
    yield sim
    sim.stop()


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "+5"])
def test_a_bad_content_length_is_answered_400_at_once(server: SimServer, length: str) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            f"POST /crm/v3/objects/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
            "\r\n{}".encode()
        )
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 400"), answer
