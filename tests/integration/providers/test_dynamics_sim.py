"""The Dataverse simulator's own answers over raw HTTP: shapes, headers, batch semantics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
import requests

from providers.dynamics import multipart
from providers.dynamics.multipart import ChangeSet, HttpMessage
from providers.dynamics.sim import DynamicsSim, make_simulator
from providers.dynamics.sim.app import STRICT_OP_SECONDS
from providers.simulation import SimServer
from syncsvc.demo.system import example_sim_options
from syncsvc.errors import ConfigError
from tests.integration.providers.helpers import serving
from tests.support.wait import wait_until

API = "/api/data/v9.2"
KEY = "syncsvc_externalid"
ODATA = {"OData-MaxVersion": "4.0", "OData-Version": "4.0", "Accept": "application/json"}


class Raw:
    """A raw HTTP view of one simulator, authenticated as the demo application user."""

    def __init__(self, server: SimServer, sim: DynamicsSim) -> None:
        self.url, self.sim, self.http = server.url, sim, requests.Session()
        token = self.token().json()["access_token"]
        self.http.headers.update({**ODATA, "Authorization": f"Bearer {token}"})

    def token(self, **form: str) -> requests.Response:
        data = {"grant_type": "client_credentials", "client_id": "demo-client",
                "client_secret": "demo-secret", "scope": f"{self.url}/.default", **form}  # fmt: skip
        return requests.post(f"{self.url}/demo-tenant/oauth2/v2.0/token", data=data, timeout=5)

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        return self.http.request(
            method, f"{self.url}{API}/{path}", json=body, headers=headers, timeout=10
        )

    def batch(
        self, parts: list[multipart.Part], prefer: str | None = None
    ) -> tuple[int, list[multipart.Part]]:
        content_type, body = multipart.write(parts)
        headers = {"Content-Type": content_type, **({"Prefer": prefer} if prefer else {})}
        response = self.http.post(
            f"{self.url}{API}/$batch", data=body.encode(), headers=headers, timeout=10
        )
        return response.status_code, multipart.read(response.headers["Content-Type"], response.text)


@pytest.fixture
def raw() -> Iterator[Raw]:
    options = {**example_sim_options("dynamics"), "enforce_required": True}
    with serving(make_simulator(options)) as (server, sim):
        yield Raw(server, sim)


def upsert(key: str, **values: Any) -> HttpMessage:
    body = json.dumps({"lastname": f"Last {key}", **values})
    return multipart.request("PATCH", f"{API}/contacts({KEY}='{key}')", body,
                             {"Content-Type": "application/json; type=entry"})  # fmt: skip


def error(response: requests.Response | HttpMessage) -> tuple[str, str]:
    body = response.json() if isinstance(response, requests.Response) else json.loads(response.body)
    assert set(body) == {"error"}
    return body["error"]["code"], body["error"]["message"]


def test_the_token_endpoint_answers_like_entra(raw: Raw) -> None:
    issued = raw.token().json()
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 3599
    assert issued["access_token"] and issued["ext_expires_in"] == 3599
    refused = raw.token(client_secret="nope")
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert refused.json()["error_codes"] == [7000215]
    assert refused.json()["error_description"].startswith("AADSTS7000215: ")
    scoped = raw.token(scope="https://org.crm.dynamics.com/user_impersonation")
    assert (scoped.status_code, scoped.json()["error"]) == (400, "invalid_scope")
    grant = raw.token(grant_type="password")
    assert (grant.status_code, grant.json()["error"]) == (400, "unsupported_grant_type")


def test_calls_without_a_valid_token_get_an_empty_401_with_a_bearer_challenge(raw: Raw) -> None:
    response = requests.get(f"{raw.url}{API}/contacts", headers=ODATA, timeout=5)
    assert response.status_code == 401 and response.content == b""
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    raw.sim.configure({"expire_tokens": True})
    expired = raw.call("GET", "contacts")
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_upsert_by_alternate_key_answers_204_and_the_entity_id(raw: Raw) -> None:
    first = raw.call("PATCH", f"contacts({KEY}='1')", {"lastname": "One"})
    assert first.status_code == 204 and first.content == b""
    entity = first.headers["OData-EntityId"]
    assert entity.startswith(f"{raw.url}{API}/contacts(")
    again = raw.call("PATCH", f"contacts({KEY}='1')", {"firstname": "Uno"})
    assert (again.status_code, again.headers["OData-EntityId"]) == (204, entity)
    assert len(raw.sim.view("contacts")) == 1
    assert first.headers["x-ms-ratelimit-burst-remaining-xrm-requests"].isdigit()
    assert "x-ms-ratelimit-time-remaining-xrm-requests" in first.headers


def test_return_representation_says_created_or_updated(raw: Raw) -> None:
    prefer = {"Prefer": "return=representation"}
    created = raw.call(
        "PATCH", f"contacts({KEY}='1')?$select=contactid", {"lastname": "A"}, **prefer
    )
    updated = raw.call(
        "PATCH", f"contacts({KEY}='1')?$select=contactid", {"lastname": "B"}, **prefer
    )
    assert (created.status_code, updated.status_code) == (201, 200)
    assert created.json()["contactid"] == updated.json()["contactid"]
    assert set(updated.json()) == {"@odata.context", "@odata.etag", "contactid"}
    assert updated.headers["ETag"] == updated.json()["@odata.etag"] != created.json()["@odata.etag"]


def test_if_match_is_update_only_and_if_none_match_create_only(raw: Raw) -> None:
    missing = raw.call("PATCH", f"contacts({KEY}='9')", {"lastname": "x"}, **{"If-Match": "*"})
    assert missing.status_code == 404
    assert error(missing) == (
        "0x80060891",
        "A record with the specified key values does not exist in contact entity",
    )
    assert raw.sim.view("contacts") == []
    assert raw.call("PATCH", f"contacts({KEY}='9')", {"lastname": "x"}).status_code == 204
    exists = raw.call("PATCH", f"contacts({KEY}='9')", {"lastname": "y"}, **{"If-None-Match": "*"})
    assert exists.status_code == 412 and error(exists)[0] == "0x80040237"


def test_delete_answers_204_then_404(raw: Raw) -> None:
    raw.call("PATCH", f"accounts({KEY}='5')", {"name": "Five"})
    assert raw.call("DELETE", f"accounts({KEY}='5')").status_code == 204
    gone = raw.call("DELETE", f"accounts({KEY}='5')")
    assert gone.status_code == 404 and error(gone)[0] == "0x80060891"
    guid = "00000000-0000-0000-0000-000000000001"
    assert error(raw.call("DELETE", f"accounts({guid})")) == (
        "0x80040217",
        f"account With Id = {guid} Does Not Exist",
    )
    assert [a["op"] for a in raw.sim.acks] == ["upsert", "archive"]


@pytest.mark.parametrize(
    ("path", "body", "code", "named"),
    [
        (f"contacts({KEY}='1')", {"firstname": "no last name"}, "0x80044331", "'lastname'"),
        (f"accounts({KEY}='1')", {"description": "no name"}, "0x80044331", "'name'"),
        (f"opportunities({KEY}='1')", {"estimatedvalue": 5}, "0x80044331", "'name'"),
        (
            f"contacts({KEY}='1')",
            {"lastname": "x", "emailaddress1": "@"},
            "0x80044331",
            "'emailaddress1'",
        ),
        (f"contacts({KEY}='1')", {"lastname": "x" * 51}, "0x80044331", "'lastname'"),
        (f"contacts({KEY}='1')", {"lastname": "x", "shoe_size": 9}, "0x80048d19", "'shoe_size'"),
        (f"accounts({KEY}='1')", {"name": "x", "industrycode": 99}, "0x8004431a", "'industrycode'"),
        (
            f"accounts({KEY}='1')",
            {"name": "x", "industrycode": "Software"},
            "0x80048d19",
            "'industrycode'",
        ),
        (
            f"opportunities({KEY}='1')",
            {"name": "x", "estimatedclosedate": "30/06/2024"},
            "0x80048d19",
            "'estimatedclosedate'",
        ),
        (f"contacts({KEY}='1')", {"lastname": "x", "contactid": "y"}, "0x80048d19", "'contactid'"),
    ],
)
def test_invalid_writes_are_refused_naming_the_column(
    raw: Raw, path: str, body: dict[str, Any], code: str, named: str
) -> None:
    response = raw.call("PATCH", path, body)
    assert response.status_code == 400
    got_code, message = error(response)
    assert got_code == code and named in message
    assert raw.sim.view(path.split("(")[0]) == []


def test_unknown_entity_sets_and_bad_keys_get_odata_errors(raw: Raw) -> None:
    unknown = raw.call("GET", "Account")
    assert unknown.status_code == 404
    assert error(unknown) == ("0x8006088a", "Resource not found for the segment 'Account'.")
    assert (
        raw.call("PATCH", "contacts(emailaddress1='a@b.c')", {"lastname": "x"}).status_code == 400
    )
    assert (
        raw.call("PATCH", "contacts(syncsvc_externalid='open)", {"lastname": "x"}).status_code
        == 400
    )


def test_attribute_definitions_list_the_columns(raw: Raw) -> None:
    response = raw.call(
        "GET", "EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName"
    )
    assert response.status_code == 200
    rows = response.json()["value"]
    assert {"name", "industrycode", KEY, "accountid"} <= {r["LogicalName"] for r in rows}
    assert all(set(r) == {"@odata.type", "LogicalName", "MetadataId"} for r in rows)
    assert raw.call("GET", "EntityDefinitions(LogicalName='nope')/Attributes").status_code == 404


def test_a_batch_with_continue_on_error_runs_every_request_and_answers_in_order(raw: Raw) -> None:
    status, answers = raw.batch(
        [upsert("1"), upsert("2", emailaddress1="bad"), upsert("3")], "odata.continue-on-error"
    )
    assert status == 200
    assert [a.status for a in answers if isinstance(a, HttpMessage)] == [204, 400, 204]
    assert {r["key"] for r in raw.sim.view("contacts")} == {"1", "3"}


def test_a_batch_without_continue_on_error_stops_at_the_first_failure(raw: Raw) -> None:
    status, answers = raw.batch([upsert("1"), upsert("2", emailaddress1="bad"), upsert("3")])
    assert status == 400
    assert [a.status for a in answers if isinstance(a, HttpMessage)] == [204, 400]
    assert {r["key"] for r in raw.sim.view("contacts")} == {"1"}


def test_a_failing_change_set_rolls_back_and_answers_with_one_error(raw: Raw) -> None:
    change_set = ChangeSet([upsert("1"), upsert("2", lastname=None)])
    status, answers = raw.batch([change_set, upsert("3")], "odata.continue-on-error")
    assert status == 200
    first, second = answers
    assert isinstance(first, HttpMessage) and first.status == 400
    assert isinstance(second, HttpMessage) and second.status == 204
    assert {r["key"] for r in raw.sim.view("contacts")} == {"3"}
    assert [a["key"] for a in raw.sim.acks] == ["3"]
    status, answers = raw.batch([ChangeSet([upsert("4"), upsert("5")])])
    assert status == 200 and isinstance(answers[0], ChangeSet)
    assert [m.status for m in answers[0].messages] == [204, 204]


def test_a_batch_over_1000_requests_is_refused_whole(raw: Raw) -> None:
    content_type, body = multipart.write([upsert(str(n)) for n in range(1001)])
    response = raw.http.post(f"{raw.url}{API}/$batch", data=body.encode(),
                             headers={"Content-Type": content_type}, timeout=30)  # fmt: skip
    assert response.status_code == 400
    code, message = error(response)
    assert code == "0x80048d19" and "1001" in message and "1000" in message
    assert raw.sim.view("contacts") == []


def test_throttling_answers_429_with_retry_after_and_the_limit_code(raw: Raw) -> None:
    raw.sim.configure({"rate_limit_requests": 3, "rate_limit_seconds": 30})
    for n in range(3):
        assert raw.call("PATCH", f"contacts({KEY}='{n}')", {"lastname": "x"}).status_code == 204
    refused = raw.call("PATCH", f"contacts({KEY}='9')", {"lastname": "x"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    assert refused.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "0"
    assert error(refused) == (
        "0x80072322",
        "Number of requests exceeded the limit of 3 over time window of 30 seconds.",
    )
    stats = raw.sim.extra_stats()
    assert (raw.sim.stats["throttled"], stats["max_in_window"]) == (1, 3)
    assert (stats["rate_limit_requests"], stats["rate_limit_seconds"]) == (3, 30)


def test_sim_controls_reset_and_refuse_unknown_settings(raw: Raw) -> None:
    raw.call("PATCH", f"contacts({KEY}='1')", {"lastname": "x"})
    bad = requests.post(f"{raw.url}/_sim/config", json={"colour": "red"}, timeout=5)
    assert bad.status_code == 400
    assert requests.post(f"{raw.url}/_sim/reset", timeout=5).status_code == 200
    assert raw.sim.view("contacts") == [] and raw.sim.extra_stats()["max_in_window"] == 0
    view = requests.get(f"{raw.url}/_sim/view", params={"object": "contacts"}, timeout=5).json()
    assert view["records"] == []


def test_a_second_record_with_the_same_alternate_key_is_refused(raw: Raw) -> None:
    made = raw.call("POST", "contacts", {KEY: "7", "lastname": "First"})
    assert made.status_code == 204
    record_id = made.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    twin = raw.call("POST", "contacts", {KEY: "7", "lastname": "Twin"})
    assert twin.status_code == 412
    code, message = error(twin)
    assert code == "0x80040237" and "values 7 already exists" in message
    assert "syncsvc_externalid_key" in message
    raw.call("POST", "contacts", {KEY: "8", "lastname": "Other"})
    moved = raw.call("PATCH", f"contacts({record_id})", {KEY: "8"})
    assert moved.status_code == 412
    assert sorted(r["key"] for r in raw.sim.view("contacts")) == ["7", "8"]
    assert [a["op"] for a in raw.sim.acks] == ["create", "create"]


def test_a_slow_batch_applies_its_requests_one_after_another_even_when_the_client_leaves(
    raw: Raw,
) -> None:
    raw.sim.configure({"batch_op_seconds": 0.2})
    content_type, body = multipart.write([upsert(str(n)) for n in range(5)])
    with pytest.raises(requests.ReadTimeout):
        raw.http.post(f"{raw.url}{API}/$batch", data=body.encode(),
                      headers={"Content-Type": content_type}, timeout=(5, 0.5))  # fmt: skip

    def held() -> int:
        with raw.sim.lock:  # the batch is still being applied on the server's thread
            return len(raw.sim.view("contacts"))

    assert 1 <= held() < 5, "half applied when the client gave up"
    wait_until(lambda: held() == 5, 10, 0.05, "the server went on")
    stats = raw.sim.extra_stats()
    assert stats["slowest_batch_seconds"] >= 1.0 and stats["largest_batch"] == 5


@pytest.mark.parametrize("status", [503, 0])
def test_a_batch_fault_applies_the_first_requests_then_fails_once(raw: Raw, status: int) -> None:
    raw.sim.configure({"batch_fault": {"after": 2, "status": status, "times": 1}})
    content_type, body = multipart.write([upsert(str(n)) for n in range(5)])
    post = partial(raw.http.post, f"{raw.url}{API}/$batch", data=body.encode(),
                   headers={"Content-Type": content_type}, timeout=10)  # fmt: skip
    if status:
        failed = post()
        assert failed.status_code == 503 and error(failed)[0] == "0x80040216"
    else:
        with pytest.raises(requests.ConnectionError):
            post()
    assert sorted(r["key"] for r in raw.sim.view("contacts")) == ["0", "1"]
    assert post().status_code == 200, "once"
    assert len(raw.sim.view("contacts")) == 5
    assert raw.sim.extra_stats()["batch_faults"] == 1


def test_strict_makes_every_batch_request_take_server_time() -> None:
    assert make_simulator({"strict": True}).batches.op_seconds == STRICT_OP_SECONDS
    assert STRICT_OP_SECONDS * 1000 > 30, "1000 requests outlast the default read timeout"
    assert make_simulator({"strict": True, "batch_op_seconds": 0}).batches.op_seconds == 0
    with pytest.raises(ConfigError):
        make_simulator({"batch_fault": {"after": 1, "status": 404}})


def test_a_bound_lookup_reads_back_as_its_value_with_the_annotations_asked_for(raw: Raw) -> None:
    """``parentcustomerid_account@odata.bind`` sets ``_parentcustomerid_value``; its table and
    navigation property come only when ``Prefer: odata.include-annotations`` asks; binding null
    empties it; each bind is a new version that change tracking's delta reports."""
    for key in ("a1", "a2"):
        made = raw.call("PATCH", f"accounts({KEY}='{key}')", {"name": key})
        assert made.status_code == 204, made.text
    account = {
        k: raw.call("GET", f"accounts({KEY}='{k}')").json()["accountid"] for k in ("a1", "a2")
    }
    first = raw.call("PATCH", f"contacts({KEY}='c1')", {"lastname": "Lovelace",
                     "parentcustomerid_account@odata.bind": f"/accounts({account['a1']})"})  # fmt: skip
    assert first.status_code == 204, first.text
    tracked = raw.call("GET", "contacts?$select=_parentcustomerid_value",
                       Prefer="odata.track-changes").json()  # fmt: skip
    delta = tracked["@odata.deltaLink"].partition(API + "/")[2]

    select = f"contacts({KEY}='c1')?$select=lastname,_parentcustomerid_value"
    plain = raw.call("GET", select).json()
    assert plain["_parentcustomerid_value"] == account["a1"]
    assert not [k for k in plain if "@Microsoft" in k]
    annotated = raw.call(
        "GET", select, Prefer='odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'
    ).json()
    assert (
        annotated["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    )
    assert (
        "_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"
        not in annotated
    )
    every = raw.call("GET", select, Prefer='odata.include-annotations="*"').json()
    nav = "_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"
    assert every[nav] == "parentcustomerid_account"

    moved = raw.call("PATCH", f"contacts({KEY}='c1')", {
        "parentcustomerid_account@odata.bind": f"accounts({account['a2']})"}, **{"If-Match": "*"})  # fmt: skip
    assert moved.status_code == 204, moved.text
    changed = raw.call("GET", delta, Prefer="odata.track-changes").json()["value"]
    assert [r["_parentcustomerid_value"] for r in changed] == [account["a2"]]
    assert raw.sim.associations() == [{"from": "contacts", "from_key": "c1", "to": "accounts",
                                        "to_key": "a2", "type": "parentcustomerid_account"}]  # fmt: skip

    cleared = raw.call("PATCH", f"contacts({KEY}='c1')",
                       {"parentcustomerid_account@odata.bind": None}, **{"If-Match": "*"})  # fmt: skip
    assert cleared.status_code == 204, cleared.text
    assert raw.call("GET", select).json()["_parentcustomerid_value"] is None
    assert raw.sim.associations() == []
    assert raw.call("GET", f"contacts({KEY}='c1')").json()["_parentcustomerid_value"] is None
