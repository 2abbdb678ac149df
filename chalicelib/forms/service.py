"""Custom forms and OA applications: design forms (admin), bind them to approval flows,
fill them in, submit through the approval engine, archive or destroy official documents."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..approvals import service as approvals
from ..core import clock, ids
from ..core.errors import Forbidden, NotFound, ValidationFailed, invalid
from ..core.observability import metric
from ..core.permissions import Principal
from ..db import changes, keys, query, records, tx
from ..db.base import Item, plain
from ..engine import fieldtypes
from ..engine import service as engine
from ..files import service as files
from ..org import service as org
from .models import Application, Form, form_list, form_pk

MODULE = "forms"
MAX_TABLE_ROWS = 200
EDITABLE = ("draft", "rejected", "withdrawn")


# ---- forms (design) --------------------------------------------------------------------------

def form_out(f: Form) -> dict[str, Any]:
    return {"id": f.id, "code": f.code, "spec": plain(f.spec), "flow_id": f.flow_id, "enabled": bool(f.enabled),
            "business_type": f.business_type, "created_at": f.created_at, "updated_at": f.updated_at, "version": f.version}


def _form(tenant_id: str, form_id: str) -> Form:
    return query.one(Form, form_pk(tenant_id, form_id), keys.RECORD_SK, "entity.form")  # type: ignore[return-value]


def list_forms() -> list[dict[str, Any]]:
    p = org.principal()
    manage = p.can(MODULE, "manage")
    if not manage:
        p.require(MODULE, "create")
    return [form_out(f) for f in Item.gsi2.query(form_list(p.tenant_id)) if isinstance(f, Form) and (manage or f.enabled)]


def get_form(form_id: str) -> dict[str, Any]:
    p = org.principal()
    if not p.can(MODULE, "manage"):
        p.require(MODULE, "create")
    return form_out(_form(p.tenant_id, form_id))


def _check_flow(p: Principal, flow_id: str | None, form_id: str) -> None:
    if flow_id is None:
        return
    if approvals.business_type_of(p.tenant_id, flow_id) != f"form:{form_id}":
        raise invalid("flow_id", "business_type", "form.flow_type", business_type=f"form:{form_id}")


def _check_rules(spec: dict[str, Any], path: str) -> None:
    """The form's cross-field rules name its fields, with types that suit each rule."""
    problems = fieldtypes.rule_problems([_spec(f) for f in spec["fields"]], spec.get("rules") or [], f"{path}rules")
    if problems:
        raise ValidationFailed(details=problems)


def create_form(spec: dict[str, Any], flow_id: str | None, enabled: bool, *, code: str | None = None,
                form_id: str | None = None) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "manage")
    fid = form_id or ids.new_id()
    _check_rules(spec, "")
    _check_flow(p, flow_id, fid)
    f = Form(pk=form_pk(p.tenant_id, fid), sk=keys.RECORD_SK, tenant_id=p.tenant_id, id=fid, code=code, name=spec["name"], spec=spec,
             flow_id=flow_id, enabled=enabled, gsi2pk=form_list(p.tenant_id), gsi2sk=f"{spec.get('category', 'other')}#{fid}")
    changes.stamp(f, p.user_id, new=True)
    changes.create(f, "form", fid, p.user_id)
    metric("forms.form.created")
    return form_out(f)


def update_form(form_id: str, values: dict[str, Any], expected: int) -> dict[str, Any]:
    """A changed form applies to new applications; submitted ones keep the data they have."""
    p = org.principal()
    p.require(MODULE, "manage")
    f = _form(p.tenant_id, form_id)
    if values.get("spec") is not None:
        _check_rules(values["spec"], "spec.")
    if "flow_id" in values:
        _check_flow(p, values["flow_id"], f.id)
    if "spec" in values:
        values["name"] = values["spec"]["name"]
    changes.save(f, "form", f.id, p.user_id, values, expected)
    return form_out(f)


def from_template(code: str) -> dict[str, Any]:
    """A form from a built-in template, with its approval flow created, enabled and bound."""
    from ..approvals import templates as flow_templates
    from . import templates

    p = org.principal()
    p.require(MODULE, "manage")
    p.require(approvals.MODULE, "manage")
    spec = templates.form_spec(code)
    fid = ids.new_id()
    flow = approvals.create_flow(flow_templates.flow_spec(code, business_type=f"form:{fid}"), True, template=code)
    return create_form(spec, flow["id"], True, code=code, form_id=fid)


# ---- applications ----------------------------------------------------------------------------

def _spec(f: dict[str, Any]) -> fieldtypes.FieldSpec:
    """A form field as the field-type engine reads it (attachments are files)."""
    t = "file" if f["field_type"] == "attachment" else f["field_type"]
    return fieldtypes.FieldSpec(key=f["key"], type=t, label=(f["label"], f.get("label_en") or f["label"]),
                                required=bool(f.get("required")),
                                precision=4 if t == "number" else None, entity=f.get("entity"),
                                allow_negative=bool(f.get("allow_negative")),
                                options=tuple((o["code"], o["label"], o.get("label_en") or o["label"]) for o in f.get("options") or []),
                                columns=tuple(_spec(c) for c in f.get("columns") or ()), max_rows=MAX_TABLE_ROWS)


class _FormResolver(engine.TenantResolver):
    """Form attachments are files: an id (or {"id": …}) of a file the applicant uploaded and
    confirmed, stored as {id, name, size, content_type, sha256}. Files the application already
    holds stay valid when it is edited again (engine.TenantResolver.file_ok)."""


def _validate(p: Principal, spec: dict[str, Any], data: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The application's data checked against the form: each field, then the form's rules."""
    specs = [_spec(f) for f in spec["fields"]]
    resolver = _FormResolver(p, kept=fieldtypes.stored_files(specs, current or {}))
    clean = fieldtypes.validate(specs, data, resolver, creating=True, rules=spec.get("rules") or ())
    return plain({k: v for k, v in clean.items() if v is not None})  # forms store JSON: exact to 15 digits


def _file_ids(spec_fields: list[dict[str, Any]], data: dict[str, Any]) -> set[str]:
    return files.file_ids(fieldtypes.stored_files([_spec(f) for f in spec_fields], data))


def _file_ops(p: Principal, a: Application, spec_fields: list[dict[str, Any]], before: dict[str, Any],
              after: dict[str, Any]) -> list[tx.Op]:
    """The application's links to its attachments: whoever may read it may download them."""
    return files.link_ops(p.tenant_id, Application.ENTITY, a.id, _file_ids(spec_fields, before), _file_ids(spec_fields, after),
                          p.user_id)


def _title(form: Form, data: dict[str, Any], p: Principal) -> str:
    spec = form.spec
    key = spec.get("title_field")
    if key and data.get(key):
        return f"{spec['name']}：{data[key]}"[:200]
    return f"{org.user_name(p.tenant_id, p.user_id)}的{spec['name']}"


def app_out(a: Application) -> dict[str, Any]:
    return {"id": a.id, "form_id": a.form_id, "form_name": a.form_name, "title": a.title, "data": plain(a.data), "status": a.status,
            "instance_id": a.instance_id, "owner_id": a.owner_id, "created_at": a.created_at, "updated_at": a.updated_at,
            "version": a.version}


def _app(p: Principal, app_id: str) -> Application:
    return records.get(Application, p.tenant_id, app_id)  # type: ignore[return-value]


def create_application(body: dict[str, Any]) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "create")
    form = _form(p.tenant_id, body["form_id"])
    if not form.enabled:
        raise ValidationFailed("FORM_DISABLED", name=form.name)
    data = _validate(p, plain(form.spec), body.get("data") or {})
    a = records.new(Application, p.tenant_id, p.user_id, p.user_id, form_id=form.id, form_name=form.name,
                    title=_title(form, data, p), data=data, status="draft")
    file_ops = _file_ops(p, a, form.spec["fields"], {}, data)
    if not body.get("submit", True):
        records.create(a, p.user_id, extra=file_ops)
    else:  # created and submitted in one transaction: a refused submit leaves no draft behind

        def creating(instance_id: str, status: str) -> list[tx.Op]:
            a.status, a.instance_id = status, instance_id
            return [*changes.create_ops(a, Application.ENTITY, a.id, p.user_id), *file_ops]

        _first_submit(p, a, form, body, creating)
    metric("forms.application.created")
    return app_out(a)


def _readable(p: Principal, app_id: str) -> Application:
    """An application the caller may read: their own, any for form admins, and those whose approval
    they take part in; any other answers exactly as a missing one (404)."""
    a = _app(p, app_id)
    if a.owner_id != p.user_id and not p.can(MODULE, "manage"):
        if not a.instance_id:
            raise NotFound(Application.NAME_KEY)
        try:
            approvals.get(a.instance_id)
        except NotFound:
            raise NotFound(Application.NAME_KEY) from None
    return a


def get_application(app_id: str) -> dict[str, Any]:
    return app_out(_readable(org.principal(), app_id))


def list_mine(form_id: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    p = org.principal()
    cond = Application.form_id == form_id if form_id else None
    items, nxt = query.page(Application, keys.owner_list(p.tenant_id, Application.ENTITY, p.user_id), index="gsi1", limit=limit,
                            cursor=cursor, filter_condition=cond)
    return {"items": [app_out(a) for a in items if isinstance(a, Application)], "next_cursor": nxt}


def _editable(p: Principal, app_id: str) -> Application:
    """The caller's own application, while it is a draft or back from a rejection/withdrawal."""
    a = _readable(p, app_id)
    if a.owner_id != p.user_id:
        raise Forbidden("APPROVAL_APPLICANT_ONLY")
    if a.status not in EDITABLE:
        raise ValidationFailed("INVALID_STATE", reason=f"application.status.{a.status}")
    return a


def update_application(app_id: str, data: dict[str, Any], expected: int) -> dict[str, Any]:
    p = org.principal()
    a = _editable(p, app_id)
    form = _form(p.tenant_id, a.form_id)
    before = plain(a.data)
    clean = _validate(p, plain(form.spec), data, before)
    records.update(a, p.user_id, {"data": clean, "title": _title(form, clean, p)}, expected,
                   extra=_file_ops(p, a, form.spec["fields"], before, clean))
    return app_out(a)


def submit_application(app_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """Draft → first submission; rejected/withdrawn → resubmission from the start (with the
    application's current data, so the flow's conditions see the changes)."""
    p = org.principal()
    a = _editable(p, app_id)
    form = _form(p.tenant_id, a.form_id)
    if not form.enabled:  # a disabled form takes no submissions, of drafts or of rejected applications
        raise ValidationFailed("FORM_DISABLED", name=form.name)
    data = plain(a.data)
    _validate(p, plain(form.spec), data, data)  # the form's rules may be newer than the draft
    if a.instance_id:
        approvals.resubmit(a.instance_id, "start", options.get("comment"))
    else:
        _first_submit(p, a, form, options)
    return app_out(_app(p, app_id))


def _first_submit(p: Principal, a: Application, form: Form, options: dict[str, Any],
                  creating: Callable[[str, str], list[tx.Op]] | None = None) -> None:
    opts = {k: options.get(k) or v for k, v in (("approvers", {}), ("extra_nodes", []), ("cc_user_ids", []))}
    opts["comment"] = options.get("comment")
    approvals.submit({"entity": Application.ENTITY, "id": a.id, "title": a.title}, form.business_type, plain(a.data), opts,
                     flow_id=form.flow_id, creating=creating)


def status_ops(tenant_id: str, app_id: str, status: str, actor: str, instance_id: str) -> list[tx.Op]:
    a = records.get(Application, tenant_id, app_id)
    values: dict[str, Any] = {"status": status, "instance_id": instance_id}
    return changes.save_ops(a, Application.ENTITY, a.id, actor, values, None, action=f"approval_{status}")


def data_of(tenant_id: str, app_id: str) -> dict[str, Any]:
    return plain(records.get(Application, tenant_id, app_id).data)


def log_access(app_id: str) -> None:
    """The applicant, admins and the approval's participants may read an application's log."""
    get_application(app_id)


def document_action(app_id: str, action: str, reason: str | None, expected: int | None) -> dict[str, Any]:
    """公文: after approval, archive (归档, read-only for good) or destroy (销毁: the content is
    erased, the record and its history remain)."""
    p = org.principal()
    a = _readable(p, app_id)
    form = _form(p.tenant_id, a.form_id)
    if not form.spec.get("document"):
        raise ValidationFailed("NOT_A_DOCUMENT")
    if a.owner_id != p.user_id and not p.can(MODULE, "manage"):
        raise Forbidden(module=MODULE, action=action)
    allowed = {"archive": ("approved",), "destroy": ("approved", "archived")}[action]
    if a.status not in allowed:
        raise ValidationFailed("INVALID_STATE", reason=f"application.status.{a.status}")
    values: dict[str, Any] = {"status": "archived" if action == "archive" else "destroyed"}
    extra: list[tx.Op] = []
    if action == "destroy":
        values["data"] = {}  # its attachments are no longer the application's to share
        extra = _file_ops(p, a, form.spec["fields"], plain(a.data), {})
    records.update(a, p.user_id, values, expected, action=action, note=reason, extra=extra)
    metric(f"forms.document.{action}")
    return {**app_out(a), "changed_at": clock.now_iso()}
