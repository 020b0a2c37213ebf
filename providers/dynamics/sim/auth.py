"""The simulated Microsoft Entra token endpoint and bearer-token checks of the Web API.

``POST /{tenant}/oauth2/v2.0/token`` (client credentials) answers like Entra: ``{"token_type":
"Bearer", "expires_in", "ext_expires_in", "access_token"}``, or ``{"error", "error_description":
"AADSTS…", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}``. The Web API
answers a missing, unknown or expired token with 401, an empty body and ``WWW-Authenticate``.
Not thread-safe: the simulator holds its lock.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.simulation.tokens import TokenIssuer, oauth_clients, secret_matches

DEFAULT_CLIENTS = {"demo-client": {"secret": "demo-secret", "tenant_id": "demo-tenant"}}
DEFAULT_TTL = 3599.0


@dataclass
class Refusal:
    status: int
    headers: dict[str, str]


def _entra_error(status: int, error: str, number: int, text: str) -> tuple[int, dict[str, Any]]:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    description = (
        f"AADSTS{number}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\n"
        f"Timestamp: {stamp}"
    )
    return status, {
        "error": error,
        "error_description": description,
        "error_codes": [number],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={number}",
    }


class SimAuth:
    def __init__(self, options: Mapping[str, Any]) -> None:
        self.clients = oauth_clients(options, "clients", DEFAULT_CLIENTS)
        self.tokens = TokenIssuer(float(options.get("token_ttl", DEFAULT_TTL)))
        self.counts = {"tokens_issued": 0, "auth_expired": 0, "auth_invalid": 0}

    def configure(self, options: Mapping[str, Any]) -> None:
        self.tokens.configure(options)

    def reset_counts(self) -> None:
        self.counts = dict.fromkeys(self.counts, 0)

    def issue(self, tenant: str, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            return _entra_error(
                400, "unsupported_grant_type", 70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )  # fmt: skip
        client_id = form.get("client_id", "")
        client = self.clients.get(client_id)
        if client is None or client.get("tenant_id", tenant) != tenant:
            if not any(c.get("tenant_id") == tenant for c in self.clients.values()):
                return _entra_error(
                    400, "invalid_request", 90002,
                    f"Tenant '{tenant}' not found. Check to make sure you have the correct "
                    "tenant ID and are signing into the correct cloud.",
                )  # fmt: skip
            return _entra_error(
                400, "unauthorized_client", 700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'.",
            )  # fmt: skip
        if not secret_matches(client, form.get("client_secret", "")):
            return _entra_error(
                401, "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )  # fmt: skip
        scope = form.get("scope", "")
        if not scope:
            return _entra_error(
                400, "invalid_request", 900144,
                "The request body must contain the following parameter: 'scope'.",
            )  # fmt: skip
        if not scope.endswith("/.default"):
            return _entra_error(
                400, "invalid_scope", 1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )  # fmt: skip
        token = "sim-" + secrets.token_urlsafe(24)
        ttl = self.tokens.issue(token, client_id, tenant)
        self.counts["tokens_issued"] += 1
        return 200, {
            "token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl,
            "access_token": token,
        }  # fmt: skip

    def authenticate(self, token: str | None, resource: str) -> str | Refusal:
        """The caller (the application user) or the 401 to send; ``token`` is the Bearer token,
        None when the call sent none."""
        issued = self.tokens.find(token) if token is not None else None
        tenant = issued.tenant if issued else next(iter(self.clients.values()), {}).get(
            "tenant_id", "common")  # fmt: skip
        challenge = (
            f"authorization_uri=https://login.microsoftonline.com/{tenant}/oauth2/authorize, "
            f"resource_id={resource}"
        )
        if issued is None:
            self.counts["auth_invalid"] += 1
            return Refusal(401, {"WWW-Authenticate": f"Bearer {challenge}"})
        if issued.overdue() >= 0:
            self.counts["auth_expired"] += 1
            error = 'error="invalid_token", error_description="The access token is expired"'
            return Refusal(401, {"WWW-Authenticate": f"Bearer {error}, {challenge}"})
        return issued.client_id
