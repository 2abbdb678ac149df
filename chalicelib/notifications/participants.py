"""Who is told when they are made a participant of a record (a task, an event): one place for every
record type with a list of participants.

After a create every participant is told; after an update only those the change added — someone
removed is not told again, nor is anyone who already took part. The one who made the change and
the record's owner (told otherwise: a task assigned to them) are left out. One inbox message per
person and record version (the notification's `source`), so a retried hook tells nobody twice; the
record's title is shown as each person's field rules let them see it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import clock, i18n
from ..db.base import plain
from . import service as notifications


def _ids(values: Mapping[str, Any] | None, field: str) -> list[str]:
    """The user ids a participants field holds (ids, or users as {"id": …})."""
    out = [u.get("id") if isinstance(u, Mapping) else u for u in plain((values or {}).get(field)) or []]
    return [str(u) for u in dict.fromkeys(out) if u]


def added(action: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, field: str = "participant_ids") -> list[str]:
    """The participants `after` has that `before` had not (all of them on a create), in their order."""
    had = set() if action == "create" else set(_ids(before, field))
    return [u for u in _ids(after, field) if u not in had]


def notify_added(wc: Any, kind: str, key: str, field: str = "participant_ids", **params: Any) -> list[str]:
    """After a create or update (a hook's WriteContext): tell each new participant, with the text `key`
    ({title}, {name}: who made the change, and `params`). Returns whom it told."""
    from ..engine import visibility
    from ..org import service as org

    if wc.action not in ("create", "update"):
        return []
    rec, d, actor = wc.record, wc.definition, wc.principal.user_id
    whom = [u for u in added(wc.action, wc.before, rec.data, field) if u not in (actor, rec.owner_id)]
    if not whom:
        return []
    name = org.user_name(rec.tenant_id, actor)
    title = plain((rec.data or {}).get(d.title_field))
    at = clock.parse_iso(str(rec.updated_at)) if getattr(rec, "updated_at", None) else None
    told = []
    for user_id in whom:
        reader = visibility.reader(rec.tenant_id, user_id)
        text = {loc: i18n.text(key, loc, title=visibility.title(reader, d, title, loc) or "", name=name, **params)
                for loc in i18n.LOCALES}
        if notifications.deliver(rec.tenant_id, user_id, kind, text, link={"entity": d.name, "id": rec.id},
                                 source=f"participant:{d.name}:{rec.id}:{user_id}:{rec.version}", occurred_at=at):
            told.append(user_id)
    return told
