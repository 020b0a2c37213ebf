"""CRM field definitions: read from each CRM, cached per connection, checked and converted by."""

from syncsvc.fields.convert import FieldValueError, convert
from syncsvc.fields.model import FieldDef, FieldOption, FieldType, ObjectFields

__all__ = ["FieldDef", "FieldOption", "FieldType", "FieldValueError", "ObjectFields", "convert"]
