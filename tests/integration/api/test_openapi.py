"""The OpenAPI document: served, complete, and true of the live API (schemathesis)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import requests
import schemathesis
from falcon.routing import map_http_methods
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from syncsvc.api.app import ROUTES
from syncsvc.api.config import OPENAPI_PATH
from tests.integration.api.conftest import Api, ApiWorld, contacts_connection

pytestmark = pytest.mark.e2e

FUZZ = "fuzz"


def document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(OPENAPI_PATH.read_text())
    return doc


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_route_of_the_app_is_documented_and_nothing_else() -> None:
    documented = {
        (path, method.upper())
        for path, item in document()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    served = {
        (template, method) for template, resource in ROUTES for method in map_http_methods(resource)
    }
    assert served == documented


def test_every_operation_documents_its_errors() -> None:
    for path, item in document()["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            keyed = op.get("security", document()["security"])
            if keyed:
                assert {"400", "401", "404", "429", "503"} <= codes, (method, path)
            if "requestBody" in op:
                assert {"411", "413", "415"} <= codes, (method, path)
                assert not keyed or "403" in codes, (method, path)


def body_validator(path: str) -> jsonschema.Draft202012Validator:
    doc = document()
    ref = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**ref, "components": doc["components"]})


def delete(key: Any) -> dict[str, Any]:
    return {"events": [{"table": "demo.contacts", "op": "delete", "key": key}]}


def insert(row: Any) -> dict[str, Any]:
    return {"events": [{"table": "demo.contacts", "op": "insert", "key": {"id": 1}, "row": row}]}


# Bodies the API refuses for a NUL (PostgreSQL cannot store one), each with its NUL-free twin.
NUL_BODIES = [
    ("/v1/events", delete({"id": "a\x00"}), delete({"id": "a"})),
    ("/v1/events", delete({"i\x00d": 1}), delete({"id": 1})),
    ("/v1/events", insert({"id": 1, "email": "a\x00@example.com"}), insert({"id": 1})),
    ("/v1/events", insert({"id": 1, "e\x00": "x"}), insert({"id": 1, "e": "x"})),
    ("/v1/events", insert({"id": 1, "tags": [{"x": ["\x00"]}]}), insert({"id": 1, "tags": []})),
    ("/v1/connections/{name}/ack", {"cursor": "MTox\x00"}, {"cursor": "MTox"}),
]


@pytest.mark.parametrize(("path", "body", "clean"), NUL_BODIES)
def test_the_document_refuses_the_nul_characters_that_the_api_refuses(
    path: str, body: dict[str, Any], clean: dict[str, Any], world: ApiWorld
) -> None:
    validator = body_validator(path)
    assert validator.is_valid(clean), list(validator.iter_errors(clean))
    assert not validator.is_valid(body), "the document accepts a NUL the API refuses"
    world.connections(contacts_connection(FUZZ))
    api = Api(world.url, world.key(FUZZ, "write"))
    refused = api.post(path.replace("{name}", FUZZ), json=body)
    assert refused.status_code == 400
    assert "NUL" in refused.json()["problems"][0]["message"]


def test_the_document_refuses_a_nul_in_a_cursor_parameter() -> None:
    schema = document()["components"]["parameters"]["Cursor"]["schema"]
    assert jsonschema.Draft202012Validator(schema).is_valid("MTox")
    assert not jsonschema.Draft202012Validator(schema).is_valid("MTox\x00")


def test_the_api_serves_the_document_kept_in_the_repository(api_url: str) -> None:
    resp = requests.get(f"{api_url}/openapi.json", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.content == OPENAPI_PATH.read_bytes()


@pytest.fixture
def fuzz_key(world: ApiWorld) -> str:
    world.connections(contacts_connection(FUZZ))
    return world.key(FUZZ, "write")


# Loaded from the file (the test above shows the API serves the same bytes); the base URL and
# the key come from fixtures at run time.
schema = schemathesis.openapi.from_path(OPENAPI_PATH)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=50, database="none"
)
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_live_api_keeps_to_its_document(
    case: schemathesis.Case, api_url: str, fuzz_key: str
) -> None:
    """Every operation with a valid write key: no 5xx, every response as documented, invalid
    requests refused. Valid requests go to the key's own connection (the real code paths);
    invalid ones are sent as generated (a mangled key or name stays mangled)."""
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    negative = case.meta is not None and not case.meta.generation.mode.is_positive
    if negative:
        checks.append(negative_data_rejection)
        if case.headers and "Authorization" in case.headers:
            headers = {}
    elif case.path_parameters and "name" in case.path_parameters:
        case.path_parameters["name"] = FUZZ
    case.call_and_validate(base_url=api_url, headers=headers, checks=checks)
