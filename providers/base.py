"""The one interface every CRM provider package implements.

A provider package ``providers/<name>/`` exports ``PROVIDER: Provider`` from its ``__init__``.
Adding a CRM means adding one such package; ``providers.registry`` finds it by name. Its
simulator lives apart in ``providers/<name>/sim/`` (tooling: the product never imports it).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import requests

from syncsvc.errors import ConfigError, PermanentError, RetryableError, SyncError
from syncsvc.fields.encode import encode_json
from syncsvc.fields.model import FieldDef, ObjectFields
from syncsvc.kinds import PUSH_OPS, PushOp

if TYPE_CHECKING:
    from providers.webhooks import WebhookReceiver

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"

OPS = PUSH_OPS


class ReadUnsupported(SyncError):
    """This CRM (or this object) offers no way to read records back by our key."""


@dataclass(frozen=True)
class ProviderDefaults:
    """What a connection gets when its config does not say otherwise."""

    base_url: str
    batch_size: int
    rate_limit_requests: int
    rate_limit_seconds: int
    objects: tuple[str, ...]
    id_property: Mapping[str, str]
    """Default unique property (upsert key) per object."""
    records_per_call: int | None = None
    """Records one write call carries at most when the CRM has no batch writes (Pipedrive: 1);
    ``None``: the connection's ``batch_size``."""
    link_types: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """The CRM's default link type per (child object, parent object) (``syncsvc.links``)."""


@dataclass(frozen=True)
class ConnectionInfo:
    """A connection as the push side sees it (credentials already decrypted)."""

    id: int
    name: str
    provider: str
    base_url: str
    credentials: Mapping[str, Any]
    options: Mapping[str, Any]
    batch_size: int
    rate_limit_requests: int
    rate_limit_seconds: int
    max_attempts: int = 10


class WriteJournal(Protocol):
    """Where a client notes, while it pushes, what a later push of the row must know even if
    this one dies before its results are recorded (``syncsvc.outbox.journal``)."""

    def creating(self, outbox_id: int) -> None:
        """A create of the row is about to be sent (or its answer was just lost)."""

    def created(self, outbox_id: int, external_id: str) -> None:
        """The CRM answered a create with the record's id."""

    def not_created(self, outbox_id: int) -> None:
        """The CRM answered the create without creating anything (a 429, a refusal)."""


class NoJournal:
    """Notes nothing (a push outside the outbox, a test)."""

    def creating(self, outbox_id: int) -> None:
        return None

    def created(self, outbox_id: int, external_id: str) -> None:
        return None

    def not_created(self, outbox_id: int) -> None:
        return None


@dataclass
class PushItem:
    """One outbox row being sent."""

    outbox_id: int
    object: str
    op: PushOp
    record_key: str
    id_property: str | None
    id_value: str | None
    payload: dict[str, Any]
    external_id: str | None
    version: int
    maybe_sent: bool = True
    """False when no earlier push of this row can have reached the CRM: a CRM without upsert
    may then create without looking the record up first."""
    since_create: float | None = None
    """Seconds since a create of this row was last sent (None: never): a CRM whose search lags
    may not find that record yet."""
    journal: WriteJournal = field(default_factory=NoJournal, repr=False, compare=False)
    """Where the client notes a create it sends and the id it gets, as it goes."""


@dataclass
class PushResult:
    """What the CRM said about one ``PushItem``.

    ``error`` is None on success; a ``PermanentError`` sends the row to dead letters, any other
    ``SyncError`` schedules a retry of that row alone.
    """

    outbox_id: int
    external_id: str | None = None
    error: SyncError | None = None
    created: bool | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class LinkItem:
    """One child record to link to its parent, both by their CRM ids (``syncsvc.links``)."""

    link_id: int
    child_id: str
    parent_id: str
    previous_parent_id: str | None = None
    """The parent we had linked the child to before (its CRM id), when it is another one: a
    CRM that keeps links side by side (HubSpot's associations) removes that link once the new
    one is made; a lookup field is simply overwritten."""


@dataclass(frozen=True)
class UnlinkItem:
    """One child record whose link to its parent is to go (``syncsvc.links``): the child's CRM
    id and the parent's (None when no CRM id of it is known: a lookup is cleared regardless)."""

    link_id: int
    child_id: str
    parent_id: str | None


@dataclass
class LinkResult:
    """What the CRM said about one ``LinkItem``: ``error`` None when the link exists now."""

    link_id: int
    error: SyncError | None = None


@dataclass(frozen=True)
class CrmRecord:
    """A record as the CRM holds it now (inbound): its id, fields and modification time."""

    id: str
    fields: Mapping[str, Any]
    modified_at: datetime | None


@dataclass(frozen=True)
class ChangedPage:
    records: list[CrmRecord]
    after: str | None
    """Where the next page starts; None: this was the last."""
    deleted: list[str] = field(default_factory=list)
    """CRM ids of records the CRM reports deleted (change tracking, a recycle bin)."""
    resume: str | None = None
    """Where the next poll starts if this one ends after this page (a delta link, the next
    page's link): stored with the object's cursor and handed back as the first page's
    ``after``. None: the next poll starts from the high-water mark alone."""


@dataclass(frozen=True)
class DeletedRecord:
    """A record the CRM lists as deleted, and when it was deleted (None: the CRM does not say)."""

    id: str
    deleted_at: datetime | None


@dataclass(frozen=True)
class DeletedPage:
    """One page of a CRM's list of deleted records (``ProviderClient.deleted_since``)."""

    records: list[DeletedRecord]
    after: str | None
    """Where the next page starts; None: this was the last."""
    reached: datetime | None = None
    """For a list ordered by time: every change up to this time has been listed (the page's
    last stamp). None: the list is in no time order (HubSpot's, by id)."""


@dataclass(frozen=True)
class HttpTimeouts:
    connect: float = 5.0
    read: float = 30.0

    def as_tuple(self) -> tuple[float, float]:
        return (self.connect, self.read)


class ProviderClient(abc.ABC):
    """A thin client for one CRM account.

    ``push`` gets items of one object and one op, at most ``defaults.batch_size`` of them, and
    returns one result per item (any order). Whole-call failures are raised: ``RateLimited``
    (wait, not an attempt), ``AuthExpired`` (refresh and retry once), ``RetryableError``
    (timeouts, 5xx), ``PermanentError`` (4xx for the whole call).
    """

    INBOUND: ClassVar[bool] = False
    """The client reads changed records back (``read_records``, ``changed_since``): issue 14."""

    READ_BEFORE_PUSH: ClassVar[bool] = False
    """``read_records`` answers each field in the spelling the outbox payload sends it (values
    a CRM respells aside: ``syncsvc.inbound.apply._same``), tested end to end: a push of an
    update may then hold the record against what it sends and what it last delivered, to find
    a CRM edit the inbound path has not seen yet (``syncsvc.push.guard``)."""
    DELETES_POLL: ClassVar[bool] = False
    """The CRM's change list leaves deleted records out; ``deleted_since`` lists them, polled
    on their own (``syncsvc.inbound.deletes``). False: ``changed_since`` reports deletions
    (``ChangedPage.deleted``), or only webhooks do."""

    OPTIONS: ClassVar[frozenset[str]] = frozenset()
    """The connection ``options`` this client understands; any other is a configuration error."""

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        unknown = sorted(set(options) - cls.OPTIONS)
        if unknown:
            known = ", ".join(sorted(cls.OPTIONS)) or "none"
            raise ConfigError(f"unknown option(s) {unknown} (known: {known})")

    @classmethod
    def check_connection(
        cls, base_url: str, options: Mapping[str, Any], credentials: Mapping[str, Any] | None
    ) -> None:
        """Refuse (``ConfigError``) a connection this client cannot work with, before anything
        is stored: unknown options by default, plus whatever a CRM adds. ``credentials`` is None
        when they are stored encrypted."""
        cls.check_options(options)

    def __init__(
        self,
        connection: ConnectionInfo,
        session: requests.Session | None = None,
        timeouts: HttpTimeouts | None = None,
        throttle: Callable[[], None] | None = None,
    ) -> None:
        self.check_options(connection.options)
        self.connection = connection
        self.session = session or requests.Session()
        self.timeouts = timeouts or HttpTimeouts()
        self.throttle = throttle or (lambda: None)
        """Called before every HTTP request; raises ``RateLimited`` when our window is full."""
        self.setup()

    @abc.abstractmethod
    def setup(self) -> None:
        """Read the connection's options and credentials (runs at the end of ``__init__``)."""

    def url(self, path: str) -> str:
        """``path`` under the connection's base URL; absolute URLs (token endpoints) pass."""
        if path.startswith(("https://", "http://")):
            return path
        return self.connection.base_url.rstrip("/") + path

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One HTTP request through the throttle, with timeouts; network failures are retryable."""
        self.throttle()
        kwargs.setdefault("timeout", self.timeouts.as_tuple())
        try:
            return self.session.request(method, self.url(path), **kwargs)
        except requests.Timeout as exc:
            raise RetryableError(f"{self.connection.provider}: timeout on {method} {path}") from exc
        except requests.ConnectionError as exc:
            raise RetryableError(
                f"{self.connection.provider}: cannot connect for {method} {path}: {exc}"
            ) from exc
        except requests.RequestException as exc:
            raise RetryableError(
                f"{self.connection.provider}: {method} {path} failed: {exc}"
            ) from exc

    def post_token(self, url: str, **kwargs: Any) -> requests.Response:
        """POST to a token endpoint on another host: outside the API's limits (no throttle),
        with the same timeouts; network failures are retryable."""
        try:
            return self.session.post(url, timeout=self.timeouts.as_tuple(), **kwargs)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise RetryableError(
                f"{self.connection.provider}: token endpoint {url} unreachable: {exc}"
            ) from exc

    @abc.abstractmethod
    def push(self, object_name: str, op: PushOp, items: Sequence[PushItem]) -> list[PushResult]:
        """Send ``items`` in as few calls as the API allows."""

    @abc.abstractmethod
    def describe_fields(self, object_name: str) -> ObjectFields:
        """``object_name``'s field definitions as the CRM describes them (types, options,
        required, read-only, unique)."""

    def read_by_key(
        self, object_name: str, id_property: str, values: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The records the CRM holds now whose ``id_property`` equals one of ``values``: by
        value, each as a flat map of ``fields`` named and shaped as the outbox payload has them
        (absent records left out). Batch reads where the CRM has them, every call through the
        throttle. A CRM that cannot be read this way raises ``ReadUnsupported``."""
        raise ReadUnsupported(f"{self.connection.provider}: records cannot be read back")

    @classmethod
    def link_type_problem(cls, child_object: str, parent_object: str, link_type: str) -> str | None:
        """Why this CRM cannot link ``child_object`` to ``parent_object`` by ``link_type``
        (None: it can)."""
        return f"{cls.__name__} cannot link records"

    def link(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[LinkItem]
    ) -> list[LinkResult]:
        """Link each item's child to its parent with the CRM's own mechanism, in as few calls
        as it allows; one result per item. Whole-call failures are raised as in ``push``.
        Linking a child again to the parent it has is harmless."""
        raise PermanentError(f"{self.connection.provider}: cannot link records", code="NO_LINKS")

    def unlink(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[UnlinkItem]
    ) -> list[LinkResult]:
        """Remove each item's link by ``link_type`` the way the CRM clears it (a lookup set to
        null, an association archived), in as few calls as it allows; one result per item, as
        ``link``. Unlinking a child that has no such link is harmless."""
        raise PermanentError(f"{self.connection.provider}: cannot unlink records", code="NO_LINKS")

    @classmethod
    def link_fields(cls, child_object: str, parent_object: str, link_type: str) -> list[str]:
        """The child's fields that hold its parent's CRM id by ``link_type``, read with the
        child on the inbound path (a lookup field; none where links live apart, as HubSpot's)."""
        return []

    def parent_ids(
        self,
        child_object: str,
        parent_object: str,
        link_type: str,
        records: Mapping[str, CrmRecord],
    ) -> dict[str, str | None]:
        """Each record's parent CRM id by ``link_type`` as the CRM holds it now (None: no
        parent), by child id; a record left out is not known. Default: no inbound links."""
        return {}

    def list_fields(self, object_name: str) -> set[str]:
        """The field names the CRM knows for ``object_name``."""
        return set(self.describe_fields(object_name).fields)

    def read_records(
        self, object_name: str, ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, CrmRecord]:
        """The records with these CRM ids as they are now (absent ones left out)."""
        raise PermanentError(f"{self.connection.provider}: no inbound support", code="NO_INBOUND")

    def changed_since(
        self, object_name: str, since: datetime, fields: Sequence[str], after: str | None
    ) -> ChangedPage:
        """Records modified at or after ``since``, oldest first, one page from ``after`` (on a
        poll's first page: the ``resume`` the previous poll ended with, if any)."""
        raise PermanentError(f"{self.connection.provider}: no inbound support", code="NO_INBOUND")

    def deleted_since(self, object_name: str, since: datetime, after: str | None) -> DeletedPage:
        """One page of the records the CRM lists as deleted, from ``after`` (None: the first
        page). A CRM whose list is filtered by time is asked for the deletions at or after
        ``since``; one whose list is not (HubSpot's) lists them all, and the poller keeps the
        ones deleted since. Only for ``DELETES_POLL`` clients."""
        raise PermanentError(f"{self.connection.provider}: no deletions list", code="NO_INBOUND")

    def keep_webhooks(
        self, notify_url: str, objects: Sequence[str], held: str | None, now: datetime
    ) -> str | None:
        """Keep the CRM calling ``notify_url`` for every change of ``objects``, for a CRM whose
        subscriptions expire (Zoho's channels). ``held`` is what the previous call returned
        (kept in PostgreSQL); the answer is what to keep now. Default: nothing to do (the
        CRM's webhooks are created once, by a person)."""
        return held

    def close(self) -> None:
        self.session.close()


class Transformer:
    """Turns mapped properties into the CRM's payload shape.

    ``default_mappings`` gives the mapping a connection uses for an object when its config names
    none; ``shape`` applies the CRM's value conventions (e.g. HubSpot wants strings).
    """

    default_mappings: Mapping[str, Sequence[Mapping[str, Any]]] = {}

    def shape(self, object_name: str, properties: dict[str, Any]) -> dict[str, Any]:
        return properties

    def encode(self, field: FieldDef, value: Any) -> Any:
        """A value ``syncsvc.fields.convert`` made canonical for ``field``, in the CRM's wire
        format (JSON numbers, ISO dates and lists by default)."""
        return encode_json(value)

    def clear_value(self, field: FieldDef) -> Any:
        """What the CRM takes to empty ``field`` (a mapped column that is NULL)."""
        return None


@dataclass(frozen=True)
class Provider:
    """Everything the service needs to know about one CRM."""

    name: str
    defaults: ProviderDefaults
    client_class: type[ProviderClient]
    transformer: Transformer
    schema_dir: Path = field(default=SCHEMAS_DIR)
    webhooks: WebhookReceiver | None = None
    """How ``POST /v1/inbound/{connection}`` checks and reads this CRM's webhooks (None: the
    CRM has none, its changes are polled)."""

    def destination_schema_path(self, object_name: str) -> Path:
        return self.schema_dir / self.name / f"{object_name}.json"
