"""Table definitions as the Web API shows them, and custom columns and keys created through it.

``GET EntityDefinitions(LogicalName='contact')/Attributes`` lists every column with the
properties of its metadata type (``#Microsoft.Dynamics.CRM.StringAttributeMetadata`` has
``MaxLength`` and ``FormatName``, ``…DateTimeAttributeMetadata`` ``Format`` and
``DateTimeBehavior``, …). Choice values are not in that list: they are read by casting to the
choice type and expanding the option set, ``…/Attributes/Microsoft.Dynamics.CRM.
PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)``. Alternate
keys: ``…/Keys``. Creating a column: ``POST …/Attributes`` with an ``AttributeMetadata`` body;
a key: ``POST …/Keys`` with ``SchemaName`` and ``KeyAttributes``. See
https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api and
https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-entity-definitions-using-web-api
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from providers.dynamics.sim.schema import Attribute, KeyDef, TableDef

META = "Microsoft.Dynamics.CRM."
TYPE_OF_KIND = {
    **{k: k for k in ("String", "Memo", "Integer", "BigInt", "Decimal", "Double", "Money")},
    **{k: k for k in ("Boolean", "DateTime", "Picklist", "State", "Status", "Lookup")},
    "MultiSelectPicklist": "MultiSelectPicklist",
    "Customer": "Lookup",
    "Owner": "Lookup",
    "Uniqueidentifier": "UniqueIdentifier",
}
"""AttributeType → the metadata type that describes it (``…AttributeMetadata``)."""
CREATABLE = {"String", "Memo", "Integer", "BigInt", "Decimal", "Double", "Money", "Boolean",
             "DateTime", "Picklist", "MultiSelectPicklist"}  # fmt: skip
"""Metadata types ``POST …/Attributes`` can create."""
KEY_TYPES = {"String", "Integer", "BigInt", "Decimal", "DateTime", "Picklist", "Lookup"}
"""Column types an alternate key may use."""


class MetadataError(ValueError):
    """A metadata request the environment refuses (HTTP 400, code, message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def metadata_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, ".".join(parts)))


def label(text: str, *owner: str) -> dict[str, Any]:
    localized = {"Label": text, "LanguageCode": 1033, "IsManaged": not owner or owner[-1] != "c",
                 "MetadataId": metadata_id("label", *owner, text), "HasChanged": None}  # fmt: skip
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def metadata_type(attribute: Attribute) -> str:
    return f"{META}{TYPE_OF_KIND.get(attribute.kind, 'String')}AttributeMetadata"


def attribute_metadata(table: TableDef, attribute: Attribute) -> dict[str, Any]:
    """One column as ``EntityDefinitions(…)/Attributes`` lists it."""
    kind, name = attribute.kind, attribute.name
    virtual = kind == "MultiSelectPicklist"
    body: dict[str, Any] = {
        "@odata.type": "#" + metadata_type(attribute),
        "MetadataId": metadata_id(table.logical_name, name),
        "LogicalName": name,
        "SchemaName": name,
        "EntityLogicalName": table.logical_name,
        "AttributeType": "Virtual" if virtual else kind,
        "AttributeTypeName": {"Value": f"{kind}Type"},
        "AttributeOf": None,
        "DisplayName": label(attribute.label, table.logical_name, name),
        "RequiredLevel": {
            "Value": attribute.required,
            "CanBeChanged": attribute.required != "SystemRequired",
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
        "IsCustomAttribute": attribute.custom,
        "IsPrimaryId": name == table.primary_key,
        "IsPrimaryName": name == table.primary_name,
        "IsValidForCreate": attribute.create,
        "IsValidForUpdate": attribute.update,
        "IsValidForRead": True,
        "IsLogical": False,
    }
    if kind in ("String", "Memo"):
        fmt = attribute.format or ("TextArea" if kind == "Memo" else "Text")
        body.update(MaxLength=attribute.max_length, DatabaseLength=2 * (attribute.max_length or 0))
        body.update(Format=fmt, FormatName={"Value": fmt})
    elif kind in ("Integer", "BigInt", "Decimal", "Double", "Money"):
        body.update(MinValue=attribute.minimum, MaxValue=attribute.maximum)
        if kind == "Integer":
            body["Format"] = "None"
        if attribute.precision is not None:
            body["Precision"] = attribute.precision
    elif kind == "DateTime":
        body["Format"] = attribute.format or "DateAndTime"
        body["DateTimeBehavior"] = {"Value": attribute.behavior or "UserLocal"}
    elif kind in ("Lookup", "Customer", "Owner"):
        body["Targets"] = list(attribute.targets)
    elif kind in ("Picklist", "State", "Status", "MultiSelectPicklist"):
        body["DefaultFormValue"] = -1 if kind in ("Picklist", "MultiSelectPicklist") else None
    elif kind == "Boolean":
        body["DefaultValue"] = False
    return body


def option_set(table: TableDef, attribute: Attribute) -> dict[str, Any]:
    """The ``OptionSet`` navigation property, as ``$expand=OptionSet`` returns it."""
    owner = (table.logical_name, attribute.name)
    if attribute.kind == "Boolean":
        labels = dict(attribute.options) or {1: "Yes", 0: "No"}
        return {
            "MetadataId": metadata_id("optionset", *owner),
            "TrueOption": {"Value": 1, "Label": label(labels.get(1, "Yes"), *owner, "1")},
            "FalseOption": {"Value": 0, "Label": label(labels.get(0, "No"), *owner, "0")},
        }
    options = [
        {"Value": value, "Label": label(text, *owner, str(value))}
        for value, text in attribute.options
    ]
    return {
        "MetadataId": metadata_id("optionset", *owner),
        "Name": f"{table.logical_name}_{attribute.name}",
        "IsGlobal": False,
        "OptionSetType": "Picklist",
        "Options": options,
    }


def key_metadata(table: TableDef, key: KeyDef) -> dict[str, Any]:
    return {
        "MetadataId": metadata_id(table.logical_name, "key", key.name),
        "LogicalName": key.name.lower(),
        "SchemaName": key.name,
        "EntityLogicalName": table.logical_name,
        "DisplayName": label(key.name, table.logical_name, key.name),
        "KeyAttributes": list(key.columns),
        "EntityKeyIndexStatus": key.status,
    }


def _text(value: Any) -> str:
    """The first label of a ``Label`` body, or the text itself."""
    if isinstance(value, Mapping):
        labels = value.get("LocalizedLabels") or []
        first = labels[0] if labels and isinstance(labels[0], Mapping) else {}
        return str(first.get("Label", ""))
    return "" if value is None else str(value)


def _options(body: Mapping[str, Any]) -> list[list[Any]]:
    options = (body.get("OptionSet") or {}).get("Options") or []
    return [[int(o["Value"]), _text(o.get("Label"))] for o in options if "Value" in o]


def attribute_from_body(table: TableDef, body: Mapping[str, Any]) -> Attribute:
    """The column a ``POST …/Attributes`` body defines; ``MetadataError`` when it cannot."""
    kind = str(body.get("@odata.type", "")).lstrip("#").removeprefix(META)
    kind = kind.removesuffix("AttributeMetadata")
    if kind not in CREATABLE:
        raise MetadataError("0x80048d19", f"Cannot create an attribute of type '{kind}'.")
    schema = str(body.get("SchemaName") or "")
    prefix, _, rest = schema.partition("_")
    if not prefix or not rest or not schema.replace("_", "").isalnum():
        raise MetadataError(
            "0x80044355",
            f"The SchemaName '{schema}' must start with a customization prefix and an underscore "
            "(for example new_).",
        )
    if table.attribute(schema.lower()) is not None:
        raise MetadataError(
            "0x80047013",
            f"An attribute with the name {schema} already exists on {table.logical_name}.",
        )
    data: dict[str, Any] = {
        "name": schema.lower(),
        "type": kind,
        "label": _text(body.get("DisplayName")) or schema,
        "required": str((body.get("RequiredLevel") or {}).get("Value", "None")),
    }
    for source, target in (("MaxLength", "max_length"), ("MinValue", "min"),
                           ("MaxValue", "max"), ("Precision", "precision")):  # fmt: skip
        if body.get(source) is not None:
            data[target] = body[source]
    fmt = (body.get("FormatName") or {}).get("Value") or body.get("Format")
    if fmt:
        data["format"] = str(fmt)
    if kind == "DateTime":
        data["behavior"] = (body.get("DateTimeBehavior") or {}).get("Value", "UserLocal")
    if kind in ("Picklist", "MultiSelectPicklist"):
        data["options"] = _options(body)
    if kind == "Boolean":
        option_set_body = body.get("OptionSet") or {}
        data["options"] = [
            [1, _text((option_set_body.get("TrueOption") or {}).get("Label")) or "Yes"],
            [0, _text((option_set_body.get("FalseOption") or {}).get("Label")) or "No"],
        ]
    return Attribute.from_data(data, custom=True)


def key_from_body(table: TableDef, body: Mapping[str, Any]) -> KeyDef:
    """The alternate key a ``POST …/Keys`` body defines; ``MetadataError`` when it cannot."""
    schema = str(body.get("SchemaName") or "")
    columns = tuple(str(c).lower() for c in body.get("KeyAttributes") or ())
    if not schema or not columns:
        raise MetadataError("0x80048d19", "An entity key needs a SchemaName and KeyAttributes.")
    if any(k.name.lower() == schema.lower() for k in table.keys):
        raise MetadataError("0x80047013", f"An entity key with the name {schema} already exists.")
    for column in columns:
        attribute = table.attribute(column)
        if attribute is None:
            raise MetadataError(
                "0x80048d19", f"The attribute {column} does not exist on {table.logical_name}."
            )
        if TYPE_OF_KIND.get(attribute.kind) not in KEY_TYPES:
            raise MetadataError(
                "0x80048d19",
                f"The attribute {column} of type {attribute.kind} cannot be part of an entity key.",
            )
    return KeyDef(schema, columns)
