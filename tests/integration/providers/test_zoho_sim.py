"""The Zoho simulator's own behaviour over raw HTTP: Zoho's paths, envelopes and limits."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from providers.simulation import SimServer
from providers.zoho.sim import ZohoSim, make_simulator
from syncsvc.errors import ConfigError
from tests.integration.providers import test_zoho_client as shared
from tests.integration.providers.test_zoho_client import StartSim

start_sim, zoho = shared.start_sim, shared.zoho
Sim = tuple[SimServer, ZohoSim]
API = "/crm/v8"


def token(server: SimServer) -> str:
    answer = requests.post(
        server.url + "/oauth/v2/token",
        params={
            "grant_type": "refresh_token",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "refresh_token": "demo-refresh-token",
        },
        timeout=5,
    ).json()
    return str(answer["access_token"])


class Api:
    def __init__(self, server: SimServer) -> None:
        self.url = server.url_of("api") + API
        self.headers = {"Authorization": f"Zoho-oauthtoken {token(server)}"}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", self.headers)
        return requests.request(method, self.url + path, headers=headers, timeout=5, **kwargs)


@pytest.fixture
def api(zoho: Sim) -> Api:
    return Api(zoho[0])


def contact(n: int, **fields: Any) -> dict[str, Any]:
    return {"Syncsvc_Id": str(n), "Last_Name": f"Last {n}", "Email": f"c{n}@example.com", **fields}


def upsert(api: Api, *records: dict[str, Any], module: str = "Contacts") -> requests.Response:
    body = {"data": list(records), "duplicate_check_fields": ["Syncsvc_Id"]}
    return api.call("POST", f"/{module}/upsert", json=body)


# write calls ---------------------------------------------------------------------------------
def test_upsert_answers_action_and_duplicate_field_per_record(api: Api) -> None:
    first = upsert(api, contact(1))
    assert first.status_code == 200
    [entry] = first.json()["data"]
    assert (entry["code"], entry["status"], entry["action"]) == ("SUCCESS", "success", "insert")
    assert entry["duplicate_field"] is None and entry["message"] == "record added"
    assert len(entry["details"]["id"]) == 19 and entry["details"]["Created_By"]["id"]

    [again] = upsert(api, contact(1, First_Name="Ada")).json()["data"]
    assert (again["action"], again["duplicate_field"], again["message"]) == (
        "update",
        "Syncsvc_Id",
        "record updated",
    )
    assert again["details"]["id"] == entry["details"]["id"]


def test_more_than_100_records_is_limit_exceeded_and_writes_nothing(zoho: Sim, api: Api) -> None:
    response = upsert(api, *(contact(n) for n in range(101)))
    assert response.status_code == 400
    assert response.json() == {
        "code": "LIMIT_EXCEEDED",
        "details": {"limit": 100},
        "message": "max records limit exceeded",
        "status": "error",
    }
    assert zoho[1].view("Contacts") == []


def test_partial_success_is_207_with_an_entry_per_record_in_order(api: Api) -> None:
    response = upsert(api, contact(1), contact(2, Email="nope"), contact(3, Last_Name=None))
    assert response.status_code == 207
    ok, bad_email, no_name = response.json()["data"]
    assert ok["status"] == "success"
    assert bad_email == {
        "code": "INVALID_DATA",
        "details": {
            "api_name": "Email",
            "json_path": "$.data[1].Email",
            "expected_data_type": "email",
        },
        "message": "invalid data",
        "status": "error",
    }
    assert no_name["code"] == "MANDATORY_NOT_FOUND"
    assert no_name["details"]["api_name"] == "Last_Name"


def test_every_record_failing_is_a_400_still_answered_per_record(api: Api) -> None:
    response = upsert(api, contact(1, Shoe_Size="9"), contact(2, Last_Name="x" * 81))
    assert response.status_code == 400
    unknown, too_long = response.json()["data"]
    assert unknown["details"]["api_name"] == "Shoe_Size"
    assert too_long["details"] == {
        "api_name": "Last_Name",
        "json_path": "$.data[1].Last_Name",
        "maximum_length": 80,
    }


def test_duplicate_check_fields_must_be_unique_or_system_fields(api: Api) -> None:
    body = {"data": [contact(1)], "duplicate_check_fields": ["First_Name"]}
    response = api.call("POST", "/Contacts/upsert", json=body)
    assert response.status_code == 400
    assert response.json()["details"]["api_name"] == "duplicate_check_fields"


def test_upsert_without_duplicate_check_fields_matches_the_system_field_first(api: Api) -> None:
    api.call("POST", "/Accounts", json={"data": [{"Account_Name": "Zylker", "Syncsvc_Id": "1"}]})
    body = {"data": [{"Account_Name": "zylker", "Billing_City": "Oslo"}]}
    [entry] = api.call("POST", "/Accounts/upsert", json=body).json()["data"]
    assert (entry["action"], entry["duplicate_field"]) == ("update", "Account_Name")


def test_insert_of_a_taken_unique_value_is_duplicate_data_naming_the_owner(api: Api) -> None:
    [created] = api.call("POST", "/Contacts", json={"data": [contact(1)]}).json()["data"]
    response = api.call("POST", "/Contacts", json={"data": [contact(1)]})
    assert response.status_code == 400
    [entry] = response.json()["data"]
    assert entry["code"] == "DUPLICATE_DATA"
    assert entry["details"]["api_name"] == "Syncsvc_Id"
    assert entry["details"]["duplicate_record"]["id"] == created["details"]["id"]


def test_insert_answers_201_and_update_needs_a_known_id(api: Api) -> None:
    inserted = api.call("POST", "/Deals", json={"data": [_deal(1)]})
    assert inserted.status_code == 201
    record_id = inserted.json()["data"][0]["details"]["id"]
    update = {"data": [{"id": record_id, "Amount": 12.5}, {"id": "1", "Amount": 1}, {"Amount": 2}]}
    response = api.call("PUT", "/Deals", json=update)
    assert response.status_code == 207
    ok, unknown, no_id = response.json()["data"]
    assert ok["message"] == "record updated"
    assert (unknown["code"], unknown["details"]["api_name"]) == ("INVALID_DATA", "id")
    assert (no_id["code"], no_id["details"]["api_name"]) == ("MANDATORY_NOT_FOUND", "id")
    got = api.call("GET", f"/Deals/{record_id}").json()["data"][0]
    assert (got["Amount"], got["Stage"], got["Syncsvc_Id"]) == (12.5, "Qualification", "1")


def _deal(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "Syncsvc_Id": str(n),
        "Deal_Name": f"Deal {n}",
        "Stage": "Qualification",
        "Closing_Date": "2027-01-15",
        **fields,
    }


def test_deal_stage_and_dates_are_checked(api: Api) -> None:
    response = api.call(
        "POST", "/Deals", json={"data": [_deal(1, Stage="Won-ish"), _deal(2, Closing_Date="15/01")]}
    )
    stage, date = response.json()["data"]
    assert stage["details"]["api_name"] == "Stage"
    assert "Closed Won" in stage["details"]["supported_values"]
    assert date["details"]["expected_data_type"] == "date"


def test_delete_answers_per_id_and_207_for_ids_it_does_not_have(zoho: Sim, api: Api) -> None:
    record_id = upsert(api, contact(1)).json()["data"][0]["details"]["id"]
    response = api.call("DELETE", "/Contacts", params={"ids": f"{record_id},5725767000000999999"})
    assert response.status_code == 207
    assert response.json()["data"] == [
        {"code": "SUCCESS", "details": {"id": record_id}, "message": "record deleted",
         "status": "success"},
        {"code": "INVALID_DATA", "details": {"id": "5725767000000999999"},
         "message": "record not deleted", "status": "error"},
    ]  # fmt: skip
    assert zoho[1].view("Contacts") == []
    assert [a["op"] for a in zoho[1].acks] == ["upsert", "archive"]
    missing = api.call("DELETE", "/Contacts")
    assert missing.status_code == 400 and missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    too_many = api.call("DELETE", "/Contacts", params={"ids": ",".join(map(str, range(101)))})
    assert too_many.json()["code"] == "LIMIT_EXCEEDED"


def test_unknown_modules_and_paths_answer_in_zohos_words(api: Api) -> None:
    module = upsert(api, contact(1), module="Spaceships")
    assert module.status_code == 400
    assert module.json()["code"] == "INVALID_MODULE"
    path = api.call("GET", "/Contacts/upsert/extra")
    assert (path.status_code, path.json()["code"]) == (404, "INVALID_URL_PATTERN")
    method = api.call("PATCH", "/Contacts")
    assert (method.status_code, method.json()["code"]) == (400, "INVALID_REQUEST_METHOD")


# reads ---------------------------------------------------------------------------------------
def test_coql_selects_exactly_and_answers_204_when_nothing_matches(api: Api) -> None:
    upsert(api, contact(1), contact(12), contact(123))
    query = "select id, Syncsvc_Id from Contacts where Syncsvc_Id in ('1', '123') limit 200"
    response = api.call("POST", "/coql", json={"select_query": query})
    assert response.status_code == 200
    body = response.json()
    assert sorted(r["Syncsvc_Id"] for r in body["data"]) == ["1", "123"]
    assert body["info"] == {"count": 2, "more_records": False}
    nothing = "select id from Contacts where Syncsvc_Id = 'it''s' limit 5"
    assert api.call("POST", "/coql", json={"select_query": nothing}).status_code == 400
    none = "select id from Contacts where Syncsvc_Id = 'it\\'s'"
    assert api.call("POST", "/coql", json={"select_query": none}).status_code == 204


def test_search_equals_behaves_like_contains_as_zoho_documents(api: Api) -> None:
    upsert(api, contact(1), contact(12), contact(3, Last_Name="Burns,B"))
    response = api.call("GET", "/Contacts/search", params={"criteria": "(Syncsvc_Id:equals:1)"})
    assert sorted(r["Syncsvc_Id"] for r in response.json()["data"]) == ["1", "12"]
    escaped = api.call(
        "GET", "/Contacts/search", params={"criteria": r"(Last_Name:equals:Burns\,B)"}
    )
    assert [r["Syncsvc_Id"] for r in escaped.json()["data"]] == ["3"]
    either = "((Syncsvc_Id:equals:3)or(Email:starts_with:c12@))"
    assert len(api.call("GET", "/Contacts/search", params={"criteria": either}).json()["data"]) == 2
    nothing = api.call("GET", "/Contacts/search", params={"criteria": "(Syncsvc_Id:equals:9)"})
    assert (nothing.status_code, nothing.content) == (204, b"")


def test_fields_metadata_lists_api_names_types_and_mandatory_flags(api: Api) -> None:
    response = api.call("GET", "/settings/fields", params={"module": "Deals"})
    fields = {f["api_name"]: f for f in response.json()["fields"]}
    mandatory = sorted(n for n, f in fields.items() if f["system_mandatory"])
    assert mandatory == ["Closing_Date", "Deal_Name", "Stage"]
    assert fields["Syncsvc_Id"]["custom_field"] is True
    assert fields["Amount"]["data_type"] == "currency"
    assert api.call("GET", "/settings/fields").json()["code"] == "REQUIRED_PARAM_MISSING"


def test_fields_metadata_has_zohos_shape_for_standard_fields(api: Api) -> None:
    counts = {}
    for module in ("Contacts", "Accounts", "Deals"):
        response = api.call("GET", "/settings/fields", params={"module": module})
        assert response.status_code == 200 and set(response.json()) == {"fields"}
        counts[module] = len(response.json()["fields"])
    assert min(counts.values()) >= 30, counts
    fields = {
        f["api_name"]: f
        for f in api.call("GET", "/settings/fields", params={"module": "Contacts"}).json()["fields"]
    }
    last = fields["Last_Name"]
    assert {k: last[k] for k in ("data_type", "json_type", "length", "system_mandatory")} == {
        "data_type": "text", "json_type": "string", "length": 80, "system_mandatory": True,
    }  # fmt: skip
    assert last["operation_type"] == {
        "web_update": True, "api_create": True, "web_create": True, "api_update": True,
    }  # fmt: skip
    assert (
        fields["Full_Name"]["read_only"] and not fields["Full_Name"]["operation_type"]["api_create"]
    )
    source = fields["Lead_Source"]
    assert source["data_type"] == "picklist" and source["unique"] == {}
    assert {"display_value": "Cold Call", "actual_value": "Cold Call"}.items() <= next(
        v for v in source["pick_list_values"] if v["display_value"] == "Cold Call"
    ).items()
    assert fields["Email_Opt_Out"]["json_type"] == "boolean"


def test_custom_fields_are_created_through_the_settings_api(api: Api) -> None:
    body = {
        "fields": [
            {"field_label": "Customer Key", "data_type": "text", "length": 40,
             "unique": {"case_sensitive": False}},
            {"field_label": "Interests", "data_type": "multiselectpicklist",
             "pick_list_values": [{"display_value": "Golf"}, {"display_value": "Chess"}]},
            {"field_label": "Customer Key", "data_type": "text"},
            {"field_label": "Nope", "data_type": "hologram"},
        ]
    }  # fmt: skip
    answer = api.call("POST", "/settings/fields", params={"module": "Contacts"}, json=body)
    assert answer.status_code == 207
    entries = answer.json()["fields"]
    assert [e["code"] for e in entries] == ["SUCCESS", "SUCCESS", "DUPLICATE_DATA", "INVALID_DATA"]
    assert entries[0]["message"] == "field created" and entries[0]["details"]["id"]
    assert entries[3]["details"]["api_name"] == "data_type"
    fields = {
        f["api_name"]: f
        for f in api.call("GET", "/settings/fields", params={"module": "Contacts"}).json()["fields"]
    }
    key = fields["Customer_Key"]
    assert (key["custom_field"], key["unique"], key["length"]) == (
        True,
        {"case_sensitive": False},
        40,
    )
    assert fields["Interests"]["json_type"] == "jsonarray"
    records = [{"Last_Name": "A", "Customer_Key": "k1", "Interests": ["Golf"]}]
    upserted = api.call("POST", "/Contacts/upsert",
                        json={"data": records, "duplicate_check_fields": ["Customer_Key"]})  # fmt: skip
    assert upserted.json()["data"][0]["action"] == "insert"
    again = api.call("POST", "/Contacts/upsert",
                     json={"data": records, "duplicate_check_fields": ["Customer_Key"]})  # fmt: skip
    assert again.json()["data"][0]["duplicate_field"] == "Customer_Key"


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({"Email_Opt_Out": "yes"}, {"api_name": "Email_Opt_Out", "expected_data_type": "boolean"}),
        (
            {"Date_of_Birth": "01/02/1990"},
            {"api_name": "Date_of_Birth", "expected_data_type": "date"},
        ),
        ({"Lead_Source": "Carrier Pigeon"}, {"api_name": "Lead_Source"}),
        ({"First_Name": "x" * 41}, {"api_name": "First_Name", "maximum_length": 40}),
        ({"Full_Name": "Read Only"}, {"api_name": "Full_Name"}),
        ({"No_Such_Field": "x"}, {"api_name": "No_Such_Field"}),
    ],
)
def test_a_bad_value_is_refused_per_record_in_zohos_words_and_counted(
    zoho: Sim, api: Api, fields: dict[str, Any], details: dict[str, Any]
) -> None:
    good = contact(1)
    answer = upsert(api, good, contact(2, **fields))
    assert answer.status_code == 207
    ok, refused = answer.json()["data"]
    assert ok["status"] == "success"
    assert (refused["code"], refused["status"], refused["message"].startswith(("invalid", "the"))) == (
        "INVALID_DATA", "error", True,
    )  # fmt: skip
    assert details.items() <= refused["details"].items()
    assert refused["details"]["json_path"] == f"$.data[1].{details['api_name']}"
    if details["api_name"] == "Lead_Source":
        assert "Cold Call" in refused["details"]["supported_values"]
    stats = requests.get(zoho[0].url + "/_sim/stats", timeout=5).json()
    assert (stats["refused_calls"], stats["refused_records"]) == (1, 1)
    assert [v["key"] for v in zoho[1].view("Contacts")] == ["1"]


def test_custom_fields_option_and_reset_keeps_fields_but_forgets_records(
    start_sim: StartSim,
) -> None:
    server, sim = start_sim(
        custom_fields={"Deals": [{"field_label": "Ext Ref", "data_type": "text", "unique": True}]},
        key_field="Ext_Ref",
    )
    api = Api(server)
    deal = {
        "Deal_Name": "D",
        "Stage": "Qualification",
        "Closing_Date": "2027-01-15",
        "Ext_Ref": "r1",
    }
    assert api.call("POST", "/Deals", json={"data": [deal]}).status_code == 201
    assert [v["key"] for v in sim.view("Deals")] == ["r1"]
    assert requests.get(server.url + "/_sim/acks", timeout=5).json()["acks"][0]["key"] == "r1"
    requests.post(server.url + "/_sim/reset", timeout=5).raise_for_status()
    assert sim.view("Deals") == [] and "Ext_Ref" in sim.stores["Deals"].unique
    with pytest.raises(ConfigError, match="custom_fields"):
        make_simulator({"custom_fields": {"Deals": [{"field_label": "X", "data_type": "nope"}]}})


# auth and limits -----------------------------------------------------------------------------
def test_tokens_come_from_the_accounts_endpoint_and_refusals_are_200s(zoho: Sim) -> None:
    url = zoho[0].url + "/oauth/v2/token"
    good = {"grant_type": "refresh_token", "client_id": "demo-client",
            "client_secret": "demo-secret", "refresh_token": "demo-refresh-token"}  # fmt: skip
    answer = requests.post(url, params=good, timeout=5).json()
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    assert answer["access_token"].startswith("1000.")
    assert answer["api_domain"] == zoho[0].url_of("api") != zoho[0].url
    refused = requests.post(url, params={**good, "refresh_token": "old"}, timeout=5)
    assert (refused.status_code, refused.json()) == (200, {"error": "invalid_code"})


def test_missing_bad_and_expired_tokens_are_401s(zoho: Sim, api: Api) -> None:
    none = api.call("GET", "/settings/fields?module=Deals", headers={})
    assert (none.status_code, none.json()["code"]) == (401, "AUTHENTICATION_FAILURE")
    bearer = {"Authorization": api.headers["Authorization"].replace("Zoho-oauthtoken", "Bearer")}
    assert api.call("GET", "/settings/fields?module=Deals", headers=bearer).status_code == 401
    zoho[1].configure({"expire_tokens": True})
    expired = api.call("GET", "/settings/fields?module=Deals")
    assert expired.json() == {
        "code": "INVALID_TOKEN",
        "details": {},
        "message": "invalid oauth token",
        "status": "error",
    }


def test_the_accounts_host_refuses_api_calls_as_another_data_centre_would(
    zoho: Sim, api: Api
) -> None:
    at_accounts = requests.get(
        zoho[0].url + API + "/settings/fields?module=Deals", headers=api.headers, timeout=5
    )
    assert at_accounts.status_code == 401
    assert at_accounts.json()["code"] == "INVALID_TOKEN"
    assert api.call("GET", "/settings/fields?module=Deals").status_code == 200
    assert zoho[1].extra_stats()["auth_wrong_host"] == 1


def test_the_window_answers_429_too_many_requests_without_retry_after(
    start_sim: StartSim,
) -> None:
    server, sim = start_sim(rate_limit_requests=2, rate_limit_seconds=30)
    api = Api(server)
    statuses = [upsert(api, contact(n)).status_code for n in range(3)]
    assert statuses == [200, 200, 429]
    throttled = upsert(api, contact(9))
    assert throttled.json()["code"] == "TOO_MANY_REQUESTS"
    assert "Retry-After" not in throttled.headers
    stats = sim.extra_stats()
    assert (stats["max_in_window"], sim.stats["throttled"]) == (2, 2)
    sim.configure({"rate_limit_requests": 50})
    assert sim.extra_stats()["max_in_window"] == 0, "a new limit starts a new measurement"


def test_credits_are_charged_per_ten_records_and_announced_past_half(
    start_sim: StartSim,
) -> None:
    server, sim = start_sim(api_credits=10)
    api = Api(server)
    first = upsert(api, *(contact(n) for n in range(30)))  # 3 credits
    assert "X-API-CREDITS-REMAINING" not in first.headers
    second = upsert(api, *(contact(n) for n in range(30, 50)))  # 2 more: half used
    assert second.headers["X-API-CREDITS-REMAINING"] == "5"
    for n in range(5):
        upsert(api, contact(100 + n))
    exhausted = upsert(api, contact(200))
    assert exhausted.status_code == 429
    assert "credits" in exhausted.json()["message"]
    assert exhausted.headers["X-API-CREDITS-REMAINING"] == "0"
    assert sim.extra_stats()["throttled_credits"] == 1


def test_concurrent_calls_over_the_limit_are_refused(start_sim: StartSim) -> None:
    server, sim = start_sim(concurrency=1, rate_limit_requests=10_000)
    api = Api(server)
    statuses: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        for n in range(20):
            status = upsert(api, *(contact(n * 100 + i) for i in range(100))).status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert set(statuses) <= {200, 429}
    assert sim.extra_stats()["max_concurrent"] == 1
    assert statuses.count(429) == sim.extra_stats()["throttled_concurrency"]


def test_the_rate_limit_fault_answers_zohos_429(zoho: Sim, api: Api) -> None:
    requests.post(
        zoho[0].url + "/_sim/faults", json={"mode": "rate_limit", "seconds": 5}, timeout=5
    )
    response = upsert(api, contact(1))
    assert (response.status_code, response.json()["code"]) == (429, "TOO_MANY_REQUESTS")
    assert zoho[1].stats["throttled"] == 1


# control hooks -------------------------------------------------------------------------------
def test_view_dump_and_reset(zoho: Sim, api: Api) -> None:
    record_id = upsert(api, contact(1, Phone="+1 555")).json()["data"][0]["details"]["id"]
    assert zoho[1].view("Contacts") == [
        {"id": record_id, "key": "1",
         "fields": {"Syncsvc_Id": "1", "Last_Name": "Last 1", "Email": "c1@example.com",
                    "Phone": "+1 555"}},
    ]  # fmt: skip
    [native] = zoho[1].dump("contacts")
    assert native["Owner"]["id"] and native["Created_Time"] and native["id"] == record_id
    requests.post(zoho[0].url + "/_sim/reset", timeout=5).raise_for_status()
    assert zoho[1].view("Contacts") == [] and zoho[1].extra_stats()["credits_used"] == 0


def test_unknown_options_fail_loudly() -> None:
    with pytest.raises(ConfigError):
        make_simulator({"rate_limit": 5})
    with pytest.raises(ValueError):
        make_simulator({}).configure({"oauth_clients": {}})


def test_a_lookup_reads_back_with_the_name_of_the_record_it_names(zoho: Sim, api: Api) -> None:
    """``Account_Name: {"id"}`` is read back as ``{"name", "id"}``, the account's name; null
    empties it."""
    server, _ = zoho
    account = {"Syncsvc_Id": "a1", "Account_Name": "North"}
    made = api.call("POST", "/Accounts/upsert", json={"data": [account],
                    "duplicate_check_fields": ["Syncsvc_Id"]})  # fmt: skip
    account_id = made.json()["data"][0]["details"]["id"]
    contact_id = upsert(api, contact(1)).json()["data"][0]["details"]["id"]

    def lookup() -> Any:
        answer = api.call("GET", "/Contacts", params={"ids": contact_id, "fields": "Account_Name"})
        return answer.json()["data"][0]["Account_Name"]

    edit = {"object": "Contacts", "action": "update", "id": contact_id,
            "fields": {"Account_Name": {"id": account_id}}}  # fmt: skip
    assert requests.post(f"{server.url}/_sim/edit", json=edit, timeout=5).status_code == 200
    assert lookup() == {"name": "North", "id": account_id}
    edit["fields"] = {"Account_Name": None}
    assert requests.post(f"{server.url}/_sim/edit", json=edit, timeout=5).status_code == 200
    assert lookup() is None
