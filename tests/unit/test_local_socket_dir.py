"""The short /tmp folder for the local Redis socket is ours alone (issue 12, item 13).

A data folder whose path is too long for a unix socket puts the socket under
``/tmp/syncsvc-<hash>``; anyone can create that name first.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncsvc import embedded
from syncsvc.errors import ConfigError


@pytest.fixture
def long_data_dir(tmp_path: Path) -> Iterator[Path]:
    data_dir = tmp_path / ("d" * 120)
    short = _short_dir(data_dir)
    shutil.rmtree(short, ignore_errors=True)
    if short.is_symlink():
        short.unlink()
    yield data_dir
    if short.is_symlink():
        short.unlink()
    shutil.rmtree(short, ignore_errors=True)


def _short_dir(data_dir: Path) -> Path:
    """Where the socket goes for ``data_dir``, named the way the code names it."""
    return Path("/tmp") / f"syncsvc-{hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]}"


def test_the_short_socket_folder_is_created_private(long_data_dir: Path) -> None:
    socket = embedded._redis_socket_path(long_data_dir)
    assert socket.parent == _short_dir(long_data_dir)
    st = os.lstat(socket.parent)
    assert stat.S_ISDIR(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_uid == os.geteuid()
    assert embedded._redis_socket_path(long_data_dir) == socket  # ours: reused


def test_a_world_writable_socket_folder_made_by_someone_else_is_refused(
    long_data_dir: Path,
) -> None:
    short = _short_dir(long_data_dir)
    short.mkdir()
    short.chmod(0o777)
    with pytest.raises(ConfigError, match="writable by other users"):
        embedded._redis_socket_path(long_data_dir)


def test_a_socket_folder_owned_by_another_user_is_refused(
    long_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = _short_dir(long_data_dir)
    short.mkdir(mode=0o700)
    monkeypatch.setattr(embedded.os, "geteuid", lambda: os.getuid() + 4242)
    with pytest.raises(ConfigError, match="belongs to another user"):
        embedded._redis_socket_path(long_data_dir)


def test_a_symlink_in_place_of_the_socket_folder_is_refused(
    long_data_dir: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    _short_dir(long_data_dir).symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="is not a directory"):
        embedded._redis_socket_path(long_data_dir)
