"""Flower's basic-auth credentials: from the environment, or generated for the local default."""

from __future__ import annotations

import os
import secrets

from syncsvc.errors import ConfigError
from syncsvc.settings import Settings

USER_VAR = "SYNCSVC_FLOWER_USER"
PASSWORD_VAR = "SYNCSVC_FLOWER_PASSWORD"  # noqa: S105 - the variable's name, not a password


def flower_credentials(settings: Settings) -> tuple[str, str]:
    user = settings.extra.get(USER_VAR)
    password = settings.extra.get(PASSWORD_VAR)
    if user and password:
        for name, value in ((USER_VAR, user), (PASSWORD_VAR, password)):
            if not value.isascii():  # Flower compares with hmac.compare_digest on str
                raise ConfigError(f"{name} must be ASCII: Flower cannot check other characters")
        return user, password
    path = settings.data_dir / "flower.auth"
    if path.exists():
        stored_user, _, stored_password = path.read_text().strip().partition(":")
        if stored_user and stored_password:
            return stored_user, stored_password
    path.parent.mkdir(parents=True, exist_ok=True)
    user, password = "admin", secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{user}:{password}\n")
    return user, password


def use_basic_auth(user: str, password: str) -> None:
    """Make the Flower started in this process accept exactly ``user:password``.

    Flower's ``--basic-auth`` (and ``FLOWER_BASIC_AUTH``) is a comma-separated list of
    credentials: a comma in the password would split it into two, one of them the bare text after
    the comma. So the credential is set on Flower's (tornado) options directly, where it stays one
    item. (Flower compares credentials as ``str`` with ``hmac.compare_digest``, which takes ASCII
    only: ``flower_credentials`` refuses other characters.)
    """
    import flower.options  # noqa: F401 - defines Flower's options on tornado's
    from tornado.options import options

    options.basic_auth = [f"{user}:{password}"]
