"""gunicorn's threaded worker, made safe from slow and hostile clients.

gunicorn's ``gthread`` worker gives a connection to a thread as soon as it is readable, and the
thread then reads the request head with no time limit: a client that sends part of a head and
waits holds a thread for good, and a dozen such clients stall the whole API. Here:

- a request head is read by the worker's event loop, without a thread, into a buffer; a thread
  gets the connection only once its head is complete (or fills the buffer: the parser then
  reads the rest, or refuses it). A head not complete ``header_timeout`` seconds after the
  connection was accepted (or, kept alive, became readable again) is dropped, and logged;
- a thread's blocking reads end at a deadline: what remains of the head by the same
  ``header_timeout``, the body within ``body_timeout`` of its head (the app answers 408); a
  response that a client does not read ends after the worker ``timeout``; each drop is logged;
- a graceful close lingers on the event loop: gunicorn's own waits (up to 2 s) for the client
  to close first, in the loop itself, which a client that never closes would turn into a stall.

Plain HTTP/1.1 only: TLS, if any, is terminated in front of the API.
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import TYPE_CHECKING, Any

from gunicorn import util
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import TConn, ThreadWorker

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger("syncsvc.api")

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
HEAD_CHUNK = 16 * 1024
HEAD_BUFFER = 64 * 1024
"""A head that fills this without ending is handed to the parser, which applies gunicorn's
``limit_request_*`` settings to it."""
LINGER_SECONDS = 2.0
LINGER_DRAIN = 64 * 1024


class SlowClient(NoMoreData):  # type: ignore[misc]
    """A client did not send (or read) its request in time. gunicorn drops the connection
    quietly on ``NoMoreData``; inside the app it is a 408 (``syncsvc.api.errors``)."""

    def __init__(self, peer: str, phase: str, seconds: float) -> None:
        super().__init__(None)
        self.peer = peer
        self.phase = phase
        self.seconds = seconds

    def __str__(self) -> str:
        return f"{self.peer}: the request {self.phase} took longer than {self.seconds:g} s"


class ClientSocket(socket.socket):
    """An accepted connection whose blocking reads end at the deadline of the current phase
    (``arm``); it also hands out first the bytes the event loop read ahead (``fill_head``)."""

    def __init__(self, raw: socket.socket, peer: str, send_timeout: float) -> None:
        super().__init__(raw.family, raw.type, raw.proto, raw.detach())
        self.peer = peer
        self.send_timeout = send_timeout
        self.deadline: float | None = None
        self.phase = "head"
        self.allowed = 0.0
        self.reported = False
        self.buffered = bytearray()

    def arm(self, phase: str, seconds: float) -> None:
        self.phase, self.allowed, self.reported = phase, seconds, False
        self.deadline = time.monotonic() + seconds

    def too_slow(self, phase: str | None = None) -> SlowClient:
        """The error for this phase, logged once."""
        error = SlowClient(self.peer, phase or self.phase, self.allowed)
        if not self.reported:
            self.reported = True
            log.warning("dropped a slow client %s", error)
        return error

    def fill_head(self) -> bool:
        """One non-blocking read on the event loop; True once a thread should take over.
        ``EOFError`` when the client closed."""
        data = super().recv(HEAD_CHUNK)
        if not data:
            raise EOFError
        seen = len(self.buffered)
        self.buffered += data
        tail = self.buffered[max(0, seen - 3) :]
        return b"\r\n\r\n" in tail or b"\n\n" in tail or len(self.buffered) >= HEAD_BUFFER

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if self.buffered:
            data = bytes(self.buffered[:bufsize])
            del self.buffered[:bufsize]
            return data
        current = self.gettimeout()
        if self.deadline is None or current == 0.0:  # not armed, or the event loop's own read
            return super().recv(bufsize, flags)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.too_slow()
        ours = current is None or left <= current  # else a caller's shorter timeout applies
        self.settimeout(left if ours else current)
        try:
            return super().recv(bufsize, flags)
        except TimeoutError:
            if ours:
                raise self.too_slow() from None
            raise

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        with self._sending():
            return super().send(data, flags)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        with self._sending():
            super().sendall(data, flags)

    @contextmanager
    def _sending(self) -> Iterator[None]:
        prior = self.gettimeout()
        if prior == 0.0:
            yield
            return
        self.settimeout(self.send_timeout)
        try:
            yield
        except TimeoutError:
            self.allowed = self.send_timeout
            raise self.too_slow("response") from None
        finally:
            with suppress(OSError):
                self.settimeout(prior)


class _Conn(TConn):  # type: ignore[misc]
    """gunicorn's connection, whose graceful close is left to the worker's event loop."""

    def __init__(
        self, cfg: Any, sock: ClientSocket, client: Any, server: Any, linger: Callable[..., None]
    ) -> None:
        super().__init__(cfg, sock, client, server)
        self.linger = linger
        self.drained = 0

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self.linger(self)
        else:
            util.close(self.sock)


def _peer(addr: Any) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        return f"{addr[0]}:{addr[1]}"
    return str(addr) or "a local client"


class ApiWorker(ThreadWorker):  # type: ignore[misc]
    """``gthread`` with request heads read on the event loop and deadlines on every read.

    The timeouts come from the app's ``ApiSettings`` (``SYNCSVC_API_HEADER_TIMEOUT``,
    ``SYNCSVC_API_BODY_TIMEOUT``); writes to a client end after gunicorn's ``timeout``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        api = getattr(self.app, "api", None)
        self.header_timeout = float(getattr(api, "header_timeout", DEFAULT_HEADER_TIMEOUT))
        self.body_timeout = float(getattr(api, "body_timeout", DEFAULT_BODY_TIMEOUT))
        # Connections by deadline: every entry gets now + a fixed time, so insertion order is
        # deadline order and expiry looks only at the front.
        self.heads: dict[_Conn, float] = {}
        self.lingering: dict[_Conn, float] = {}

    def init_process(self) -> None:
        if self.cfg.is_ssl:
            raise RuntimeError("ApiWorker serves plain HTTP: terminate TLS in front of the API")
        super().init_process()

    # -- connections arrive: read their heads on the event loop -------------------------------

    def accept(self, listener: socket.socket) -> None:
        try:
            raw, addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        sock = ClientSocket(raw, _peer(addr), float(self.cfg.timeout))
        self._read_head(_Conn(self.cfg, sock, addr, listener.getsockname(), self._linger))

    def on_client_socket_readable(self, conn: _Conn, client: socket.socket) -> None:
        """A kept-alive connection sends its next request."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_head(conn)

    def _read_head(self, conn: _Conn) -> None:
        conn.sock.arm("head", self.header_timeout)
        self.heads[conn] = conn.sock.deadline
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_readable, conn))

    def _on_head_readable(self, conn: _Conn, client: socket.socket) -> None:
        try:
            ready = conn.sock.fill_head()
        except (BlockingIOError, InterruptedError):
            return
        except (OSError, EOFError):
            self._stop_reading(conn)
            self.nr_conns -= 1
            conn.close()
            return
        if ready:
            self._stop_reading(conn)
            conn.data_ready = True
            super().enqueue_req(conn)  # the head's deadline carries on in the thread

    def _stop_reading(self, conn: _Conn) -> None:
        del self.heads[conn]
        self.poller.unregister(conn.sock)

    def enqueue_req(self, conn: _Conn) -> None:
        """Other ways to a thread (a request pipelined behind the last one): a fresh deadline."""
        conn.sock.arm("head", self.header_timeout)
        super().enqueue_req(conn)

    def handle_request(self, req: Any, conn: _Conn) -> Any:
        conn.sock.arm("body", self.body_timeout)
        return super().handle_request(req, conn)

    # -- expiry, on every turn of the event loop -----------------------------------------------

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        while self.heads:
            conn, deadline = next(iter(self.heads.items()))
            if deadline > now:
                break
            self._stop_reading(conn)
            self.nr_conns -= 1
            conn.sock.too_slow()
            conn.close()
        while self.lingering:
            conn, deadline = next(iter(self.lingering.items()))
            if deadline > now:
                break
            self._end_linger(conn)

    # -- graceful close without blocking the loop ----------------------------------------------

    def _linger(self, conn: _Conn) -> None:
        """Half-close, then read (and drop) what the client still sends until it closes, for at
        most ``LINGER_SECONDS`` (so it reads the response instead of getting a reset)."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(
                conn.sock, selectors.EVENT_READ, partial(self._on_linger_readable, conn)
            )
        except (OSError, ValueError, KeyError):
            util.close(conn.sock)
            return
        self.lingering[conn] = time.monotonic() + LINGER_SECONDS

    def _on_linger_readable(self, conn: _Conn, client: socket.socket) -> None:
        try:
            data = conn.sock.recv(LINGER_DRAIN)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.drained += len(data)
        if not data or conn.drained >= LINGER_DRAIN:
            self._end_linger(conn)

    def _end_linger(self, conn: _Conn) -> None:
        del self.lingering[conn]
        with suppress(OSError, KeyError, ValueError):
            self.poller.unregister(conn.sock)
        util.close(conn.sock)
