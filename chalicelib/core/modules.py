"""What a module declares to the manifest (chalicelib/manifest.py).

A `Module` lists everything the rest of the product must know about a business module:
its record types, its routes, the bus events it reacts to, the approval status hooks it
offers, how its records are handed over, its default role grants, and what a new tenant
or the demo company gets. The manifest reads these and installs them explicitly in every
process (API, each Lambda, the tests); nothing registers itself by being imported.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# status hook: (tenant_id, record_id, status, actor, instance_id) -> the record's writes
StatusOps = Callable[[str, str, str, str, str], list[Any]]
DataOf = Callable[[str, str], dict[str, Any]]


def routes_of(package: str) -> Callable[[], Any]:
    """A module's own routes, loaded on first use: `chalicelib.<package>.api.bp` (importing routes
    is the API's cost, not every Lambda's)."""
    def load() -> Any:
        import importlib

        return importlib.import_module(f"chalicelib.{package}.api").bp
    return load


@dataclass(frozen=True)
class ApprovalHook:
    entity: str  # the record type submitted (APPLICATION, CONTRACT …)
    status_ops: StatusOps
    data_of: DataOf


@dataclass(frozen=True)
class CalendarSource:
    """Records of another type that show in the calendar of the people they concern (chalicelib/calendar):
    a follow-up's next contact time, a contract's expiry. Read from the search index within the caller's
    data scope and field rules; a source of a record type this process does not know shows nothing."""

    key: str  # unique: followup_next_contact
    entity: str  # record type: followup
    field: str  # its date or datetime field: next_contact_at
    people: tuple[str, ...] = ("owner_id",)  # the user fields (or lists of user ids) naming whom it concerns
    title_field: str | None = None  # default: the type's title field
    # items outside the index: (principal, user ids, from ISO, to ISO) -> calendar items (approval deadlines)
    items: Callable[[Any, list[str], str, str], list[dict[str, Any]]] | None = None


@dataclass(frozen=True)
class Module:
    name: str  # permission module and package name: customers
    label: tuple[str, str] = ("", "")  # (中文, English) in the permission catalogue
    entities: tuple[Any, ...] = ()  # engine.definition.EntityDef of its standard record types
    blueprint: Callable[[], Any] | None = None  # -> chalice Blueprint of its own (non-generated) routes
    records: tuple[type, ...] = ()  # hand-written record classes (db.records.Record) the recycle bin may restore
    restore_hooks: Mapping[str, Callable[[Any], None]] = field(default_factory=dict)  # ENTITY -> after restore (re-create schedules …)
    approval_hooks: tuple[ApprovalHook, ...] = ()
    handover: Callable[[str, str, str, str], int] | None = None  # (tenant, from, to, actor) -> moved
    # (tenant, from, to): raises when the receiver cannot take every record of the module (run before anything moves)
    handover_check: Callable[[str, str, str], None] | None = None
    on_user_disabled: Callable[[str, str, str], int] | None = None  # (tenant, user, actor) -> items moved off a disabled user
    roles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # role id -> {actions, scopes, fields}
    seed: Callable[[str, str], None] | None = None  # (tenant, actor): write what a new tenant starts with
    audit_access: Mapping[str, Callable[[str], None]] = field(default_factory=dict)  # log entity -> read check
    notifications: tuple[str, ...] = ()  # bus detail-types the notifier turns into inbox messages
    # its own error and label texts, key -> {"zh-CN": …, "en": …} (merged into core.i18n.MESSAGES at install;
    # a key another module already defines is an error)
    messages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    jobs: Mapping[str, Callable[[Any], bool]] = field(default_factory=dict)  # job kind -> runner (chalicelib/jobs)
    calendar: tuple[CalendarSource, ...] = ()  # what its records put in people's calendars (chalicelib/calendar)
