"""The HubSpot simulator's own behaviour, over raw HTTP."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from providers.hubspot.sim import HubSpotSim, make_simulator
from providers.simulation import SimServer
from syncsvc.errors import ConfigError
from tests.integration.providers.conftest import StartSim
from tests.support.wait import wait_until

Sim = tuple[SimServer, HubSpotSim]
AUTH = {"Authorization": "Bearer demo-token"}
BATCH = "/crm/v3/objects/{}/batch/{}"


def post(
    server: SimServer, path: str, body: Any, headers: dict[str, str] = AUTH
) -> requests.Response:
    return requests.post(server.url + path, json=body, headers=headers, timeout=5)


def upsert_input(n: int, **props: str) -> dict[str, Any]:
    email = props.pop("email", f"u{n}@example.com")
    return {
        "id": email,
        "idProperty": "email",
        "objectWriteTraceId": str(n),
        "properties": {"email": email, "syncsvc_id": str(n), **props},
    }


def test_more_than_100_inputs_is_a_validation_error_and_writes_nothing(hubspot_sim: Sim) -> None:
    server, sim = hubspot_sim
    response = post(
        server,
        BATCH.format("contacts", "upsert"),
        {"inputs": [upsert_input(n) for n in range(101)]},
    )
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert sim.dump("contacts") == []


def test_invalid_email_refuses_the_whole_batch_in_hubspot_words(hubspot_sim: Sim) -> None:
    server, sim = hubspot_sim
    inputs = [upsert_input(1), upsert_input(2, email="bad@")]
    body = post(server, BATCH.format("contacts", "upsert"), {"inputs": inputs}).json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"] == (
        'Property values were not valid: [{"isValid":false,"message":"Email address bad@ is '
        'invalid","error":"INVALID_EMAIL","name":"email","localizedErrorMessage":"Email '
        'address bad@ is invalid"}]'
    )
    assert body["errors"][0]["in"] == "email" and body["errors"][0]["context"]
    assert sim.dump("contacts") == []


def test_unknown_property_and_non_unique_id_property_are_refused(hubspot_sim: Sim) -> None:
    server, _ = hubspot_sim
    unknown = post(
        server, BATCH.format("contacts", "upsert"), {"inputs": [upsert_input(1, shoe="9")]}
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    by_name = {"id": "Ada", "idProperty": "firstname", "properties": {}}
    assert (
        post(server, BATCH.format("contacts", "upsert"), {"inputs": [by_name]}).status_code == 400
    )


def test_enumeration_values_must_be_one_of_the_options(hubspot_sim: Sim) -> None:
    server, _ = hubspot_sim
    response = post(
        server,
        BATCH.format("contacts", "upsert"),
        {"inputs": [upsert_input(1, lifecyclestage="Lead!")]},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "INVALID_OPTION"


def test_traced_create_of_an_existing_unique_value_answers_207_with_a_conflict_per_input(
    hubspot_sim: Sim,
) -> None:
    server, _ = hubspot_sim
    path = BATCH.format("contacts", "create")
    first = {"properties": {"email": "a@example.com"}, "associations": []}
    assert post(server, path, {"inputs": [first]}).status_code == 201
    clash = {**first, "objectWriteTraceId": "77"}
    fresh = {
        "properties": {"email": "b@example.com"},
        "associations": [],
        "objectWriteTraceId": "78",
    }
    response = post(server, path, {"inputs": [clash, fresh]})
    body = response.json()
    assert response.status_code == 207 and body["numErrors"] == 1
    [error] = body["errors"]
    assert (error["status"], error["category"]) == ("409", "CONFLICT")
    assert error["context"]["objectWriteTraceId"] == ["77"]
    assert error["message"].startswith("Contact already exists. Existing ID: ")
    assert [r["properties"]["email"] for r in body["results"]] == ["b@example.com"]


def conflict_of(response: requests.Response) -> str:
    """The message of a whole-call 409 CONFLICT (its envelope checked)."""
    body = response.json()
    assert response.status_code == 409, body
    assert (body["status"], body["category"]) == ("error", "CONFLICT")
    assert body["correlationId"]
    return str(body["message"])


@pytest.mark.parametrize("strict", [False, True], ids=["untraced", "strict"])
def test_create_without_multi_status_refuses_the_whole_call_with_the_first_conflict(
    start_sim: StartSim, strict: bool
) -> None:
    server, sim = start_sim(strict=strict)
    path = BATCH.format("contacts", "create")
    held = [{"properties": {"email": f"{n}@example.com"}, "associations": []} for n in (1, 2)]
    ids = [r["id"] for r in post(server, path, {"inputs": held}).json()["results"]]
    traced = strict  # strict refuses the whole call even when every input is traced
    inputs = [
        {"properties": {"email": email}, "associations": []}
        | ({"objectWriteTraceId": str(n)} if traced else {})
        for n, email in enumerate(["new@example.com", "2@example.com", "1@example.com"])
    ]
    message = conflict_of(post(server, path, {"inputs": inputs}))
    assert message == f"Contact already exists. Existing ID: {ids[1]}"
    assert len(sim.dump("contacts")) == 2, "nothing of a refused call is written"


def test_upsert_and_update_refuse_the_whole_call_for_a_unique_value_another_record_holds(
    hubspot_sim: Sim,
) -> None:
    server, sim = hubspot_sim
    upsert = BATCH.format("contacts", "upsert")
    existing = [upsert_input(n) for n in (1, 7, 8)]
    owner = post(server, upsert, {"inputs": existing}).json()["results"][0]["id"]
    by_syncsvc_id = [
        {"id": str(n), "idProperty": "syncsvc_id", "objectWriteTraceId": str(n), "properties": p}
        for n, p in [(7, {"firstname": "Seven"}), (8, {"email": "U1@example.com"})]
    ]
    for op in ("upsert", "update"):
        response = post(server, BATCH.format("contacts", op), {"inputs": by_syncsvc_id})
        assert conflict_of(response) == f"Contact already exists. Existing ID: {owner}"
    assert "firstname" not in sim.dump("contacts")[1]["properties"], "nothing written"

    twice = [upsert_input(3, email="a@example.com"), upsert_input(4, email="b@example.com")]
    twice[1]["properties"]["syncsvc_id"] = "3"
    message = conflict_of(post(server, upsert, {"inputs": twice}))
    assert "syncsvc_id '3'" in message and len(sim.dump("contacts")) == 3


@pytest.mark.parametrize("options", [{"echo_trace_ids": False}, {"strict": True}])
def test_results_can_come_without_trace_ids(start_sim: StartSim, options: dict[str, Any]) -> None:
    server, _ = start_sim(**options)
    body = post(server, BATCH.format("contacts", "upsert"), {"inputs": [upsert_input(1)]}).json()
    [result] = body["results"]
    assert "objectWriteTraceId" not in result
    assert result["properties"]["email"] == "u1@example.com"


def test_strict_and_the_fidelity_options_change_at_run_time(hubspot_sim: Sim) -> None:
    server, _ = hubspot_sim
    config = requests.post(server.url + "/_sim/config", json={"strict": True}, timeout=5)
    assert config.status_code == 200
    [result] = post(server, BATCH.format("deals", "upsert"), {"inputs": [deal_input(1)]}).json()[
        "results"
    ]
    assert "objectWriteTraceId" not in result
    requests.post(server.url + "/_sim/config", json={"echo_trace_ids": True}, timeout=5)
    [result] = post(server, BATCH.format("deals", "upsert"), {"inputs": [deal_input(2)]}).json()[
        "results"
    ]
    assert result["objectWriteTraceId"] == "2"


def deal_input(n: int) -> dict[str, Any]:
    return {
        "id": str(n),
        "idProperty": "syncsvc_id",
        "objectWriteTraceId": str(n),
        "properties": {"dealname": f"Deal {n}"},
    }


def test_archive_answers_204_whatever_the_prior_state(hubspot_sim: Sim) -> None:
    server, sim = hubspot_sim
    created = post(
        server,
        BATCH.format("deals", "upsert"),
        {"inputs": [{"id": "1", "idProperty": "syncsvc_id", "properties": {"dealname": "x"}}]},
    ).json()
    record_id = created["results"][0]["id"]
    for ids in ([record_id], [record_id], ["123456789"]):
        response = post(
            server, BATCH.format("deals", "archive"), {"inputs": [{"id": i} for i in ids]}
        )
        assert (response.status_code, response.content) == (204, b"")
    assert sim.dump("deals") == []
    assert [(a["key"], a["op"]) for a in sim.acks] == [("1", "upsert"), ("1", "archive")]


def test_rate_limit_headers_and_429_body_follow_hubspot(start_sim: StartSim) -> None:
    server, sim = start_sim(rate_limit_requests=2, rate_limit_seconds=5, daily_limit=1000)
    path = "/crm/v3/properties/deals"
    first = requests.get(server.url + path, headers=AUTH, timeout=5)
    assert first.headers["X-HubSpot-RateLimit-Max"] == "2"
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "1"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "5000"
    assert first.headers["X-HubSpot-RateLimit-Daily"] == "1000"
    assert first.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "999"
    requests.get(server.url + path, headers=AUTH, timeout=5)
    limited = requests.get(server.url + path, headers=AUTH, timeout=5)
    assert limited.status_code == 429
    body = limited.json()
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert (body["status"], body["errorType"], body["policyName"]) == (
        "error",
        "RATE_LIMIT",
        "TEN_SECONDLY_ROLLING",
    )
    assert body["correlationId"] and body["groupName"].startswith("publicapi:")
    assert "demo-token" not in body["groupName"]

    faulted = sim.rate_limited_response()
    assert faulted.status == 429
    assert set(json.loads(faulted.body)) == set(body)


def test_max_in_window_shows_the_limit_held_under_concurrent_load(start_sim: StartSim) -> None:
    server, sim = start_sim(rate_limit_requests=15, rate_limit_seconds=1)
    statuses: list[int] = []

    def hammer() -> None:
        with requests.Session() as session:
            for _ in range(15):
                url = server.url + "/crm/v3/properties/contacts"
                statuses.append(session.get(url, headers=AUTH, timeout=5).status_code)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 429 in statuses and 200 in statuses
    assert sim.extra_stats()["max_in_window"] == 15


def test_concurrent_upserts_of_the_same_records_never_duplicate(start_sim: StartSim) -> None:
    server, sim = start_sim(rate_limit_requests=10_000)
    inputs = [upsert_input(n) for n in range(50)]

    def send() -> None:
        with requests.Session() as session:
            for start in range(0, 50, 10):
                body = {"inputs": inputs[start : start + 10]}
                url = server.url + BATCH.format("contacts", "upsert")
                assert session.post(url, json=body, headers=AUTH, timeout=5).status_code == 200

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sim.dump("contacts")) == 50
    assert len(sim.acks) == 300


def test_oauth_calls_get_no_daily_headers_and_bad_tokens_get_401(hubspot_sim: Sim) -> None:
    server, _ = hubspot_sim
    form = {
        "grant_type": "refresh_token",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "refresh_token": "demo-refresh-token",
    }
    token = requests.post(server.url + "/oauth/v1/token", data=form, timeout=5).json()
    assert token["expires_in"] == 1800
    oauth = {"Authorization": f"Bearer {token['access_token']}"}
    response = requests.get(server.url + "/crm/v3/properties/deals", headers=oauth, timeout=5)
    assert response.status_code == 200
    assert "X-HubSpot-RateLimit-Max" in response.headers
    assert "X-HubSpot-RateLimit-Daily" not in response.headers
    missing = requests.get(server.url + "/crm/v3/properties/deals", timeout=5)
    assert (missing.status_code, missing.json()["category"]) == (401, "INVALID_AUTHENTICATION")


def test_single_object_routes_and_the_0_3_alias(hubspot_sim: Sim) -> None:
    server, sim = hubspot_sim
    objects = server.url + "/crm/v3/objects/0-3"
    created = requests.post(
        objects, json={"properties": {"dealname": "A", "syncsvc_id": "5"}}, headers=AUTH, timeout=5
    )
    assert created.status_code == 201
    record_id = created.json()["id"]
    url = f"{objects}/{record_id}"
    patched = requests.patch(url, json={"properties": {"amount": "3"}}, headers=AUTH, timeout=5)
    assert patched.json()["properties"]["amount"] == "3"
    by_value = requests.get(
        server.url + "/crm/v3/objects/deals/5?idProperty=syncsvc_id", headers=AUTH, timeout=5
    )
    assert by_value.json()["id"] == record_id
    assert requests.delete(url, headers=AUTH, timeout=5).status_code == 204
    assert requests.get(url, headers=AUTH, timeout=5).status_code == 404
    assert [a["op"] for a in sim.acks] == ["create", "update", "archive"]


def test_custom_properties_can_be_created_and_used_as_upsert_keys(hubspot_sim: Sim) -> None:
    server, sim = hubspot_sim
    definition = {
        "name": "erp_id",
        "label": "ERP id",
        "type": "string",
        "fieldType": "text",
        "groupName": "companyinformation",
        "hasUniqueValue": True,
    }
    url = server.url + "/crm/v3/properties/companies"
    assert requests.post(url, json=definition, headers=AUTH, timeout=5).status_code == 201
    assert requests.post(url, json=definition, headers=AUTH, timeout=5).status_code == 409
    names = {p["name"] for p in requests.get(url, headers=AUTH, timeout=5).json()["results"]}
    assert "erp_id" in names
    body = {"inputs": [{"id": "E-1", "idProperty": "erp_id", "properties": {"name": "Acme"}}]}
    result = post(server, BATCH.format("companies", "upsert"), body).json()["results"][0]
    assert result["new"] is True and result["properties"]["erp_id"] == "E-1"
    assert sim.acks[-1]["key"] == result["id"], "no ack_property value: acked by HubSpot id"


def test_control_endpoints_configure_and_reset(hubspot_sim: Sim) -> None:
    server, sim = hubspot_sim
    post(server, BATCH.format("contacts", "upsert"), {"inputs": [upsert_input(1)]})
    config = requests.post(
        server.url + "/_sim/config", json={"rate_limit_requests": 500}, timeout=5
    )
    assert config.status_code == 200 and sim.extra_stats()["rate_limit_requests"] == 500
    wrong = requests.post(server.url + "/_sim/config", json={"colour": "red"}, timeout=5)
    assert wrong.status_code == 400
    assert requests.post(server.url + "/_sim/reset", timeout=5).json() == {"reset": True}
    assert sim.dump("contacts") == [] and sim.extra_stats()["max_in_window"] == 0


def test_unknown_simulator_options_fail_loudly() -> None:
    with pytest.raises(ConfigError, match="rate_limit"):
        make_simulator({"rate_limit": 5})


class _Hook(BaseHTTPRequestHandler):
    """A webhook receiver that keeps every event it is sent."""

    events: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).events.extend(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_an_association_made_or_removed_sends_association_change_from_both_sides(
    hubspot_sim: Sim,
) -> None:
    server, sim = hubspot_sim
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.events = []
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        sim.configure({"webhook_url": f"http://127.0.0.1:{receiver.server_port}/hook",
                       "webhook_secret": "s"})  # fmt: skip

        def edit(**body: Any) -> dict[str, Any]:
            answer = requests.post(f"{server.url}/_sim/edit", json=body, timeout=5)
            assert answer.status_code < 300, answer.text
            return answer.json() if answer.content else {}

        contact = edit(object="contacts", action="create", properties={"email": "a@example.com"})
        north, south = (
            edit(object="companies", action="create", properties={"name": n})["id"]
            for n in ("North", "South")
        )
        link = post(server, "/crm/v4/associations/contacts/companies/batch/create", {"inputs": [
            {"from": {"id": contact["id"]}, "to": {"id": north},
             "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}]})  # fmt: skip
        assert link.status_code == 201, link.text
        moved = {"companies": {"id": south, "type": "HUBSPOT_DEFINED:279"}}
        edit(object="contacts", action="update", id=contact["id"], associations=moved)

        def changes() -> list[tuple[str, int, int, str, bool, str]]:
            return [
                (e["subscriptionType"], e["fromObjectId"], e["toObjectId"], e["associationType"],
                 e["associationRemoved"], e["changeSource"])
                for e in _Hook.events
                if e["subscriptionType"].endswith(".associationChange")
            ]  # fmt: skip

        wait_until(lambda: len(changes()) == 6, 10)
    finally:
        receiver.shutdown()
        receiver.server_close()
    c, n, s = int(contact["id"]), int(north), int(south)
    assert changes() == [
        ("contact.associationChange", c, n, "CONTACT_TO_COMPANY", False, "INTEGRATION"),
        ("company.associationChange", n, c, "COMPANY_TO_CONTACT", False, "INTEGRATION"),
        ("contact.associationChange", c, n, "CONTACT_TO_COMPANY", True, "CRM_UI"),
        ("company.associationChange", n, c, "COMPANY_TO_CONTACT", True, "CRM_UI"),
        ("contact.associationChange", c, s, "CONTACT_TO_COMPANY", False, "CRM_UI"),
        ("company.associationChange", s, c, "COMPANY_TO_CONTACT", False, "CRM_UI"),
    ]
    association_events = [e for e in _Hook.events if "associationType" in e]
    assert all(
        "objectId" not in e and e["isPrimaryAssociation"] is False for e in association_events
    )


def test_association_archive_removes_the_pairs_and_answers_204_whatever_the_prior_state(
    hubspot_sim: Sim,
) -> None:
    server, sim = hubspot_sim
    ids = {}
    for obj, props in (("contacts", {"email": "a@example.com"}), ("companies", {"name": "N"}),
                       ("companies", {"name": "S"})):  # fmt: skip
        answer = requests.post(
            f"{server.url}/_sim/edit", json={"object": obj, "action": "create",
                                             "properties": props}, timeout=5)  # fmt: skip
        ids[props.get("email") or props["name"]] = answer.json()["id"]
    contact, north, south = ids["a@example.com"], ids["N"], ids["S"]
    path = "/crm/v4/associations/contacts/companies/batch/{}"

    def kinds(type_id: int) -> list[dict[str, Any]]:
        return [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]

    made = post(server, path.format("create"), {"inputs": [
        {"from": {"id": contact}, "to": {"id": north}, "types": kinds(279) + kinds(1)},
        {"from": {"id": contact}, "to": {"id": south}, "types": kinds(279)}]})  # fmt: skip
    assert made.status_code == 201, made.text

    archive = {"inputs": [{"from": {"id": contact}, "to": [{"id": north}]}]}
    for _ in range(2):  # the second time there is nothing left to archive
        answer = post(server, path.format("archive"), archive)
        assert (answer.status_code, answer.content) == (204, b"")
    read = post(server, path.format("read"), {"inputs": [{"id": contact}]}).json()
    assert [t["toObjectId"] for t in read["results"][0]["to"]] == [int(south)]

    for bad in ({"inputs": []}, {"inputs": [{"from": {"id": contact}, "to": {"id": south}}]}):
        refused = post(server, path.format("archive"), bad)
        assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"
    assert [a["to_key"] for a in sim.associations()] == [south]
