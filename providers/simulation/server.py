"""A small, fast threaded HTTP/1.1 server for simulators.

A simulator may serve more than one host of its CRM (``SimApp.extra_hosts``: Zoho's API host
beside its Accounts server, a Pipedrive company domain, Salesforce's login host beside the My
Domain): each gets its own listening socket on the same interface, and every request says which
one it came in on (``SimRequest.host``). Distinct ports on one address keep that independent of
name resolution (``localhost`` may resolve to ``::1`` first).

Each response is written in one ``sendall`` with Nagle off: ``http.server``'s default two-write
responses stall ~40 ms per request on loopback (headers and body go in two writes, and Nagle's
algorithm holds the second until the client's delayed ACK), which would make every benchmark
measure the simulator.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from providers.simulation.app import MAIN_HOST, MAX_BODY_BYTES, SimApp

log = logging.getLogger("syncsvc.simulator")
POLL_SECONDS = 0.05
"""How often ``serve_forever`` checks for ``shutdown`` (the default 0.5 s slows every stop)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _SimHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def _dispatch(self) -> None:
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not raw.isascii() or not raw.isdigit():
            self._send(400, b'{"status":"error","message":"Invalid Content-Length"}', {})
            self.close_connection = True
            return
        length = int(raw)
        if length > MAX_BODY_BYTES:
            self._send(413, b'{"status":"error","message":"Request body too large"}', {})
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        server = self.server
        response = server.app.handle(self.command, self.path, headers, body, host=server.host_name)
        if response.delay > 0:
            time.sleep(response.delay)
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self._send(response.status, response.body, response.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped waiting (its read timeout)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


class _SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SimApp, host_name: str = MAIN_HOST) -> None:
        self.app = app
        self.host_name = host_name
        self.active: set[socket.socket] = set()
        self.active_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, sock: socket.socket, alive: bool) -> None:
        with self.active_lock:
            if alive:
                self.active.add(sock)
            else:
                self.active.discard(sock)

    def drop_connections(self) -> None:
        with self.active_lock:
            for sock in list(self.active):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.active.clear()


class _Listener:
    """One listening socket of a ``SimServer`` and the thread serving it."""

    def __init__(self, app: SimApp, host: str, port: int, name: str) -> None:
        self.app = app
        self.host = host
        self.name = name
        self.httpd = _SimHTTPServer((host, port), app, name)
        self.port: int = self.httpd.server_address[1]
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.httpd.drop_connections()

    def reopen(self, stopped: threading.Event) -> bool:
        """Listen on the same port again (retrying while it is taken); False if ``stopped``."""
        while not stopped.is_set():
            try:
                self.httpd = _SimHTTPServer((self.host, self.port), self.app, self.name)
                return True
            except OSError:
                time.sleep(0.1)
        return False


class SimServer:
    """Runs a ``SimApp`` on a port, and each of its extra hosts on a port of its own; can stop
    listening for a while (the 'CRM down' fault)."""

    def __init__(self, app: SimApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self._listeners = [_Listener(app, host, port, MAIN_HOST)]
        self._listeners += [_Listener(app, host, 0, name) for name in app.extra_hosts]
        self.port = self._listeners[0].port
        self._stopped = threading.Event()
        app.host_urls = {listener.name: listener.url for listener in self._listeners}
        app.refuse_hook = self.refuse_for

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url_of(self, host_name: str) -> str:
        """The URL of one of the app's hosts (``main`` or a name in ``extra_hosts``)."""
        return self.app.host_urls[host_name]

    def start(self) -> SimServer:
        for listener in self._listeners:
            listener.start()
        return self

    def serve_forever(self) -> None:
        self.start()
        while not self._stopped.wait(0.5):
            pass

    def stop(self) -> None:
        self._stopped.set()
        for listener in self._listeners:
            listener.close()

    def refuse_for(self, seconds: float) -> None:
        """Close every listening socket and open connection, reopen after ``seconds``."""

        def cycle() -> None:
            time.sleep(0.05)  # let the control request's response go out first
            for listener in self._listeners:
                listener.close()
            log.warning("%s refusing connections for %.1fs", self.app.name, seconds)
            time.sleep(seconds)
            for listener in self._listeners:
                if not listener.reopen(self._stopped):
                    return  # stopped while refusing: stay closed
                listener.start()
            log.warning("%s accepting connections again", self.app.name)

        threading.Thread(target=cycle, daemon=True).start()
