"""The service's tables as SQLAlchemy Core metadata (the migrations must produce exactly this).

Hot paths use hand-written SQL (every outbox query in the ``syncsvc.outbox`` package, the others
next to the code that runs them); these definitions are the reference schema, used by Alembic
and by the schema test.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Sequence,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.types import UserDefinedType

SCHEMA = "syncsvc"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id type."""

    cache_ok = True

    def get_col_spec(self, **_: object) -> str:
        return "XID8"


ischema_names["xid8"] = Xid8  # so reflection (and the schema test) knows the type


outbox_change_seq = Sequence("outbox_change_seq", schema=SCHEMA, metadata=metadata)

config_state = Table(
    "config_state",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("generation", BigInteger, nullable=False, server_default=text("0")),
    CheckConstraint("id = 1", name="single_row"),
    schema=SCHEMA,
)

sync_event = Table(
    "sync_event",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("tx", Xid8(), nullable=False, server_default=text("pg_current_xact_id()")),
    Column("table_name", Text, nullable=False),
    Column("op", Text, nullable=False),
    Column("pk", JSONB, nullable=False),
    Column("row", JSONB, nullable=True),
    # When the capturing statement ran (``clock_timestamp()``: closer to the commit than the
    # transaction's start); persist copies it to ``outbox.changed_at``.
    Column(
        "created_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=text("clock_timestamp()"),
    ),
    Column("dispatched_at", DateTime(timezone=True), nullable=True),
    Column("targets", ARRAY(Integer), nullable=True),
    Column("attempts", SmallInteger, nullable=False, server_default=text("0")),
    # Who wrote the change: the writing transaction's ``syncsvc.origin`` (``inbound:<conn>`` when
    # the inbound path wrote it, NULL otherwise); the bridge does not send it back there.
    Column(
        "origin",
        Text,
        nullable=True,
        server_default=text("nullif(current_setting('syncsvc.origin', true), '')"),
    ),
    Column("backfill_id", BigInteger, nullable=True),
    CheckConstraint("op IN ('I', 'U', 'D')", name="op"),
    Index(
        "ix_sync_event_undispatched",
        "id",
        postgresql_where=text("dispatched_at IS NULL"),
    ),
    Index(
        "ix_sync_event_dispatched",
        "dispatched_at",
        postgresql_where=text("dispatched_at IS NOT NULL"),
    ),
    Index(
        "ix_sync_event_backfill_id",
        "backfill_id",
        postgresql_where=text("backfill_id IS NOT NULL"),
    ),
    schema=SCHEMA,
)

captured_table = Table(
    "captured_table",
    metadata,
    Column("table_name", Text, primary_key=True),
    Column("key_columns", ARRAY(Text), nullable=False),
    Column("notify", Text, nullable=False, server_default=text("'throttled'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("notify IN ('off', 'throttled', 'always')", name="notify"),
    schema=SCHEMA,
)

connection = Table(
    "connection",
    metadata,
    Column("id", Integer, Identity(always=False), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("provider", Text, nullable=False),
    Column("mode", Text, nullable=False, server_default=text("'push'")),
    Column("base_url", Text, nullable=True),
    Column("credentials_enc", LargeBinary, nullable=True),
    Column("credentials_ref", JSONB, nullable=True),
    Column("options", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("rate_limit_requests", Integer, nullable=False),
    Column("rate_limit_seconds", Integer, nullable=False),
    Column("batch_size", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False, server_default=text("10")),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("inbound", JSONB, nullable=True),
    Column("associations", JSONB, nullable=True),
    CheckConstraint("mode IN ('push', 'poll', 'both')", name="mode"),
    CheckConstraint("rate_limit_requests > 0 AND rate_limit_seconds > 0", name="rate_limit"),
    CheckConstraint("batch_size > 0", name="batch_size"),
    schema=SCHEMA,
)

sync_rule = Table(
    "sync_rule",
    metadata,
    Column("id", Integer, Identity(always=False), primary_key=True),
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("source_table", Text, nullable=False),
    Column("operations", ARRAY(Text), nullable=False),
    Column("condition", JSONB, nullable=True),
    Column("action", Text, nullable=False),
    Column("target_object", Text, nullable=False),
    Column("id_property", Text, nullable=True),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    CheckConstraint("action IN ('upsert', 'update', 'create', 'archive', 'skip')", name="action"),
    UniqueConstraint("connection_id", "name"),
    schema=SCHEMA,
)

field_mapping = Table(
    "field_mapping",
    metadata,
    Column("id", Integer, Identity(always=False), primary_key=True),
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("object", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("target", Text, nullable=False),
    Column("source", JSONB, nullable=True),
    Column("transforms", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("required", Boolean, nullable=False, server_default=text("false")),
    Column("custom", Boolean, nullable=False, server_default=text("false")),
    Column("on_null", Text, nullable=False, server_default=text("'clear'")),
    CheckConstraint("on_null IN ('clear', 'skip')", name="on_null"),
    UniqueConstraint("connection_id", "object", "target"),
    schema=SCHEMA,
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("object", Text, nullable=False),
    Column("record_key", Text, nullable=False),
    Column("source_table", Text, nullable=False),
    Column("op", Text, nullable=False),
    Column("id_property", Text, nullable=True),
    Column("id_value", Text, nullable=True),
    Column("payload", JSONB, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("delivered_version", BigInteger, nullable=True),
    Column("delivered_payload", JSONB, nullable=True),
    # When the internal change behind ``version`` was made (its event's ``created_at``):
    # ``last_write_wins`` holds the CRM's modification time against it.
    Column("changed_at", DateTime(timezone=True), nullable=True),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("lease_token", BigInteger, nullable=True),
    Column("lease_holder", Text, nullable=True),
    Column("external_id", Text, nullable=True),
    Column("change_tx", Xid8(), nullable=False, server_default=text("pg_current_xact_id()")),
    Column(
        "change_seq",
        BigInteger,
        nullable=False,
        server_default=text("nextval('syncsvc.outbox_change_seq')"),
    ),
    Column("last_error", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("poll_version", BigInteger, nullable=True),
    Column("maybe_sent", Boolean, nullable=False, server_default=text("false")),
    Column("create_sent_at", DateTime(timezone=True), nullable=True),
    Column("backfill_id", BigInteger, nullable=True),
    CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
    CheckConstraint("op IN ('upsert', 'update', 'create', 'archive')", name="op"),
    UniqueConstraint("connection_id", "object", "record_key"),
    Index(
        "ix_outbox_due",
        "connection_id",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
    ),
    Index("ix_outbox_change", "connection_id", "change_tx", "change_seq"),
    Index(
        "ix_outbox_backfill_id",
        "backfill_id",
        postgresql_where=text("backfill_id IS NOT NULL"),
    ),
    schema=SCHEMA,
)

dead_letter = Table(
    "dead_letter",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("source_table", Text, nullable=False),
    Column("record_key", Text, nullable=False),
    Column("op", Text, nullable=False),
    Column("object", Text, nullable=True),
    Column("stage", Text, nullable=False),
    Column("field", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("event", JSONB, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("replayed_at", DateTime(timezone=True), nullable=True),
    Column("backfill_id", BigInteger, nullable=True),
    CheckConstraint("stage IN ('validate', 'transform', 'persist', 'push')", name="stage"),
    Index("ix_dead_letter_connection_created", "connection_id", "created_at"),
    Index("ix_dead_letter_record", "source_table", "record_key"),
    Index(
        "ix_dead_letter_replayed_at",
        "replayed_at",
        postgresql_where=text("replayed_at IS NOT NULL"),
    ),
    Index(
        "ix_dead_letter_backfill_id",
        "backfill_id",
        postgresql_where=text("backfill_id IS NOT NULL"),
    ),
    schema=SCHEMA,
)

api_key = Table(
    "api_key",
    metadata,
    Column("id", Integer, Identity(always=False), primary_key=True),
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("scope", Text, nullable=False),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("prefix", Text, nullable=False),
    Column("rate_limit", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("scope IN ('read', 'ack', 'ingest', 'write')", name="scope"),
    Index("ix_api_key_connection_id", "connection_id"),
    schema=SCHEMA,
)

# The poll feed's acknowledged position per connection: (tx, seq) of the last change the
# poller confirmed. It only moves forward; changes at or before it are never served again.
poll_cursor = Table(
    "poll_cursor",
    metadata,
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tx", Xid8(), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("acked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema=SCHEMA,
)

# Client event ids seen by ``POST /v1/events`` (sync_event rows are deleted once persisted, so
# the ids are remembered here, per connection, for the retention period).
api_event_id = Table(
    "api_event_id",
    metadata,
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("client_event_id", Text, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_api_event_id_created_at", "created_at"),
    schema=SCHEMA,
)

crm_field = Table(
    "crm_field",
    metadata,
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("object", Text, primary_key=True),
    Column("definitions", JSONB, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
    schema=SCHEMA,
)

# One row per outcome of a delivery attempt (``syncsvc.outbox.synclog``); no foreign key: a log
# row costs no lookup when written, and a deleted connection's rows age out with retention.
sync_log = Table(
    "sync_log",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("connection_id", Integer, nullable=False),
    Column("object", Text, nullable=False),
    Column("record_key", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("op", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("external_id", Text, nullable=True),
    Column("http_status", SmallInteger, nullable=True),
    Column("error_code", Text, nullable=True),
    Column("error_message", Text, nullable=True),
    Column("duration_ms", Integer, nullable=True),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "status IN ('delivered', 'retry', 'wait', 'dead', 'pause', 'conflict')", name="status"
    ),
    Index("ix_sync_log_record", "connection_id", "record_key", "id"),
    Index("ix_sync_log_at", "at", postgresql_using="brin"),
    schema=SCHEMA,
)

# A connection whose CRM refused its credentials (issue 11): no row means active. Its outbox
# rows wait until ``config apply`` or ``connection resume`` deletes the row (syncsvc.pause).
connection_pause = Table(
    "connection_pause",
    metadata,
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("reason", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("paused_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("reason IN ('credentials')", name="reason"),
    schema=SCHEMA,
)

# Inbound (issue 14, syncsvc.inbound): the CRM's change poll position per connection and object.
inbound_cursor = Table(
    "inbound_cursor",
    metadata,
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("object", Text, primary_key=True),
    Column("high_water", DateTime(timezone=True), nullable=True),
    Column("token", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema=SCHEMA,
)

# Every change a CRM reported, once per event key; applied in the transaction that writes the
# internal table (exactly once, whatever Redis or a restart loses).
inbound_event = Table(
    "inbound_event",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("object", Text, nullable=False),
    Column("crm_id", Text, nullable=False),
    Column("event_key", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("modified_at", DateTime(timezone=True), nullable=True),
    Column("status", Text, nullable=False, server_default=text("'received'")),
    Column("detail", Text, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("applied_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("kind IN ('change', 'delete')", name="kind"),
    CheckConstraint("source IN ('webhook', 'poll')", name="source"),
    CheckConstraint("status IN ('received', 'applied', 'ignored', 'failed')", name="status"),
    UniqueConstraint("connection_id", "event_key"),
    Index(
        "ix_inbound_event_received",
        "connection_id",
        "id",
        postgresql_where=text("status = 'received'"),
    ),
    # What retention deletes, oldest first (syncsvc.retention).
    Index(
        "ix_inbound_event_settled",
        "applied_at",
        postgresql_where=text("status IN ('applied', 'ignored')"),
    ),
    schema=SCHEMA,
)

# A record created in the CRM and the internal record it became.
inbound_link = Table(
    "inbound_link",
    metadata,
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("object", Text, primary_key=True),
    Column("crm_id", Text, primary_key=True),
    Column("record_key", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema=SCHEMA,
)

# Associations (issue 14 part 5, syncsvc.links): the parent one child record is to be linked to
# at the CRM, and whether it is.
record_link = Table(
    "record_link",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("association", Text, nullable=False),
    Column("child_object", Text, nullable=False),
    Column("child_key", Text, nullable=False),
    Column("parent_object", Text, nullable=False),
    Column("parent_key", Text, nullable=True),
    Column("version", BigInteger, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("linked_parent_key", Text, nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("lease_token", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("linked_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "status IN ('pending', 'linked', 'unlinking', 'failed', 'none')", name="status"
    ),
    UniqueConstraint("connection_id", "association", "child_key"),
    Index(
        "ix_record_link_pending",
        "connection_id",
        "next_attempt_at",
        postgresql_where=text("status IN ('pending', 'unlinking')"),
    ),
    Index(
        "ix_record_link_connection_id_parent_object_parent_key",
        "connection_id",
        "parent_object",
        "parent_key",
    ),
    schema=SCHEMA,
)

# One backfill (``manage.py backfill``, ``syncsvc.backfill``): which rows it reads, how far it
# got (``last_key``, advanced in the transaction that writes each page's events) and what became
# of them. Events, outbox rows and dead letters carry its id in ``backfill_id``.
backfill = Table(
    "backfill",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column(
        "connection_id",
        Integer,
        ForeignKey(f"{SCHEMA}.connection.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("source_table", Text, nullable=False),
    Column("rule_name", Text, nullable=True),
    Column("op", Text, nullable=False),
    Column("key_columns", ARRAY(Text), nullable=False),
    Column("where_sql", Text, nullable=True),
    Column("since", DateTime(timezone=True), nullable=True),
    Column("since_column", Text, nullable=True),
    Column("page_size", Integer, nullable=False),
    Column("last_key", JSONB, nullable=True),
    Column("pages", BigInteger, nullable=False, server_default=text("0")),
    Column("rows_read", BigInteger, nullable=False, server_default=text("0")),
    Column("queued", BigInteger, nullable=False, server_default=text("0")),
    Column("pushed", BigInteger, nullable=False, server_default=text("0")),
    Column("failed", BigInteger, nullable=False, server_default=text("0")),
    Column("state", Text, nullable=False, server_default=text("'running'")),
    Column("error", Text, nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("read_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("host", Text, nullable=True),
    CheckConstraint("op IN ('I', 'U')", name="op"),
    CheckConstraint("state IN ('running', 'done', 'cancelled', 'failed')", name="state"),
    CheckConstraint("page_size > 0", name="page_size"),
    Index("ix_backfill_connection_id", "connection_id"),
    schema=SCHEMA,
)
