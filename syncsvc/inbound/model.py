"""The ``inbound:`` section of a connection, as typed values.

```yaml
inbound:
  webhooks: true            # the CRM calls POST /v1/inbound/<connection>
  poll_seconds: 30          # and/or we ask it for records modified since the high-water mark
  deletes_poll_seconds: 300 # HubSpot, Pipedrive: how often their deletions are polled (their
                            # change lists leave deleted records out); default poll_seconds,
                            # 0: never (syncsvc.inbound.deletes)
  conflict: internal_wins   # internal_wins | crm_wins | last_write_wins (the default per object)
  objects:
    contacts:
      table: demo.contacts                    # the internal table written
      key: {column: id, field: syncsvc_id}    # its key column, and the CRM field holding it
      mappings:                               # CRM field → column
        - {source: email, target: email, transforms: [strip, lower]}
      writable: [email]                       # columns the CRM may write (default: all mapped)
      on_delete: delete                       # delete | ignore | {soft_delete: COLUMN}
      inbox: null                             # SCHEMA.TABLE: changes go there instead
                                              # (syncsvc.inbound.inbox: its columns)
      conflict: crm_wins                      # this object's policy
      fields: {email: internal_wins}          # per column
      ownership: {crm: [first_name], internal: [email]}
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

Policy = Literal["internal_wins", "crm_wins", "last_write_wins", "internal_owns"]
POLICIES: tuple[Policy, ...] = ("internal_wins", "crm_wins", "last_write_wins")
"""What a config may name as a connection's, object's or column's conflict policy.

``internal_owns`` comes from ``ownership.internal`` only: the CRM never writes that column."""
DeleteMode = Literal["delete", "soft_delete", "ignore"]


@dataclass(frozen=True)
class InboundObject:
    object: str
    table: str
    key_column: str
    key_field: str
    mappings: tuple[Mapping[str, Any], ...]
    """``{source: CRM field, target: column, transforms}``: the mapper's own spec shape."""
    writable: tuple[str, ...]
    on_delete: DeleteMode = "delete"
    soft_delete_column: str | None = None
    inbox: str | None = None
    conflict: Policy = "internal_wins"
    field_policies: Mapping[str, Policy] = field(default_factory=dict)

    def policy_for(self, column: str) -> Policy:
        return self.field_policies.get(column, self.conflict)

    @property
    def crm_fields(self) -> list[str]:
        """Every CRM field a change is read with (mapped ones and the key field)."""
        out = [str(m["source"]) for m in self.mappings]
        return list(dict.fromkeys([*out, self.key_field]))

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "key": {"column": self.key_column, "field": self.key_field},
            "mappings": [dict(m) for m in self.mappings],
            "writable": list(self.writable),
            "on_delete": (
                {"soft_delete": self.soft_delete_column}
                if self.on_delete == "soft_delete"
                else self.on_delete
            ),
            "inbox": self.inbox,
            "conflict": self.conflict,
            "fields": dict(self.field_policies),
        }

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> InboundObject:
        on_delete = data.get("on_delete", "delete")
        soft = on_delete.get("soft_delete") if isinstance(on_delete, Mapping) else None
        return cls(
            object=name,
            table=str(data["table"]),
            key_column=str(data["key"]["column"]),
            key_field=str(data["key"]["field"]),
            mappings=tuple(dict(m) for m in data["mappings"]),
            writable=tuple(data["writable"]),
            on_delete="soft_delete" if soft else cast(DeleteMode, on_delete),
            soft_delete_column=soft,
            inbox=data.get("inbox"),
            conflict=cast(Policy, data.get("conflict", "internal_wins")),
            field_policies={k: cast(Policy, v) for k, v in (data.get("fields") or {}).items()},
        )


@dataclass(frozen=True)
class InboundSpec:
    webhooks: bool
    poll_seconds: int
    """0: no polling."""
    objects: Mapping[str, InboundObject]
    deletes_poll_seconds: int | None = None
    """How often a CRM whose change list leaves deletions out has them polled; None: as
    often as its changes (``deletes_every``)."""

    @property
    def deletes_every(self) -> int:
        """Seconds between two polls of the deletions (0: never)."""
        if self.deletes_poll_seconds is None:
            return self.poll_seconds
        return self.deletes_poll_seconds

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"webhooks": self.webhooks, "poll_seconds": self.poll_seconds}
        if self.deletes_poll_seconds is not None:
            out["deletes_poll_seconds"] = self.deletes_poll_seconds
        out["objects"] = {name: o.to_json() for name, o in self.objects.items()}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InboundSpec:
        deletes = data.get("deletes_poll_seconds")
        return cls(
            webhooks=bool(data.get("webhooks", True)),
            poll_seconds=int(data.get("poll_seconds", 0)),
            objects={name: InboundObject.from_json(name, o) for name, o in data["objects"].items()},
            deletes_poll_seconds=None if deletes is None else int(deletes),
        )
