"""What a caller may see of a record: the one definition every read path applies.

Field rules per role (core/permissions.py): a hidden field is absent, a masked one masked
(138****1234), wherever record values leave the API — the record itself, list rows and
search hits, global-search cards, related lists, the operation log (before and after),
timelines, the recycle bin, approval titles and notification texts. Search applies the
same rules inside the engine query (search/rules.py: text queries, filters, sorts and
facets use only fields the caller may read unmasked). Domain events carry ids and the
names of changed fields, never values.
"""
from __future__ import annotations

from typing import Any

from ..core.permissions import FieldAccess, Principal, mask
from ..db.base import plain
from ..org import service as org
from .definition import EntityDef

# facts about a record every reader of it may know, not field values
FACTS = ("owner_id", "team", "deleted_at", "approval_status", "approval_id")


def values(p: Principal, d: EntityDef, data: dict[str, Any]) -> dict[str, Any]:
    """The declared fields of `data` as `p` may see them."""
    return p.shape(d.module, {f.key: data.get(f.key) for f in d.fields})


def custom(p: Principal, d: EntityDef, data: dict[str, Any] | None) -> dict[str, Any]:
    """Custom field values (rules are keyed custom.<key>)."""
    shown = p.shape(d.module, {f"custom.{k}": v for k, v in (data or {}).items()})
    return {k[7:]: v for k, v in shown.items()}


def some(p: Principal, d: EntityDef, data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Just these fields (cards, summaries)."""
    return p.shape(d.module, {k: data.get(k) for k in keys})


def title(p: Principal, d: EntityDef, value: Any, locale: str | None = None) -> str | None:
    """A record's title as `p` may see it; when the title field is hidden from them, the record
    type's name (the reader still learns what kind of record it is, not its value)."""
    access = p.field_access(d.module, d.title_field)
    if access is FieldAccess.HIDDEN:
        return d.label_in(locale) if locale else None
    value = plain(value)
    if value is None:
        return None
    return mask(str(value)) if access is FieldAccess.MASKED else str(value)


def changes(p: Principal, d: EntityDef, logged: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Logged changes as `p` may see them: hidden fields absent, masked ones masked before and
    after, custom values per custom.<key>; a change that becomes invisible is left out."""
    out: list[dict[str, Any]] = []
    for ch in logged:
        name = ch.get("field")
        if name == "custom":
            shown = {side: custom(p, d, ch.get(side)) if isinstance(ch.get(side), dict) else ch.get(side)
                     for side in ("before", "after")}
            if shown["before"] != shown["after"]:
                out.append({**ch, **shown})
            continue
        if name in FACTS or d.field(name) is None:
            out.append(ch)
            continue
        access = p.field_access(d.module, name)
        if access is FieldAccess.HIDDEN:
            continue
        if access is FieldAccess.MASKED:
            ch = {**ch, "before": mask(ch.get("before")), "after": mask(ch.get("after"))}
        out.append(ch)
    return out


def reader(tenant_id: str, user_id: str) -> Principal:
    """Someone a system text is written for (a notification's recipient): their own rules apply."""
    return Principal(tenant_id, user_id, org.load(tenant_id).snapshot)
