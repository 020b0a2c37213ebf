"""The ``associations:`` section of a connection, as typed values.

```yaml
associations:
  - name: contact-company     # unique per connection
    from: contacts            # the child's CRM object
    to: companies             # the parent's CRM object
    via: company_id           # the child's column holding the parent's source key
    parent_rule: companies    # the rule that writes the parents (its object is ``to``)
    type: "279"               # the CRM's link type (optional: each CRM has a default per pair)
```

``type`` is what the CRM links by: a HubSpot ``associationTypeId``, the child's lookup field at
Salesforce (``AccountId``), Pipedrive (``org_id``, ``person_id``) and Zoho (``Account_Name``),
the child's single-valued navigation property at Dataverse (``parentcustomerid_account``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Association:
    name: str
    child_object: str
    parent_object: str
    via: str
    parent_rule: str
    link_type: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "from": self.child_object,
            "to": self.parent_object,
            "via": self.via,
            "parent_rule": self.parent_rule,
            "type": self.link_type,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Association:
        return Association(
            name=str(data["name"]),
            child_object=str(data["from"]),
            parent_object=str(data["to"]),
            via=str(data["via"]),
            parent_rule=str(data["parent_rule"]),
            link_type=str(data["type"]),
        )
