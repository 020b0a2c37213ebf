"""What every command shares: settings resolved once, local servers started only when needed."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field

import click

from syncsvc.embedded import ensure_local_servers, show_server_logs
from syncsvc.scrub import scrub_log_handlers
from syncsvc.secrets import secret_key
from syncsvc.settings import Settings, load_settings


@dataclass
class AppContext:
    _settings: Settings | None = field(default=None)

    @property
    def settings(self) -> Settings:
        """Settings with both URLs set; starts the embedded servers when a URL is missing."""
        if self._settings is None:
            self._settings = ensure_local_servers(load_settings())
        return self._settings

    def service_settings(self, process: str) -> Settings:
        """Settings of a service process (bridge, worker, beat): both URLs must be set, since a
        private embedded server would silently be a different database than everyone else's."""
        settings = self.raw_settings
        urls = {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
        for name, value in urls.items():
            if not value:
                raise click.ClickException(
                    f"{name} is not set: the {process} must use the service's shared server "
                    "(`manage.py run` sets it; `manage.py servers start` starts local ones)"
                )
        require_secret_key(settings, process)
        return settings

    @property
    def raw_settings(self) -> Settings:
        return load_settings()

    def child_env(self) -> dict[str, str]:
        """Environment for processes we start: the resolved URLs and the secret key (generated
        under the data folder when unset), so they share our servers and credentials."""
        env = dict(os.environ)
        env["DATABASE_URL"] = self.settings.db_url
        env["REDIS_URL"] = self.settings.broker_url
        env["SYNCSVC_DATA_DIR"] = str(self.settings.data_dir)
        env["SYNCSVC_SECRET_KEY"] = secret_key(self.settings).decode()
        return env


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def iso_time(value: str | None) -> dt.datetime | None:
    """An option's ISO date or datetime (UTC when it names no zone); a bad one is refused."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO date or datetime: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def require_secret_key(settings: Settings, process: str) -> None:
    """A service process on a shared database needs the key every process shares: one
    generated into its own data folder could not decrypt what the others stored."""
    if settings.database_url and not settings.secret_key:
        raise click.ClickException(
            f"SYNCSVC_SECRET_KEY is not set: the {process} must use the key every process of "
            "the service shares (make one with `manage.py secret-key` and export it)"
        )


def setup_logging(level: str, verbose: bool = False) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    scrub_log_handlers()
    show_server_logs(verbose)
