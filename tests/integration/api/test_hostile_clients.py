"""Clients that send slowly, hold connections or guess keys cannot stall or flood the API.

Run against the strict API: one process of two threads, 2 s for a request head and for a body,
5 failed authentications a minute per client address.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.integration.api.conftest import ApiProcess, ApiWorld, contacts_connection
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

PARTIAL = (
    b"",  # connected, silent
    b"GET /healthz HTT",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
    b"POST /v1/events HTTP/1.1\r\nContent-Type: application/json\r\nContent-Le",
    b"G",
)


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


@contextlib.contextmanager
def held_sockets(url: str, payloads: list[bytes]) -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    try:
        for data in payloads:
            s = socket.create_connection(address(url), timeout=5)
            s.sendall(data)
            socks.append(s)
        yield socks
    finally:
        for s in socks:
            s.close()


def closed_by_server(s: socket.socket) -> bool:
    readable, _, _ = select.select([s], [], [], 0)
    if not readable:
        return False
    try:
        return s.recv(4096) == b""
    except ConnectionError:
        return True


def test_clients_holding_partial_requests_do_not_stall_the_api(strict_api: ApiProcess) -> None:
    payloads = [PARTIAL[i % len(PARTIAL)] for i in range(20)]
    with held_sockets(strict_api.url, payloads) as socks:
        for _ in range(5):  # a fresh connection each time, answered within a second
            resp = requests.get(f"{strict_api.url}/healthz", timeout=1)
            assert resp.status_code == 200
        assert requests.get(f"{strict_api.ops_url}/healthz", timeout=1).status_code == 200
        # And the slow ones are dropped once their 2 s are up, and logged.
        wait_until(lambda: all(closed_by_server(s) for s in socks), 30)
    wait_until(lambda: "dropped a slow client" in strict_api.log(), 10, message=strict_api.log)


def test_a_body_that_stalls_gets_408_and_the_connection_closes(
    world: ApiWorld, strict_api: ApiProcess
) -> None:
    world.connections(contacts_connection("slow-body"))
    key = world.key("slow-body", "write")
    head = (
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: 100\r\n\r\n"
    )
    with held_sockets(strict_api.url, [head.encode() + b'{"events": ']) as (s,):
        s.settimeout(30)
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b'"error": "request_timeout"' in answer
    assert "took longer than 2 s" in strict_api.log()


def test_failed_authentications_are_limited_per_client_address(
    world: ApiWorld, strict_api: ApiProcess
) -> None:
    world.connections(contacts_connection("guarded"))
    good = world.client("guarded", "read", url=strict_api.url)
    path = "/v1/connections/guarded/changes"
    bad = {"Authorization": "Bearer sk_not-a-real-key-but-well-formed-0123456789"}
    statuses = [
        requests.get(strict_api.url + path, headers=h, timeout=10).status_code
        for h in (bad, {}, bad, {"Authorization": "Basic eDp5"}, bad)
    ]
    assert statuses == [401] * 5
    refused = requests.get(strict_api.url + path, headers=bad, timeout=10)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert requests.get(strict_api.url + path, timeout=10).status_code == 429
    assert good.changes("guarded").status_code == 200, "a valid key is not held to it"

    # Another client address has its own window.
    host, port = address(strict_api.url)
    other = http.client.HTTPConnection(host, port, timeout=10, source_address=("127.0.0.2", 0))
    try:
        other.request("GET", path, headers=bad)
        assert other.getresponse().status == 401
    finally:
        other.close()
