"""Who may do what: key scopes, the address a failed authentication counts against, and which
listener a connection reached."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from syncsvc.api.keys import SCOPES, Principal
from syncsvc.api.ratelimit import client_bucket
from syncsvc.api.server import Listeners, tcp_port
from syncsvc.errors import ConfigError


def key(scope: str) -> Principal:
    return Principal(1, scope, None, 1, "c", "poll", True)


@pytest.mark.parametrize(
    ("scope", "operations"),
    [
        ("read", {"read"}),
        ("ack", {"read", "ack"}),
        ("ingest", {"ingest"}),
        ("write", {"read", "ack", "ingest"}),
        ("unknown", set()),
    ],
)
def test_each_scope_grants_its_operations_and_nothing_else(
    scope: str, operations: set[str]
) -> None:
    assert {op for op in ("read", "ack", "ingest") if key(scope).may(op)} == operations


def test_keys_can_be_made_with_every_scope() -> None:
    assert set(SCOPES) == {"read", "ack", "ingest", "write"}


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("", "unknown"),
    ],
)
def test_failed_authentications_count_per_address_and_per_ipv6_64(
    address: str, bucket: str
) -> None:
    assert client_bucket(address) == bucket


@pytest.mark.parametrize(
    ("bind", "port"),
    [("127.0.0.1:8001", 8001), ("[::1]:9100", 9100), ("0.0.0.0:80", 80), ("unix:/tmp/a", None)],
)
def test_bind_ports(bind: str, port: int | None) -> None:
    assert tcp_port(bind, "--ops-bind") == port


@pytest.mark.parametrize("bind", ["127.0.0.1", "127.0.0.1:http", "127.0.0.1:0", ":70000"])
def test_bad_binds_are_refused(bind: str) -> None:
    with pytest.raises(ConfigError, match="--ops-bind"):
        tcp_port(bind, "--ops-bind")


class FakeSocket:
    def __init__(self, local: Any) -> None:
        self.local = local

    def getsockname(self) -> Any:
        if isinstance(self.local, Exception):
            raise self.local
        return self.local


def app(name: str) -> Any:
    return lambda environ, start_response: [name.encode()]


@pytest.mark.parametrize(
    ("local", "which"),
    [
        (("127.0.0.1", 8001), "ops"),
        (("::1", 8001, 0, 0), "ops"),
        (("127.0.0.1", 8000), "tenant"),
        ("/run/api.sock", "tenant"),
        (OSError("gone"), "tenant"),
        (None, "tenant"),
    ],
)
def test_the_listener_decides_the_app_not_the_host_header(local: Any, which: str) -> None:
    listeners = Listeners(app("tenant"), app("ops"), 8001)
    environ = {"HTTP_HOST": "127.0.0.1:8001", "SERVER_PORT": "8001"}
    if local is not None:
        environ["gunicorn.socket"] = FakeSocket(local)  # type: ignore[assignment]
    assert list(listeners(environ, lambda *a: None)) == [which.encode()]


def test_a_real_socket_reports_the_port_it_was_accepted_on() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        listeners = Listeners(app("tenant"), app("ops"), port)
        with socket.create_connection(("127.0.0.1", port)) as _client:
            conn, _ = server.accept()
            with conn:
                environ: dict[str, Any] = {"gunicorn.socket": conn}
                assert list(listeners(environ, lambda *a: None)) == [b"ops"]


@pytest.mark.parametrize(
    ("bind", "ops_bind", "message"),
    [
        ("127.0.0.1:8000", "0.0.0.0:8000", "another port"),
        ("127.0.0.1:8000", "unix:/run/ops.sock", "a TCP address"),
    ],
)
def test_the_ops_listener_needs_a_port_of_its_own(bind: str, ops_bind: str, message: str) -> None:
    from syncsvc.api.server import serve

    with pytest.raises(ConfigError, match=message):
        serve(None, bind, 1, 1, ops_bind=ops_bind)  # type: ignore[arg-type]
