"""No secret in any error text: every provider's push and ``config apply --check`` meet a CRM
that echoes back everything it was sent (query strings, form bodies, headers) in its error
answers, with marker secrets as credentials; afterwards the outbox, the dead letters, every
process's log and the command's output hold none of the markers."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from providers.registry import provider_names
from syncsvc.demo.system import example_pointed_at
from tests.integration.conftest import Pipeline, execute
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


class EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with 400 (401 on API paths) and a body that quotes the request."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1_000_000)).decode("utf-8", "replace")
        echo = {
            "error": "invalid_client",
            "message": f"refused {self.command} {self.path}",
            "request_body": body,
            "headers": dict(self.headers.items()),
        }
        data = json.dumps(echo).encode()
        token_call = "token" in self.path or "oauth" in self.path
        self.send_response(400 if token_call else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def with_marker_secrets(provider: str, url: str, markers: list[str]) -> dict[str, Any]:
    doc = example_pointed_at(provider, url)
    conn = doc["connections"][0]
    conn["name"] = f"scrub-{provider}"
    credentials: dict[str, str] = {}
    for key in conn["credentials"]:
        marker = f"MARKER{secrets.token_hex(6)}{provider}{key.replace('_', '')}"
        markers.append(marker)
        credentials[key] = marker
    conn["credentials"] = credentials
    conn["rate_limit"] = {"requests": 1000, "per_seconds": 1}
    return doc


def test_no_secret_reaches_a_table_a_log_or_the_terminal(
    pipeline: Pipeline,
    echo_url: str,
    tmp_path: Path,
    service_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    markers: list[str] = []
    docs = {p: with_marker_secrets(p, echo_url, markers) for p in provider_names()}
    assert len(markers) >= 2 * len(docs)

    import syncsvc.cli as cli_pkg
    from syncsvc.cli import configcmd  # noqa: F401 - registers the command

    for key, value in service_env.items():
        monkeypatch.setenv(key, value)
    outputs: list[str] = []
    for provider, doc in docs.items():
        path = tmp_path / f"{provider}.yaml"
        path.write_text(yaml.safe_dump(doc))
        result = CliRunner().invoke(cli_pkg.cli, ["config", "apply", str(path), "--check"])
        assert result.exit_code != 0, result.output
        assert f"cannot read {provider}" in result.output, result.output
        outputs.append(result.output)

    for doc in docs.values():
        pipeline.apply(doc)
    execute(
        pipeline.db,
        "INSERT INTO demo.companies (name, domain) VALUES ('Acme', 'acme.example')",
    )
    execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, first_name, last_name) "
        "VALUES ('a@example.org', 'Ada', 'Lovelace')",
    )

    def every_connection_failed() -> bool:
        rows = execute(
            pipeline.db,
            "SELECT c.name FROM syncsvc.connection AS c WHERE NOT EXISTS ("
            " SELECT 1 FROM syncsvc.outbox AS o WHERE o.connection_id = c.id"
            " AND (o.last_error IS NOT NULL OR o.status = 'dead'))",
        )
        return not rows

    wait_until(every_connection_failed, 90, message=pipeline.describe)

    stored = execute(
        pipeline.db,
        "SELECT coalesce(last_error, '') AS text FROM syncsvc.outbox "
        "UNION ALL SELECT reason FROM syncsvc.dead_letter",
    )
    texts = [r["text"] for r in stored]
    assert any("refused" in t or "invalid_client" in t for t in texts), texts
    paused = execute(pipeline.db, "SELECT count(*) AS n FROM syncsvc.connection_pause")[0]["n"]
    assert paused >= 1, "a refused token pauses its connection (issue 11)"
    logs = [p.read_text(errors="replace") for p in pipeline.procs.log_dir.glob("*.log")]
    sinks = {"outbox and dead letters": texts, "logs": logs, "config apply output": outputs}
    leaks = [
        (sink, marker)
        for sink, found in sinks.items()
        for marker in markers
        if any(marker in text for text in found)
    ]
    assert leaks == []
