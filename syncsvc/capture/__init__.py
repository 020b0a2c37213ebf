"""Change capture: versioned statement-level triggers that write keys into ``sync_event``."""

from syncsvc.capture.install import (
    NOTIFY_MODES,
    CapturedTable,
    add_capture,
    key_columns_by_table,
    list_captures,
    remove_capture,
)
from syncsvc.capture.tables import primary_key_columns, split_table_name

__all__ = [
    "NOTIFY_MODES",
    "CapturedTable",
    "add_capture",
    "key_columns_by_table",
    "list_captures",
    "primary_key_columns",
    "remove_capture",
    "split_table_name",
]
