"""Follow-ups (跟进记录): what happened with a lead, customer or contact (a call, an e-mail, a
visit, a message…), who took part, attachments, and when to get in touch next.

A follow-up hangs under the record it is about (polymorphic parent `about`): it is in that
record's related list and timeline, moves with its transfer and goes to the recycle bin with
it. Writing one stamps the record it is about, in the same transaction: `last_followup_at`
(what a public pool's "no follow-up for N days" rule reads) and, when given,
`next_contact_at`; a new lead becomes "following". The next contact time reminds the
follow-up's owner at that moment through a Scheduler schedule (engine/due.py), moved or removed
when the follow-up is edited or deleted.
"""
from __future__ import annotations

from typing import Any

from ..core import clock
from ..db.base import plain
from ..engine import registry, store
from ..engine.definition import EntityDef, Hooks, WriteContext
from ..engine.fieldtypes import FieldSpec as F

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export")
ABOUT = ("lead", "customer", "contact")  # later modules add theirs (opportunity, contract) to FOLLOWUP's `about`


def _stamp_parent(ctx: WriteContext) -> None:
    """The record followed up carries when it was last followed up and the next contact time."""
    ref = ctx.values.get("about")
    if not isinstance(ref, dict) or ctx.action != "create" and (ctx.before or {}).get("next_contact_at") == \
            ctx.values.get("next_contact_at"):
        return
    d = registry.find(str(ref["entity"]), ctx.principal.tenant_id)
    if d is None:
        return
    parent = store.get(ctx.principal.tenant_id, d.entity, str(ref["id"]), d.name_key)
    data: dict[str, Any] = dict(plain(parent.data or {}))
    if ctx.action == "create":
        data["last_followup_at"] = clock.now_iso()
        if d.name == "lead" and data.get("status") == "new":
            data["status"] = "following"
    if ctx.values.get("next_contact_at"):
        data["next_contact_at"] = ctx.values["next_contact_at"]
    from ..engine import service as engine  # the engine imports every module's definitions

    ctx.extra_ops.extend(engine.stamp_ops(d, ctx, parent, data, "followup"))


FOLLOWUP = EntityDef(
    name="followup",
    module="followups",
    label=("跟进记录", "Follow-up"),
    path="/followups",
    title_field="content",
    card_fields=("type", "about"),
    actions=ACTIONS,
    parent_field="about",
    parent_cascade=("transfer", "delete"),
    fields=(
        F("about", "reference", ("跟进对象", "About"), required=True, entities=ABOUT),
        F("type", "select", ("跟进方式", "Type"), required=True, dictionary="followup_type"),
        F("content", "textarea", ("跟进内容", "Content"), required=True, max_length=5000, searchable=True),
        F("contacts", "table", ("参与联系人", "Contacts involved"), max_rows=20, columns=(
            F("contact", "reference", ("联系人", "Contact"), required=True, entity="contact"),
        )),
        F("followed_at", "datetime", ("跟进时间", "When")),
        F("next_contact_at", "datetime", ("下次联系时间", "Next contact"), remind_days_before=0),
        F("files", "file", ("附件", "Attachments")),
    ),
    hooks=Hooks(before_write=_stamp_parent),
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": ACTIONS, "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read", "transfer"), "scope": "self"},
        "service_agent": {"actions": ("create", "list", "read"), "scope": "department"},
    },
)
