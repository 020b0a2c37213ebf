"""Dataverse attribute metadata (as the Web API answers it) read into FieldDefs."""

from __future__ import annotations

from typing import Any

from providers.dynamics.metadata import field_defs
from syncsvc.fields.model import FieldOption, FieldType


def label(text: str) -> dict[str, Any]:
    one = {"Label": text, "LanguageCode": 1033}
    return {"LocalizedLabels": [one], "UserLocalizedLabel": one}


def attr(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{kind}AttributeMetadata",
        "LogicalName": name, "AttributeType": kind, "AttributeTypeName": {"Value": f"{kind}Type"},
        "DisplayName": label(name.title()), "RequiredLevel": {"Value": "None"},
        "IsValidForCreate": True, "IsValidForUpdate": True, "IsCustomAttribute": False,
        "AttributeOf": None, **extra,
    }  # fmt: skip


ATTRIBUTES = [
    attr(
        "contactid",
        "Uniqueidentifier",
        IsValidForUpdate=False,
        RequiredLevel={"Value": "SystemRequired"},
    ),
    attr(
        "lastname",
        "String",
        MaxLength=50,
        Format="Text",
        RequiredLevel={"Value": "ApplicationRequired"},
    ),
    attr("fullname", "String", MaxLength=160, IsValidForCreate=False, IsValidForUpdate=False),
    attr("address1_composite", "Memo", MaxLength=1000, Format="TextArea"),
    attr("description", "Memo", MaxLength=2000),
    attr("numberofchildren", "Integer", MinValue=0, MaxValue=1000000000),
    attr("annualincome", "Money", Precision=2),
    attr("address1_latitude", "Double"),
    attr("donotemail", "Boolean"),
    attr("birthdate", "DateTime", Format="DateOnly", DateTimeBehavior={"Value": "DateOnly"}),
    attr(
        "lastusedincampaign", "DateTime", Format="DateOnly", DateTimeBehavior={"Value": "UserLocal"}
    ),
    attr("gendercode", "Picklist"),
    attr("statuscode", "Status"),
    {**attr("new_days", "Virtual"), "AttributeTypeName": {"Value": "MultiSelectPicklistType"}},
    attr("parentcustomerid", "Customer", Targets=["account", "contact"]),
    attr("ownerid", "Owner", RequiredLevel={"Value": "SystemRequired"}),
    attr("parentcustomeridname", "String", AttributeOf="parentcustomerid", MaxLength=100),
    attr("new_externalkey", "String", MaxLength=100, IsCustomAttribute=True),
    attr(
        "new_mandatory",
        "String",
        MaxLength=10,
        IsCustomAttribute=True,
        RequiredLevel={"Value": "SystemRequired"},
    ),
]
CHOICES = [
    {"LogicalName": "gendercode", "OptionSet": {"Options": [
        {"Value": 1, "Label": label("Male")}, {"Value": 2, "Label": label("Female")}]},
     "GlobalOptionSet": None},
    {"LogicalName": "statuscode", "OptionSet": {"Options": [{"Value": 1, "Label": label("Active")}]}},
    {"LogicalName": "new_days", "OptionSet": None, "GlobalOptionSet": {"Options": [
        {"Value": 100000000, "Label": label("Monday")}]}},
]  # fmt: skip
KEYS = [
    {"KeyAttributes": ["new_externalkey"], "EntityKeyIndexStatus": "Active"},
    {"KeyAttributes": ["lastname"], "EntityKeyIndexStatus": "Pending"},
    {"KeyAttributes": ["lastname", "birthdate"], "EntityKeyIndexStatus": "Active"},
]


def test_types_labels_lengths_and_flags_are_read_from_the_metadata() -> None:
    defs = {d.name: d for d in field_defs(ATTRIBUTES, CHOICES, KEYS)}
    types = {name: (d.type, d.crm_type) for name, d in defs.items()}
    assert types == {
        "contactid": (FieldType.OTHER, "Uniqueidentifier"),
        "lastname": (FieldType.STRING, "String"),
        "fullname": (FieldType.STRING, "String"),
        "address1_composite": (FieldType.TEXT, "Memo"),
        "description": (FieldType.TEXT, "Memo"),
        "numberofchildren": (FieldType.INTEGER, "Integer"),
        "annualincome": (FieldType.NUMBER, "Money"),
        "address1_latitude": (FieldType.NUMBER, "Double"),
        "donotemail": (FieldType.BOOLEAN, "Boolean"),
        "birthdate": (FieldType.DATE, "DateTime"),
        "lastusedincampaign": (FieldType.DATETIME, "DateTime"),
        "gendercode": (FieldType.ENUMERATION, "Picklist"),
        "statuscode": (FieldType.ENUMERATION, "Status"),
        "new_days": (FieldType.MULTI_ENUMERATION, "MultiSelectPicklist"),
        "parentcustomerid": (FieldType.REFERENCE, "Customer"),
        "ownerid": (FieldType.REFERENCE, "Owner"),
        "new_externalkey": (FieldType.STRING, "String"),
        "new_mandatory": (FieldType.STRING, "String"),
    }, "mirror columns (AttributeOf) are left out"
    assert (defs["lastname"].label, defs["lastname"].max_length) == ("Lastname", 50)
    assert defs["numberofchildren"].max_length is None
    assert (defs["fullname"].createable, defs["fullname"].updateable) == (False, False)
    assert (defs["contactid"].createable, defs["contactid"].updateable) == (True, False)
    assert defs["new_externalkey"].custom and not defs["lastname"].custom


def test_only_system_required_columns_the_platform_does_not_fill_are_required() -> None:
    required = {d.name for d in field_defs(ATTRIBUTES, CHOICES, KEYS) if d.required}
    assert required == {"new_mandatory"}


def test_choice_values_are_the_integers_the_api_takes_with_their_labels() -> None:
    defs = {d.name: d for d in field_defs(ATTRIBUTES, CHOICES, KEYS)}
    assert defs["gendercode"].options == (FieldOption("1", "Male"), FieldOption("2", "Female"))
    assert defs["statuscode"].options == (FieldOption("1", "Active"),)
    assert defs["new_days"].options == (FieldOption("100000000", "Monday"),)
    assert defs["donotemail"].options == ()


def test_unique_means_the_whole_of_an_active_alternate_key() -> None:
    unique = {d.name for d in field_defs(ATTRIBUTES, CHOICES, KEYS) if d.unique}
    assert unique == {"new_externalkey"}
