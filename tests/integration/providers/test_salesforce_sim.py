"""The Salesforce simulator's own behaviour over raw HTTP: native shapes, codes and headers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from providers.salesforce.sim import SalesforceSim, make_simulator
from providers.simulation import SimServer
from syncsvc.demo.system import example_sim_options
from syncsvc.errors import ConfigError
from tests.integration.providers.helpers import serving

V = "/services/data/v62.0"
UPSERT = V + "/composite/sobjects/{}/Syncsvc_Id__c"
AUTH = {"Authorization": "Bearer demo-token"}
Sim = tuple[SimServer, SalesforceSim]


@pytest.fixture
def sim() -> Iterator[Sim]:
    with serving(
        make_simulator({**example_sim_options("salesforce"), "rate_limit_requests": 10_000})
    ) as started:
        yield started


def call(sim: Sim, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("headers", AUTH)
    return requests.request(method, sim[0].url + path, json=body, timeout=5, **kwargs)


def contacts(*numbers: int, **fields: Any) -> list[dict[str, Any]]:
    return [
        {"attributes": {"type": "Contact"}, "Syncsvc_Id__c": str(n), "LastName": f"L{n}", **fields}
        for n in numbers
    ]


def upsert(
    sim: Sim, records: list[dict[str, Any]], obj: str = "Contact", **body: Any
) -> requests.Response:
    return call(sim, "PATCH", UPSERT.format(obj), {"allOrNone": False, "records": records, **body})


def test_upsert_answers_per_record_results_with_created_and_the_limit_header(sim: Sim) -> None:
    first = upsert(sim, contacts(1, 2))
    assert first.status_code == 200
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/100000"
    [one, two] = first.json()
    assert one["success"] is True and one["created"] is True and one["errors"] == []
    assert one["id"].startswith("003") and len(one["id"]) == 18
    again = upsert(sim, contacts(1, FirstName="Ada")).json()
    assert again == [{"id": one["id"], "success": True, "errors": [], "created": False}]
    assert again[0]["id"] != two["id"]
    assert [r["key"] for r in sim[1].view("Contact")] == ["1", "2"]


def test_more_than_200_records_is_a_400_and_writes_nothing(sim: Sim) -> None:
    response = upsert(sim, contacts(*range(201)))
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
        }
    ]
    assert sim[1].view("Contact") == []
    ids = ",".join(f"0035g{n:010d}AAA" for n in range(201))
    assert call(sim, "DELETE", f"{V}/composite/sobjects?ids={ids}").status_code == 400


def test_all_or_none_rolls_back_and_fills_in_the_others(sim: Sim) -> None:
    records = contacts(1, 2, 3)
    del records[1]["LastName"]
    results = upsert(sim, records, allOrNone=True).json()
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ],
    }
    rolled = results[0]["errors"][0]
    assert rolled["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK" and results[2] == results[0]
    assert sim[1].view("Contact") == [] and list(sim[1].acks) == []


@pytest.mark.parametrize(
    ("obj", "record", "missing"),
    [
        ("Contact", {"FirstName": "A"}, ["LastName"]),
        ("Account", {"Website": "x.example"}, ["Name"]),
        ("Opportunity", {"Amount": 5}, ["Name", "StageName", "CloseDate"]),
    ],
)
def test_required_fields_are_reported_per_record(
    sim: Sim, obj: str, record: dict[str, Any], missing: list[str]
) -> None:
    body = [{"attributes": {"type": obj}, "Syncsvc_Id__c": "1", **record}]
    [result] = upsert(sim, body, obj).json()
    [error] = result["errors"]
    assert (error["statusCode"], error["fields"]) == ("REQUIRED_FIELD_MISSING", missing)


def test_value_errors_are_per_record_in_salesforce_words(sim: Sim) -> None:
    records = contacts(1, 2, 3)
    records[0]["Email"] = "bad@"
    records[1]["LastName"] = "x" * 81
    results = upsert(sim, records).json()
    assert results[0]["errors"] == [
        {
            "statusCode": "INVALID_EMAIL_ADDRESS",
            "message": "Email: invalid email address: bad@",
            "fields": ["Email"],
        }
    ]
    error = results[1]["errors"][0]
    assert error["statusCode"] == "STRING_TOO_LONG" and error["fields"] == ["LastName"]
    assert (
        error["message"].startswith("Last Name: data value too large: ")
        and "(max length=80)" in error["message"]
    )
    assert results[2]["success"] is True


def test_a_stage_outside_the_picklist_is_refused(sim: Sim) -> None:
    record = {"attributes": {"type": "Opportunity"}, "Syncsvc_Id__c": "1", "Name": "D"}
    record |= {"StageName": "closedwon", "CloseDate": "2026-01-01"}
    [result] = upsert(sim, [record], "Opportunity").json()
    assert result["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_an_unknown_field_refuses_the_whole_request_with_an_error_code(sim: Sim) -> None:
    response = upsert(sim, contacts(1, 2, Favourite__c="blue"))
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "No such column 'Favourite__c' on sobject of type Contact",
            "errorCode": "INVALID_FIELD",
        }
    ]
    assert sim[1].view("Contact") == []


def test_a_value_of_the_wrong_type_is_a_parser_error_at_its_column(sim: Sim) -> None:
    record = {
        "attributes": {"type": "Opportunity"},
        "Syncsvc_Id__c": "1",
        "Name": "D",
        "Amount": "lots",
    }
    raw = '{"allOrNone":false,"records":[' + json.dumps(record, separators=(",", ":")) + "]}"
    response = call(
        sim,
        "PATCH",
        UPSERT.format("Opportunity"),
        data=raw,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    [error] = response.json()
    assert response.status_code == 400 and error["errorCode"] == "JSON_PARSER_ERROR"
    column = raw.index('"lots"') + 1
    assert error["message"].endswith(
        f"value lots or request may be missing a required field at [line:1, column:{column}]"
    )


def test_one_key_twice_in_a_request_fails_both(sim: Sim) -> None:
    results = upsert(sim, contacts(1, 1, 2)).json()
    for result in results[:2]:
        assert result["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
        assert result["errors"][0]["message"] == "Duplicate external id specified: 1"
    assert results[2]["success"] is True


def test_create_update_and_delete_collections(sim: Sim) -> None:
    created = call(sim, "POST", V + "/composite/sobjects", {"records": contacts(1, 2)}).json()
    assert [r["success"] for r in created] == [True, True] and "created" not in created[0]
    clash = call(sim, "POST", V + "/composite/sobjects", {"records": contacts(1)}).json()[0]
    assert clash["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    assert clash["errors"][0]["message"].endswith(f"with id: {created[0]['id']}")
    update = [{"attributes": {"type": "Contact"}, "id": created[0]["id"], "Title": "CEO"}]
    update.append({"attributes": {"type": "Contact"}, "id": "0035g0000000099AAA", "Title": "x"})
    update.append({"attributes": {"type": "Contact"}, "Title": "no id"})
    updated = call(sim, "PATCH", V + "/composite/sobjects", {"records": update}).json()
    assert updated[0] == {"id": created[0]["id"], "success": True, "errors": []}
    assert updated[1]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert updated[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    ids = f"{created[0]['id']},{created[0]['id']},nonsense,0035g0000000099AAA"
    deleted = call(sim, "DELETE", f"{V}/composite/sobjects?ids={ids}&allOrNone=false").json()
    assert deleted[0] == {"id": created[0]["id"], "success": True, "errors": []}
    codes = [r["errors"][0]["statusCode"] for r in deleted[1:]]
    assert codes == ["ENTITY_IS_DELETED", "MALFORMED_ID", "INVALID_CROSS_REFERENCE_KEY"]
    assert [a["op"] for a in sim[1].acks] == ["create", "create", "update", "archive"]


def test_describe_lists_fields_with_their_flags(sim: Sim) -> None:
    body = call(sim, "GET", V + "/sobjects/Contact/describe").json()
    assert (body["name"], body["keyPrefix"]) == ("Contact", "003")
    fields = {f["name"]: f for f in body["fields"]}
    key = fields["Syncsvc_Id__c"]
    assert key["externalId"] is True and key["unique"] is True and key["custom"] is True
    assert fields["LastName"]["nillable"] is False and fields["LastName"]["length"] == 80
    assert fields["Id"]["createable"] is False
    assert call(sim, "GET", V + "/sobjects/Nope/describe").json()[0]["errorCode"] == "NOT_FOUND"


def test_soql_finds_records_by_key_with_quoted_values(sim: Sim) -> None:
    records = contacts(1, 2)
    records.append({**contacts(3)[0], "Syncsvc_Id__c": "O'Brien"})
    upsert(sim, records)
    query = r"SELECT Id, Syncsvc_Id__c FROM Contact WHERE Syncsvc_Id__c IN ('1','O\'Brien','9')"
    body = call(sim, "GET", V + "/query", params={"q": query}).json()
    assert body["totalSize"] == 2 and body["done"] is True
    assert sorted(r["Syncsvc_Id__c"] for r in body["records"]) == ["1", "O'Brien"]
    assert body["records"][0]["attributes"]["type"] == "Contact"
    bad = call(sim, "GET", V + "/query", params={"q": "SELECT Id FROM Contact WHERE Foo__c = '1'"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
    malformed = call(sim, "GET", V + "/query", params={"q": "SELECT FROM"})
    assert malformed.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_get_by_external_id_answers_300_for_duplicates() -> None:
    with serving(
        make_simulator({**example_sim_options("salesforce"), "unique_external_ids": False})
    ) as sim:
        call(sim, "POST", V + "/composite/sobjects", {"records": contacts(1, 1)})
        response = call(sim, "GET", V + "/sobjects/Contact/Syncsvc_Id__c/1")
        assert response.status_code == 300 and len(response.json()) == 2
        [result] = upsert(sim, contacts(1)).json()
        assert result["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
        assert call(sim, "GET", V + "/sobjects/Contact/Syncsvc_Id__c/2").status_code == 404


def test_upsert_needs_an_external_id_field_and_api_v46(sim: Sim) -> None:
    response = call(
        sim, "PATCH", V + "/composite/sobjects/Contact/LastName", {"records": contacts(1)}
    )
    assert response.status_code == 404
    assert (
        response.json()[0]["message"]
        == "Provided external ID field does not exist or is not accessible: LastName"
    )
    old = call(
        sim,
        "PATCH",
        "/services/data/v45.0/composite/sobjects/Contact/Syncsvc_Id__c",
        {"records": []},
    )
    assert old.status_code == 404


def test_sessions_and_the_token_endpoint_speak_oauth(sim: Sim) -> None:
    refused = call(sim, "GET", V + "/limits", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401
    assert refused.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    form = {
        "grant_type": "refresh_token",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
    }
    bad = requests.post(
        sim[0].url + "/services/oauth2/token", data={**form, "refresh_token": "x"}, timeout=5
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }
    good = requests.post(
        sim[0].url + "/services/oauth2/token",
        data={**form, "refresh_token": "demo-refresh-token"},
        timeout=5,
    ).json()
    assert {"access_token", "instance_url", "issued_at", "token_type", "signature", "id"} <= set(
        good
    )
    assert "expires_in" not in good and good["instance_url"] == sim[0].url
    headers = {"Authorization": f"Bearer {good['access_token']}"}
    assert (
        call(sim, "GET", V + "/limits", headers=headers).json()["DailyApiRequests"]["Max"]
        == 100_000
    )
    sim[1].configure({"expire_tokens": True})
    assert call(sim, "GET", V + "/limits", headers=headers).status_code == 401


def test_limits_answer_403_request_limit_exceeded(sim: Sim) -> None:
    requests.post(
        sim[0].url + "/_sim/config",
        json={"rate_limit_requests": 2, "rate_limit_seconds": 30},
        timeout=5,
    )
    statuses = [call(sim, "GET", V + "/limits").status_code for _ in range(3)]
    assert statuses == [200, 200, 403]
    refused = call(sim, "GET", V + "/limits")
    assert refused.json() == [
        {
            "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=2/100000"
    stats = requests.get(sim[0].url + "/_sim/stats", timeout=5).json()
    assert (stats["throttled"], stats["max_in_window"]) == (2, 2)
    requests.post(
        sim[0].url + "/_sim/config", json={"rate_limit_requests": 100, "daily_limit": 3}, timeout=5
    )
    assert requests.get(sim[0].url + "/_sim/stats", timeout=5).json()["max_in_window"] == 0
    assert call(sim, "GET", V + "/limits").status_code == 200
    daily = call(sim, "GET", V + "/limits")
    assert (
        daily.status_code == 403 and daily.json()[0]["message"] == "TotalRequests Limit exceeded."
    )


def test_the_injected_faults_speak_salesforce(sim: Sim) -> None:
    requests.post(
        sim[0].url + "/_sim/faults", json={"mode": "rate_limit", "seconds": 30}, timeout=5
    )
    throttled = call(sim, "GET", V + "/limits")
    assert (
        throttled.status_code == 403
        and throttled.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    )
    requests.post(
        sim[0].url + "/_sim/faults",
        json={"mode": "http_error", "status": 503, "seconds": 30},
        timeout=5,
    )
    assert call(sim, "GET", V + "/limits").json()[0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_the_rate_limit_fault_spares_the_token_endpoint_but_an_outage_does_not(sim: Sim) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
    }
    token_url = sim[0].url + "/services/oauth2/token"
    requests.post(
        sim[0].url + "/_sim/faults", json={"mode": "rate_limit", "seconds": 30}, timeout=5
    )
    assert requests.post(token_url, data=form, timeout=5).status_code == 200
    requests.post(
        sim[0].url + "/_sim/faults",
        json={"mode": "http_error", "status": 503, "seconds": 30},
        timeout=5,
    )
    assert requests.post(token_url, data=form, timeout=5).status_code == 503


def test_reject_values_fail_their_record_with_a_validation_rule_error(sim: Sim) -> None:
    requests.post(sim[0].url + "/_sim/config", json={"reject_values": ["NO"]}, timeout=5)
    results = upsert(sim, [*contacts(1), *contacts(2, Title="NO")]).json()
    assert results[0]["success"] is True
    assert results[1]["errors"][0]["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert results[1]["errors"][0]["fields"] == ["Title"]


def test_view_dump_and_reset(sim: Sim) -> None:
    upsert(sim, contacts(1, FirstName="Ada"))
    [view] = sim[1].view("Contact")
    assert (
        view["key"] == "1"
        and view["fields"]["FirstName"] == "Ada"
        and view["fields"]["Name"] == "Ada L1"
    )
    [dump] = sim[1].dump("Contact")
    assert dump["attributes"] == {"type": "Contact", "url": f"{V}/sobjects/Contact/{view['id']}"}
    assert call(sim, "GET", f"{V}/sobjects/Contact/{view['id']}").json()["Id"] == view["id"]
    requests.post(sim[0].url + "/_sim/reset", timeout=5)
    assert sim[1].view("Contact") == [] and sim[1].extra_stats()["api_usage"] == 0
    [again] = upsert(sim, contacts(1)).json()
    assert again["id"] != view["id"], "ids are never reused"


def test_concurrent_upserts_land_once_each(sim: Sim) -> None:
    def push(start: int) -> None:
        for n in range(start, start + 20):
            assert upsert(sim, contacts(n, n % 7)).status_code == 200

    threads = [threading.Thread(target=push, args=(n * 20,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(sim[1].view("Contact")) == 120


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        make_simulator({"rate_limit": 5})
    with pytest.raises(ValueError):
        make_simulator({"custom_fields": {"Contact": ["NoSuffix"]}})
    app = make_simulator({})
    with pytest.raises(ValueError):
        app.configure({"custom_fields": {}})


# field metadata ----------------------------------------------------------------------------
FIELD_KEYS = {"name", "label", "type", "soapType", "length", "precision", "scale", "digits"}
FIELD_KEYS |= {"nillable", "createable", "updateable", "defaultedOnCreate", "calculated"}
FIELD_KEYS |= {"custom", "externalId", "unique", "idLookup", "picklistValues", "referenceTo"}
FIELD_KEYS |= {"restrictedPicklist", "relationshipName"}


def described(sim: Sim, obj: str) -> dict[str, dict[str, Any]]:
    response = call(sim, "GET", f"{V}/sobjects/{obj}/describe")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == obj and body["urls"]["describe"].endswith(f"/sobjects/{obj}/describe")
    return {f["name"]: f for f in body["fields"]}


@pytest.mark.parametrize(
    ("obj", "at_least"), [("Contact", 60), ("Account", 55), ("Opportunity", 40), ("Lead", 55)]
)
def test_describe_lists_the_standard_fields_in_the_describe_shape(
    sim: Sim, obj: str, at_least: int
) -> None:
    fields = described(sim, obj)
    assert len(fields) >= at_least
    for field in fields.values():
        assert set(field) >= FIELD_KEYS, field["name"]
    assert fields["Id"]["type"] == "id" and not fields["Id"]["createable"]
    assert fields["OwnerId"]["defaultedOnCreate"] and not fields["OwnerId"]["nillable"]


def test_describe_carries_real_types_lengths_and_picklist_values(sim: Sim) -> None:
    lead = described(sim, "Lead")
    assert (lead["LastName"]["type"], lead["LastName"]["length"]) == ("string", 80)
    assert lead["LastName"]["nillable"] is False and lead["Company"]["nillable"] is False
    assert (lead["Description"]["type"], lead["Description"]["length"]) == ("textarea", 32000)
    assert (lead["AnnualRevenue"]["type"], lead["AnnualRevenue"]["precision"]) == ("currency", 18)
    assert (lead["NumberOfEmployees"]["type"], lead["NumberOfEmployees"]["digits"]) == ("int", 8)
    assert [v["value"] for v in lead["Rating"]["picklistValues"]] == ["Hot", "Warm", "Cold"]
    clean = {v["value"]: v["label"] for v in lead["CleanStatus"]["picklistValues"]}
    assert clean["Matched"] == "In Sync" and lead["CleanStatus"]["restrictedPicklist"] is True
    stage = described(sim, "Opportunity")["StageName"]
    assert "Closed Won" in [v["value"] for v in stage["picklistValues"]]
    assert described(sim, "Contact")["Email"]["type"] == "email"


def test_an_unknown_object_is_not_found(sim: Sim) -> None:
    response = call(sim, "GET", f"{V}/sobjects/Nonexistent/describe")
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def custom_field(sim: Sim, full_name: str, **metadata: Any) -> requests.Response:
    body = {"FullName": full_name, "Metadata": metadata}
    return call(sim, "POST", f"{V}/tooling/sobjects/CustomField", body)


def test_a_custom_field_made_through_the_tooling_api_shows_in_describe_and_takes_writes(
    sim: Sim,
) -> None:
    made = custom_field(
        sim, "Lead.Customer_Key__c", type="Text", label="Customer Key", length=40,
        externalId=True, unique=True,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["success"] is True and made.json()["id"].startswith("00N")
    level = {"fullName": "Gold", "label": "Gold"}, {"fullName": "Silver", "label": "Silver"}
    picklist = custom_field(
        sim, "Lead.Level__c", type="Picklist", label="Level",
        valueSet={"restricted": True, "valueSetDefinition": {"value": list(level)}},
    )  # fmt: skip
    assert picklist.status_code == 201, picklist.text
    field = described(sim, "Lead")["Customer_Key__c"]
    assert (field["type"], field["length"], field["custom"]) == ("string", 40, True)
    assert field["externalId"] and field["unique"] and field["idLookup"]
    assert described(sim, "Lead")["Level__c"]["restrictedPicklist"] is True
    again = custom_field(sim, "Lead.Customer_Key__c", type="Text", length=40)
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    bad = custom_field(sim, "Lead.No_Suffix", type="Text")
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    record = {"attributes": {"type": "Lead"}, "Customer_Key__c": "eu-1", "LastName": "L"}
    path = f"{V}/composite/sobjects/Lead/Customer_Key__c"
    answer = call(sim, "PATCH", path, {"records": [{**record, "Company": "C"}]}).json()
    assert answer[0]["success"] is True and answer[0]["created"] is True
    sim[1].reset()  # records go, metadata stays
    assert "Customer_Key__c" in described(sim, "Lead")


def lead(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Lead"}, "LastName": "L", "Company": "C", **fields}


def refused(sim: Sim) -> int:
    stats = requests.get(sim[0].url + "/_sim/stats", timeout=5).json()
    return int(stats["refused_calls"])


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"Description": "x" * 32001}, "STRING_TOO_LONG", "Description"),
        (
            {"GeocodeAccuracy": "Somewhere"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "GeocodeAccuracy",
        ),
        ({"Email": "not-an-address"}, "INVALID_EMAIL_ADDRESS", "Email"),
        ({"NumberOfEmployees": 123456789}, "NUMBER_OUTSIDE_VALID_RANGE", "NumberOfEmployees"),
        ({"PhotoUrl": "http://x.example/p.png"}, "INVALID_FIELD_FOR_INSERT_UPDATE", "PhotoUrl"),
        ({"Company": None}, "REQUIRED_FIELD_MISSING", "Company"),
    ],
)
def test_a_bad_value_fails_its_record_alone_with_salesforces_error(
    sim: Sim, fields: dict[str, Any], code: str, field: str
) -> None:
    response = call(sim, "POST", f"{V}/composite/sobjects", {"records": [lead(**fields), lead()]})
    assert response.status_code == 200
    bad, good = response.json()
    assert bad["success"] is False and good["success"] is True
    [error] = bad["errors"]
    assert (error["statusCode"], error["fields"]) == (code, [field])
    assert refused(sim) == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"NumberOfEmployees": "many"}, "JSON_PARSER_ERROR"),
        ({"NumberOfEmployees": 1.5}, "JSON_PARSER_ERROR"),
        ({"DoNotCall": "yes"}, "JSON_PARSER_ERROR"),
        ({"Founded__c": "2020-01-01"}, "INVALID_FIELD"),
    ],
)
def test_a_wrong_type_or_unknown_field_fails_the_whole_request(
    sim: Sim, fields: dict[str, Any], code: str
) -> None:
    response = call(sim, "POST", f"{V}/composite/sobjects", {"records": [lead(**fields)]})
    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == code and error["message"]
    assert refused(sim) == 1
    assert sim[1].view("Lead") == []


def test_an_unrestricted_picklist_takes_any_value_as_salesforce_does(sim: Sim) -> None:
    response = call(sim, "POST", f"{V}/composite/sobjects", {"records": [lead(Rating="Tepid")]})
    assert response.json()[0]["success"] is True
    assert refused(sim) == 0
