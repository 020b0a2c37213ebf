"""Service processes refuse to start a private database of their own."""

from __future__ import annotations

import os
import subprocess
import sys

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
