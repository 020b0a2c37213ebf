"""Service processes refuse to start a private database of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from syncsvc.settings import REPO_ROOT


@pytest.mark.parametrize("process", ["worker", "bridge", "beat"])
def test_a_service_process_without_database_url_exits_naming_the_variable(
    process: str, service_env: dict[str, str]
) -> None:
    env = {k: v for k, v in service_env.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), process],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "DATABASE_URL is not set" in lines[0]
    assert not os.path.exists(os.path.join(service_env["SYNCSVC_DATA_DIR"], "pg", "PG_VERSION"))


@pytest.mark.parametrize("process", ["worker", "bridge", "beat", "api"])
def test_a_service_process_without_a_secret_key_exits_naming_the_variable(
    process: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    """A key generated into the process's own data folder could not decrypt what the other
    processes stored: a service process on a shared database refuses to start without one."""
    env = {k: v for k, v in service_env.items() if k != "SYNCSVC_SECRET_KEY"}
    env["SYNCSVC_DATA_DIR"] = str(tmp_path)
    args = ["--bind", "127.0.0.1:0"] if process == "api" else []
    proc = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), process, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the {process} started without SYNCSVC_SECRET_KEY")
    assert proc.returncode != 0
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "SYNCSVC_SECRET_KEY is not set" in lines[0]
    assert "manage.py secret-key" in lines[0]
    assert not (tmp_path / "secret.key").exists()


def test_an_unreachable_database_is_one_line_not_a_traceback(service_env: dict[str, str]) -> None:
    env = {**service_env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "capture", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert done.stderr.startswith("Error: cannot connect to PostgreSQL"), done.stderr
