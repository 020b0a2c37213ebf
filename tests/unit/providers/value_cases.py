"""Values every CRM that takes JSON types (Salesforce, Zoho, Dataverse) sends the same way."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

JSON_VALUES: list[tuple[object, object]] = [
    (None, None),
    ("as is", "as is"),
    (True, True),
    (42, 42),
    (2.5, 2.5),
    (Decimal("1500.50"), 1500.5),
    (Decimal("1E+3"), 1000),
    (dt.date(2024, 5, 1), "2024-05-01"),
    (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
]
"""``(value, what the CRM gets)``: scalars keep their JSON type, whole Decimals become ints."""
