"""Flower's basic-auth credentials: from the environment, or generated for the local default."""

from __future__ import annotations

import os
import secrets

from syncsvc.settings import Settings

USER_VAR = "SYNCSVC_FLOWER_USER"
PASSWORD_VAR = "SYNCSVC_FLOWER_PASSWORD"  # noqa: S105 - the variable's name, not a password


def flower_credentials(settings: Settings) -> tuple[str, str]:
    user = settings.extra.get(USER_VAR)
    password = settings.extra.get(PASSWORD_VAR)
    if user and password:
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
