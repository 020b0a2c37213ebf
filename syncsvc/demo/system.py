"""Start the whole system from the Procfile (honcho) next to the caller, and stop it again."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from syncsvc import capture, migrate
from syncsvc.config.loader import check_source_fields, load_config_file
from syncsvc.config.store import apply_config
from syncsvc.db import connect
from syncsvc.demo import schema
from syncsvc.errors import ConfigError
from syncsvc.settings import REPO_ROOT, Settings

DEMO_TABLES = schema.TABLES
EXAMPLES = REPO_ROOT / "examples" / "connections"


def example_configs() -> list[Path]:
    """One config file per provider: the demo syncs to every one of them."""
    return sorted(EXAMPLES.glob("*.yaml"))


def example_pointed_at(provider: str, url: str) -> dict[str, Any]:
    """The example config of ``provider`` with every simulator URL in it (API and token
    endpoint) replaced by ``url``: a simulator on another port, for tests and the benchmark."""
    variable = "${SYNCSVC_SIM_" + provider.upper() + "_URL:-"
    text = json.dumps(yaml.safe_load(example_config(provider).read_text()))
    text = text.replace(variable, "${SYNCSVC_UNSET_SIM_URL:-")
    text = re.sub(r"http://127\.0\.0\.1:81\d\d", url, text)
    doc: dict[str, Any] = json.loads(text)
    return doc


def example_config(provider: str) -> Path:
    path = EXAMPLES / f"{provider}.yaml"
    if not path.exists():
        raise ConfigError(f"no example config for provider {provider!r} ({path})")
    return path


MAX_SIM_OPTIONS_BYTES = 1024 * 1024


def read_sim_options(path: Path) -> dict[str, Any]:
    """A simulator's options from a JSON file (an object), with clear errors."""
    try:
        if path.stat().st_size > MAX_SIM_OPTIONS_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_SIM_OPTIONS_BYTES} bytes")
        options = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read simulator options: {exc}") from None
    if not isinstance(options, dict):
        raise ConfigError(f"{path}: simulator options must be a JSON object")
    return options


def example_sim_options(provider: str) -> dict[str, Any]:
    """What the CRM account behind ``provider``'s example config holds beyond the CRM's
    standard fields (its custom fields), as simulator options; {} when there is no such file."""
    path = EXAMPLES / f"{provider}.sim.json"
    return read_sim_options(path) if path.exists() else {}


SIM_PORTS = {"hubspot": 8101, "salesforce": 8102, "pipedrive": 8103, "zoho": 8104, "dynamics": 8105}


def sim_url(provider: str) -> str:
    port = os.environ.get(f"SYNCSVC_SIM_{provider.upper()}_PORT", str(SIM_PORTS[provider]))
    return f"http://127.0.0.1:{port}"


def prepare_database(settings: Settings, config_files: list[Path]) -> None:
    """Migrate, create and capture the demo tables and apply the config files."""
    migrate.upgrade(settings.db_url)
    docs = [load_config_file(f) for f in config_files]
    problems = [p for doc in docs for p in check_source_fields(doc, settings.internal_schema_dirs)]
    if problems:
        raise ConfigError("\n".join(problems))
    with connect(settings.db_url) as db, db.transaction():
        schema.install(db)
        for table in DEMO_TABLES:
            capture.add_capture(db, table, notify="throttled")
        for doc in docs:
            apply_config(db, settings, doc)


def start_procfile(env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    """Run every Procfile process under honcho, output to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = dict(env)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    procfile = str(REPO_ROOT / "Procfile")
    with log_file.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "honcho", "-f", procfile, "-d", str(REPO_ROOT), "start"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_procfile(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def wait_for_http(url: str, deadline: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ConfigError(
                f"the process group exited (code {proc.returncode}) before {url} came up"
            )
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise ConfigError(f"{url} did not come up in time")
