"""Field definitions of the simulated org and the checks on written values.

The standard fields of each sObject are data: ``fields/<SObject>.json`` (plus ``common.json``,
the system fields every object has), in the keys of the REST describe result's ``Field``. Custom
fields come from the ``custom_fields`` option (the same keys) or the Tooling API
(``sim/tooling.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

FIELDS_DIR = Path(__file__).resolve().parent / "fields"
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
TEXT = {"string", "email", "phone", "url", "picklist", "multipicklist", "textarea", "combobox"}
TEXT |= {"id", "reference", "encryptedstring"}
NUMBER = {"currency", "double", "percent", "int", "long"}
SOAP = {"currency": "xsd:double", "double": "xsd:double", "percent": "xsd:double", "int": "xsd:int"}
SOAP |= {"date": "xsd:date", "datetime": "xsd:dateTime", "boolean": "xsd:boolean", "id": "tns:ID"}
SOAP |= {"reference": "tns:ID", "long": "xsd:long", "address": "urn:address"}
KEYS = {"name", "label", "type", "length", "precision", "scale", "digits", "nillable"}
KEYS |= {"createable", "updateable", "defaultedOnCreate", "calculated", "externalId", "unique"}
KEYS |= {"idLookup", "picklistValues", "restrictedPicklist", "referenceTo", "caseSensitive"}
"""The keys a field entry (data file, ``custom_fields`` option) may have."""
TYPES = TEXT | NUMBER | {"boolean", "date", "datetime", "time", "address", "location", "base64"}


@dataclass(frozen=True)
class FieldDef:
    name: str
    label: str
    type: str = "string"
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    calculated: bool = False
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    picklist: tuple[tuple[str, str], ...] = ()
    """``(value, label)`` pairs."""
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    custom: bool = False

    @property
    def writable(self) -> bool:
        return self.createable or self.updateable

    @property
    def required(self) -> bool:
        """A create without it fails ``REQUIRED_FIELD_MISSING``."""
        return self.createable and not self.nillable and not self.defaulted_on_create

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.picklist)

    def describe(self) -> dict[str, Any]:
        """The field as ``GET /sobjects/{SObject}/describe`` lists it (the commonly read keys)."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "soapType": SOAP.get(self.type, "xsd:string"),
            "length": self.length,
            "byteLength": self.length * 3,
            "digits": self.digits,
            "precision": self.precision,
            "scale": self.scale,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted_on_create,
            "calculated": self.calculated,
            "custom": self.custom,
            "externalId": self.external_id,
            "unique": self.unique,
            "caseSensitive": False,
            "idLookup": self.id_lookup or self.external_id,
            "filterable": self.type not in ("textarea", "address") or self.length <= 255,
            "referenceTo": list(self.reference_to),
            "relationshipName": _relationship(self),
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": False,
                    "label": label,
                    "validFor": None,
                    "value": v,
                }
                for v, label in self.picklist
            ],
        }


def _relationship(definition: FieldDef) -> str | None:
    if definition.type != "reference":
        return None
    name = definition.name
    if name.endswith("__c"):
        return name[:-1] + "r"
    return name[:-2] if name.endswith("Id") else name


def _picklist(raw: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for entry in raw or ():
        if isinstance(entry, str):
            out.append((entry, entry))
        elif isinstance(entry, Mapping):
            value = str(entry["value"])
            out.append((value, str(entry.get("label", value))))
        else:
            value, label = entry
            out.append((str(value), str(label)))
    return tuple(out)


def field_from(entry: Mapping[str, Any], custom: bool = False) -> FieldDef:
    """A field from its describe-shaped entry; unknown keys or types raise ``ValueError``."""
    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise ValueError(f"field {entry.get('name')!r}: unknown key(s) {unknown}")
    name = str(entry["name"])
    kind = str(entry.get("type", "string"))
    if kind not in TYPES:
        raise ValueError(f"field {name!r}: unknown type {kind!r}")
    if custom and not name.endswith("__c"):
        raise ValueError(f"custom field {name!r} must end in __c")
    boolean = kind == "boolean"
    default_length = 255 if kind in TEXT - {"id", "reference"} else 18 if kind == "reference" else 0
    external = bool(entry.get("externalId", False))
    return FieldDef(
        name=name,
        label=str(entry.get("label") or name.removesuffix("__c").replace("_", " ")),
        type=kind,
        length=int(entry.get("length", default_length)),
        precision=int(entry.get("precision", 18 if kind in ("currency", "double") else 0)),
        scale=int(entry.get("scale", 0)),
        digits=int(entry.get("digits", 9 if kind == "int" else 0)),
        nillable=bool(entry.get("nillable", not boolean)),
        createable=bool(entry.get("createable", True)),
        updateable=bool(entry.get("updateable", True)),
        defaulted_on_create=bool(entry.get("defaultedOnCreate", boolean)),
        calculated=bool(entry.get("calculated", False)),
        external_id=external,
        unique=bool(entry.get("unique", False)),
        id_lookup=bool(entry.get("idLookup", external)),
        picklist=_picklist(entry.get("picklistValues")),
        restricted=bool(entry.get("restrictedPicklist", False)),
        reference_to=tuple(str(r) for r in entry.get("referenceTo", ())),
        custom=custom,
    )


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    label: str
    plural: str
    prefix: str
    fields: tuple[FieldDef, ...]


@cache
def standard_objects() -> dict[str, ObjectSpec]:
    """Every sObject the org has, with its standard fields, read from ``fields/*.json``."""
    common = json.loads((FIELDS_DIR / "common.json").read_text())["fields"]
    out = {}
    for path in sorted(FIELDS_DIR.glob("*.json")):
        if path.name == "common.json":
            continue
        data = json.loads(path.read_text())
        fields = [field_from(f) for f in [*common, *data["fields"]]]
        out[data["name"]] = ObjectSpec(
            data["name"], data["label"], data["labelPlural"], data["keyPrefix"], tuple(fields)
        )
    return out


def custom_field(spec: str | Mapping[str, Any]) -> FieldDef:
    """A custom field from a bare API name (text, 255) or a describe-shaped entry."""
    return field_from({"name": spec} if isinstance(spec, str) else spec, custom=True)


def object_fields(name: str, custom: Iterable[str | Mapping[str, Any]]) -> dict[str, FieldDef]:
    fields = [*standard_objects()[name].fields, *map(custom_field, custom)]
    return {d.name: d for d in fields}


def _token(value: Any) -> str:
    """The JSON token a streaming (Jackson) parser names for ``value``."""
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "START_ARRAY" if isinstance(value, list) else "VALUE_STRING"


class BadValue(Exception):
    """A value the JSON deserializer cannot put into the field: the whole request fails."""

    def __init__(self, definition: FieldDef, value: Any) -> None:
        kind = {"int": "int", "boolean": "boolean", "date": "Date", "datetime": "DateTime"}.get(
            definition.type, "double" if definition.type in NUMBER else definition.type
        )
        super().__init__(
            f"Cannot deserialize instance of {kind} from {_token(value)} value "
            f"{value} or request may be missing a required field"
        )
        self.field = definition.name
        self.value = value


def _number(definition: FieldDef, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadValue(definition, value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadValue(definition, value) from None
    if not number.is_finite():
        raise BadValue(definition, value)
    if definition.type in ("int", "long"):
        if number != number.to_integral_value():
            raise BadValue(definition, value)
        return int(number)
    as_float = float(number)
    if not math.isfinite(as_float):
        raise BadValue(definition, value)
    return int(number) if number == number.to_integral_value() else as_float


def convert(definition: FieldDef, value: Any) -> Any:
    """The stored form of a JSON value, or ``BadValue`` (``None`` and ``""`` clear the field)."""
    if value is None or value == "":
        return None
    kind = definition.type
    if kind in TEXT:
        if isinstance(value, dict | list):
            raise BadValue(definition, value)
        return value if isinstance(value, str) else json.dumps(value)
    if kind in NUMBER:
        return _number(definition, value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise BadValue(definition, value)
    if kind in ("date", "datetime") and isinstance(value, str):
        try:
            if kind == "date":
                return dt.date.fromisoformat(value).isoformat()
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadValue(definition, value) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        utc = moment.astimezone(dt.UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"
    raise BadValue(definition, value)


@dataclass
class Problems:
    """Per-record errors, in Salesforce's ``{"statusCode", "message", "fields"}`` shape."""

    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, code: str, message: str, fields: Iterable[str] = ()) -> None:
        self.errors.append({"statusCode": code, "message": message, "fields": list(fields)})


def _too_large(definition: FieldDef, value: Any) -> bool:
    """More integer digits than the field holds (``precision - scale``, or ``digits``)."""
    if definition.type in ("int", "long"):
        limit = definition.digits
    else:
        limit = definition.precision - definition.scale
    if limit <= 0:
        return False
    whole = abs(Decimal(str(value))).to_integral_value(rounding="ROUND_DOWN")
    return len(str(whole)) > limit if whole else False


def check_values(
    definitions: Mapping[str, FieldDef], values: Mapping[str, Any], problems: Problems
) -> None:
    """Length, number range, email and restricted-picklist checks of converted values."""
    for name, value in values.items():
        definition = definitions[name]
        if value is None:
            continue
        label = definition.label
        if definition.type in TEXT and definition.length and len(str(value)) > definition.length:
            message = f"{label}: data value too large: {value} (max length={definition.length})"
            problems.add("STRING_TOO_LONG", message, [name])
        elif definition.type in NUMBER and _too_large(definition, value):
            message = f"{label}: value outside of valid range on numeric field: {value}"
            problems.add("NUMBER_OUTSIDE_VALID_RANGE", message, [name])
        elif definition.type == "email" and not EMAIL_RE.match(str(value)):
            problems.add(
                "INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}", [name]
            )
        elif definition.restricted and definition.type in ("picklist", "multipicklist"):
            chosen = str(value).split(";") if definition.type == "multipicklist" else [str(value)]
            bad = [v for v in chosen if v not in definition.values]
            if bad:
                message = f"{label}: bad value for restricted picklist field: {';'.join(bad)}"
                problems.add("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", message, [name])
