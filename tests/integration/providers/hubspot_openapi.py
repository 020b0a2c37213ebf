"""Check recorded HubSpot exchanges against the official OpenAPI files with openapi-core.

The files declare ``https://api.hubapi.com`` and name deals ``0-3``; each request is re-addressed
to that server and path before validation. Their operations require the ``oauth2`` scheme, which
openapi-core does not check (it only warns); here it accepts exactly an ``Authorization: Bearer``
header, which is how HubSpot takes both OAuth and private-app tokens. Error responses are
declared as ``*/*`` and read as JSON; the 204s' empty ``content: {}`` is read as "no body".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from jsonschema_path import SchemaPath
from openapi_core import V30RequestValidator, V30ResponseValidator
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.datatypes import RequestParameters
from openapi_core.security.exceptions import SecurityProviderError
from openapi_core.security.factories import SecurityProviderFactory
from openapi_core.security.providers import BaseProvider

SPEC_DIR = Path(__file__).resolve().parents[3] / "providers" / "hubspot" / "openapi"
SPEC_SERVER = "https://api.hubapi.com"
SPEC_OBJECT = {"contacts": "contacts", "companies": "companies", "deals": "0-3"}
SPEC_FILE = {"contacts": "contacts", "0-1": "contacts", "companies": "companies"}
SPEC_FILE.update({"0-2": "companies", "deals": "deals", "0-3": "deals"})
OBJECT_PATH = re.compile(r"^/crm/v3/objects/(?P<object>[^/]+)(?P<rest>/.*)?$")
BATCH_PATH = re.compile(r"^/crm/v3/objects/[^/]+/batch/")


class BearerProvider(BaseProvider):
    def __call__(self, parameters: RequestParameters) -> Any:
        scheme, _, token = str(parameters.header.get("Authorization", "")).partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SecurityProviderError("Missing bearer token.")
        return token


class HubSpotSecurity(SecurityProviderFactory):
    PROVIDERS = {**SecurityProviderFactory.PROVIDERS, "oauth2": BearerProvider}


def _json(value: bytes, **_: str) -> Any:
    return json.loads(value)


ANY_AS_JSON: dict[str, Callable[[bytes], Any]] = {"*/*": _json}


@cache
def validators(spec_name: str) -> tuple[V30RequestValidator, V30ResponseValidator]:
    document = json.loads((SPEC_DIR / f"{spec_name}.json").read_text())
    for operations in document["paths"].values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                if response.get("content") == {}:
                    del response["content"]  # "no body": openapi-core would demand one
    spec = SchemaPath.from_dict(document)
    return (
        V30RequestValidator(spec, security_provider_factory=HubSpotSecurity()),
        V30ResponseValidator(spec, extra_media_type_deserializers=ANY_AS_JSON),
    )


def spec_request(prepared: requests.PreparedRequest) -> tuple[str, RequestsOpenAPIRequest] | None:
    """The request as the spec addresses it, with the name of the spec file that covers it."""
    path = urlsplit(prepared.url or "").path
    match = OBJECT_PATH.match(path)
    if match is None or match["object"] not in SPEC_FILE:
        return None
    spec_name = SPEC_FILE[match["object"]]
    query = urlsplit(prepared.url or "").query
    rewritten = prepared.copy()
    url = f"{SPEC_SERVER}/crm/v3/objects/{SPEC_OBJECT[spec_name]}{match['rest'] or ''}"
    rewritten.url = f"{url}?{query}" if query else url
    return spec_name, RequestsOpenAPIRequest(rewritten)


@dataclass
class Problem:
    where: str
    error: Exception

    def __str__(self) -> str:
        cause = getattr(self.error, "__cause__", None)
        return f"{self.where}: {self.error!r} ({cause!r})"


def check(response: requests.Response) -> list[Problem]:
    """Every way the exchange that produced ``response`` breaks the OpenAPI files."""
    addressed = spec_request(response.request)
    if addressed is None:
        return []
    spec_name, request = addressed
    request_validator, response_validator = validators(spec_name)
    where = f"{response.request.method} {request.path} -> {response.status_code}"
    problems = [Problem(f"request {where}", e) for e in request_validator.iter_errors(request)]
    problems += [
        Problem(f"response {where}", e)
        for e in response_validator.iter_errors(request, RequestsOpenAPIResponse(response))
    ]
    return problems


@dataclass
class Recorder:
    """Keeps every response a session receives (``session.hooks["response"]``)."""

    responses: list[requests.Response] = field(default_factory=list)

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.responses.append(response)

    def attach(self, session: requests.Session) -> requests.Session:
        session.hooks["response"].append(self)
        return session

    def batch_exchanges(self) -> list[requests.Response]:
        return [r for r in self.responses if BATCH_PATH.match(urlsplit(r.request.url or "").path)]

    def problems(self) -> list[Problem]:
        return [p for r in self.responses for p in check(r)]
