"""Entity definitions: one declaration per record type, read by one engine.

A standard record type declares an `EntityDef` in its module (e.g. customers/entity.py);
a custom object's definition is stored per tenant and turned into the same `EntityDef`
(engine/objects.py). From it the engine derives the stored item (engine/store.py), the
request/response models and OpenAPI schemas (built on first use, engine/models.py), the
search mapping, the permission catalogue and role defaults, i18n labels, the standard
routes (engine/api.py) and the domain events (engine/service.py). A module keeps only
its own rules, as hooks and extra routes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ..duplicates.normalize import KINDS
from .fieldtypes import FieldSpec

APPROVAL_STATUSES = (("none", "未提交", "Not submitted"), ("pending", "审核中", "In review"), ("approved", "已通过", "Approved"),
                     ("rejected", "已拒绝", "Rejected"), ("withdrawn", "已撤回", "Withdrawn"))


def approval_fields() -> tuple[FieldSpec, ...]:
    """The read-only fields a record type with `Features.approval` carries: its approval's status
    (kept by the approval engine in the same transaction as each decision) and instance."""
    return (FieldSpec("approval_status", "select", ("审批状态", "Approval status"), default="none", readonly=True,
                      options=APPROVAL_STATUSES),
            FieldSpec("approval_id", "text", ("审批编号", "Approval"), readonly=True, filterable=False, sortable=False))

_OPTIONS: ContextVar[Mapping[str, Any] | None] = ContextVar("write_options", default=None)


@contextmanager
def write_options(options: Mapping[str, Any]) -> Iterator[None]:
    """The query parameters of a create or update route of a type that declares `write_query`, for
    its hooks to read (`options()`) while the write runs (an event's `force=true` over a conflict)."""
    token = _OPTIONS.set(dict(options))
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def options() -> Mapping[str, Any]:
    return _OPTIONS.get() or {}


# what a hook receives: the engine's view of one write
HookFn = Callable[["WriteContext"], None]


def lazy(module: str, name: str) -> Callable[..., Any]:
    """A hook or timer function of another module, imported when first called: a definition module
    is imported by the engine itself, so it cannot import the services its hooks run."""
    import importlib

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = name
    return call


def rederives(action: str) -> Callable[["EntityDef", Any, str], bool]:
    """A timer's `fire` that writes the record's derived values again, logged as `action`: the moment
    itself changed what they are (a plan falls overdue, a quote lapses)."""
    def fire(d: "EntityDef", rec: Any, _at: str) -> bool:
        from . import service

        return service.rederive(d, rec, action)

    return fire


@dataclass
class WriteContext:
    """One write as hooks see it: the caller, the definition, the record and the change."""

    principal: Any  # core.permissions.Principal
    definition: "EntityDef"
    record: Any  # store.EntityRecord (its values before the change in `before`)
    action: str  # create | update | delete | restore | purge | transfer | team
    values: dict[str, Any]  # the checked field values after the change (create/update)
    before: dict[str, Any] = field(default_factory=dict)
    extra_ops: list[Any] = field(default_factory=list)  # hooks add writes that must commit with the record
    then: list[Callable[[], None]] = field(default_factory=list)  # run once the write has committed
    loaded: dict[tuple[str, str], Any] = field(default_factory=dict)  # records its reference checks read, by (ENTITY, id)


@dataclass(frozen=True)
class Hooks:
    validate: HookFn | None = None  # business rules across fields: raise ValidationFailed
    before_write: HookFn | None = None  # add ops to ctx.extra_ops (same transaction)
    after_write: HookFn | None = None  # side effects after commit (schedules, notifications)
    on_delete: HookFn | None = None  # after a soft delete: undo side effects (e.g. cancel a schedule)
    on_restore: HookFn | None = None  # after a restore: re-create what deleting removed
    # before a soft delete / a restore (also of a child its parent's takes along): raise to refuse it, or add
    # ctx.extra_ops that commit with it (a payment or an invoice gives back, or takes again, its contract's amount)
    before_delete: HookFn | None = None
    before_restore: HookFn | None = None
    # before a purge from the recycle bin: add ctx.extra_ops that commit with it (the type's own items that
    # only make sense while the record exists: a mail's entry in its mailbox)
    before_purge: HookFn | None = None
    # holdings: (tenant, before, after) -> writes that commit with every change of who holds a live
    # record and in what state (create, update, transfer, hand-over, delete, restore); before/after
    # are store.holding(rec) snapshots, None when the record is not live. Customers count owned and
    # locked customers against their limits with it (customers/limits.py).
    holdings: Callable[[str, Mapping[str, Any] | None, Mapping[str, Any] | None], list[Any]] | None = None
    # holdings_many: (tenant, [(before, after), …]) -> the same writes for many changes committed together
    # (an import's transaction of many creates): one write per counter item, their sums
    holdings_many: Callable[[str, list[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]]], list[Any]] | None = None
    # derive: (Derivation) -> read-only values the engine writes with every change of the record's
    # values or owner (create, update, module changes, transfer, hand-over, stamps by other records);
    # None clears a value. Customers keep their pool timer (when they would enter a pool) with it.
    derive: Callable[["Derivation"], Mapping[str, Any]] | None = None
    # on_approval: (tenant, record with its new approval status, status before, status, actor) -> writes that
    # join the approval decision's transaction (an approved contract makes its customer a deal, 成交)
    on_approval: Callable[[str, Any, str, str, str], list[Any]] | None = None
    # submit_as: (principal, record) -> the business type the record goes to approval as (default
    # Features.approval), or ValidationFailed to refuse the submit (a contract over its customer's
    # credit limit is blocked or goes to a special flow)
    submit_as: Callable[[Any, Any], str] | None = None
    # team: (values, owner id, current team) -> the record team its type keeps from its values, written with
    # every write of its values or owner (a task's participants read it, its assigner may change it)
    team: Callable[[Mapping[str, Any], str, Mapping[str, Any]], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Derivation:
    """What a derive hook sees: the record's values and owner after the change, and its owner before
    (None on create)."""

    tenant_id: str
    record_id: str
    created_at: str
    owner_before: str | None
    owner_id: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Timer:
    """A moment in a record's life that acts through a Scheduler schedule (one per record and timer,
    engine/due.py): `at` reads the moment from the record's stored values (None: no schedule);
    `fire` acts when it comes and is only called while the record still says that moment."""

    key: str  # unique within the type; part of the schedule's name
    at: Callable[[Mapping[str, Any]], str | None]  # (record values incl. owner_id) -> ISO moment
    fire: Callable[["EntityDef", Any, str], bool]  # (definition, store.EntityRecord, moment) -> acted
    # a recurring timer (a contact's yearly birthday): (record values) -> the moment after `at`, which
    # `fire` arms without writing the record; when the record's moment moves, that schedule goes too
    following: Callable[[Mapping[str, Any]], str | None] | None = None


@dataclass(frozen=True)
class Relation:
    """Children of a record type: `child` records whose `field` (their parent_field) references it.
    Derived from the children's definitions (engine.service.relations), standard and custom."""

    child: str  # child type name
    field: str  # the child's reference field
    cascade: tuple[str, ...] = ()  # transfer / delete: the parent's change carries to the child

@dataclass(frozen=True)
class Audience:
    """Records that reach an audience (an announcement): a reader for whom `keys` gives a tuple sees
    only the records whose `field` (a read-only multi-valued field of audience keys the type derives)
    shares one of them — in lists, search, exports and by id, on top of the data scope — and in lists
    and search only while `until` (a datetime field), when set, has not passed. `keys` returns None
    for a caller who sees every record of the type in their data scope (its managers)."""

    field: str
    keys: Callable[[Any], tuple[str, ...] | None]  # (principal) -> the reader's audience keys
    until: str | None = None


@dataclass(frozen=True)
class Features:
    owner: bool = True  # owner + data scope
    team: bool = True  # 相关团队
    transfer: bool = True
    recycle_bin: bool = True
    custom_fields: bool = True
    handover: bool = True  # a leaving user's records move with 交接
    private: bool = False  # only the owner sees it; never in the tenant-wide recycle bin
    numbering: str | None = None  # numbering rule that fills `number_field` on create
    number_field: str | None = None
    approval: str | None = None  # business type submitted to the approval engine
    events: bool = True
    comments: bool = False  # 评论: GET/POST …/{id}/comments with @mentions, on the timeline (chalicelib/comments)


@dataclass(frozen=True)
class EntityDef:
    """One record type."""

    name: str  # API type and index name: customer, competitor, obj_ad_order
    module: str  # permission module: customers, competitors, objects.ad_order
    label: tuple[str, str]  # (中文, English)
    fields: tuple[FieldSpec, ...]
    rules: tuple[Mapping[str, Any], ...] = ()  # cross-field rules (fieldtypes.RULES), e.g. {"kind": "range", …}
    path: str = ""  # route prefix, e.g. /customers ("" = only the generic /objects/{name}/records routes)
    event_module: str = ""  # events are <event_module>.<name>.<verb>; default: module
    title_field: str = "name"
    card_fields: tuple[str, ...] = ()  # global-search subtitle
    features: Features = Features()
    parent_field: str | None = None  # reference field whose record is this one's parent (its related list, gsi3)
    parent_cascade: tuple[str, ...] = ()  # what the parent's change carries to this record: transfer, delete (+ restore)
    # its own children show in its parent's related lists too (a customer's 360 has the contracts' plans, payments and
    # invoices): they sit in its parent's family (gsi5, engine/family.py), so the 360 stays one Query
    rolls_up: bool = False
    relations: tuple[Relation, ...] = ()
    actions: tuple[str, ...] = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export")
    role_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # role -> {actions, scope, fields}
    hooks: Hooks = Hooks()
    # 查重: the fields that take part in duplicate checks and as what kind (company | person | phone | email),
    # e.g. {"name": "company", "mobile": "phone", "phone": "phone"}; see chalicelib/duplicates/
    duplicates: Mapping[str, str] = field(default_factory=dict)
    custom: bool = False  # a tenant's custom object (objects/service.py builds it from the stored definition)
    object_key: str | None = None  # custom objects: the key in /v1/objects/{key}
    index_slots: Mapping[str, str] = field(default_factory=dict)  # custom objects: field -> search slot (cf_k1 …)
    version: int = 0  # custom objects: definition version (model caches key on it)
    timers: tuple[Timer, ...] = ()  # schedules that follow the record (engine/due.py)
    # query parameters its create and update routes accept: "package.module.Model" of a pydantic model (imported
    # with the routes' first use); the hooks read them with `options()` (e.g. an event's ?on_conflict=warn&force=true)
    write_query: str | None = None
    audience: Audience | None = None  # records that reach an audience only (see Audience)
    default_sort: str | None = None  # the list's order when the request names none and has no text query ("-rank")

    def __post_init__(self) -> None:
        known = {f.key for f in self.fields}
        wrong = [f"{k}: {v}" for k, v in self.duplicates.items() if k not in known or v not in KINDS]
        if wrong:
            raise ValueError(f"{self.name}: duplicate checks name unknown fields or kinds ({', '.join(wrong)})")

    @property
    def entity(self) -> str:
        """The storage name (keys, audit): CUSTOMER."""
        return self.name.upper()

    @property
    def name_key(self) -> str:
        """The i18n key naming the type in messages (custom objects are named by their own label)."""
        return "entity.record" if self.custom else f"entity.{self.name}"

    @property
    def events_of(self) -> str:
        return self.event_module or self.module

    def field(self, key: str) -> FieldSpec | None:
        return self._by_key().get(key)

    def _by_key(self) -> dict[str, FieldSpec]:
        cache = self.__dict__.get("_keys")
        if cache is None:
            cache = {f.key: f for f in self.fields}
            object.__setattr__(self, "_keys", cache)
        return cache

    def label_in(self, locale: str) -> str:
        return self.label[1] if locale == "en" and self.label[1] else self.label[0]

    def parent_types(self) -> tuple[str, ...]:
        """The record types this one hangs under (one, or several for a polymorphic parent)."""
        f = self.field(self.parent_field) if self.parent_field else None
        if f is None:
            return ()
        return (f.entity,) if f.entity else f.entities

    def parent_of(self, data: Mapping[str, Any]) -> tuple[str, str] | None:
        """(parent ENTITY, parent id) from the record's parent reference field."""
        if not self.parent_field:
            return None
        ref = data.get(self.parent_field)
        if isinstance(ref, Mapping) and ref.get("id") and ref.get("entity"):
            return str(ref["entity"]).upper(), str(ref["id"])
        return None
