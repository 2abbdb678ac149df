"""A valid record of any standard record type, from its definition alone: tests that walk every
route (tenant isolation, PATCH nulls, cursors) need one of each type, whatever types exist."""
from __future__ import annotations

from typing import Any

from chalicelib import manifest
from chalicelib.dictionaries.service import DEFAULTS
from chalicelib.engine.definition import EntityDef
from chalicelib.engine.fieldtypes import FieldSpec


def value(f: FieldSpec, refs: dict[str, str], tag: str) -> Any:
    """A valid value of a required field; `refs`: record type -> an id the caller may read."""
    if f.type == "reference":
        entity = f.entity or next(e for e in f.entities if e in refs)
        return refs[entity] if f.entity else {"entity": entity, "id": refs[entity]}
    if f.type in ("select", "multiselect"):
        code = f.options[0][0] if f.options else DEFAULTS[f.dictionary][0][0]
        return [code] if f.type == "multiselect" else code
    if f.type in ("number", "decimal", "money", "percent"):
        return 1
    if f.type == "date":
        return "2030-01-01"
    if f.type == "datetime":
        return "2030-01-01T09:00:00+08:00"
    if f.type == "boolean":
        return True
    if f.type == "table":  # one row of its required columns
        return [{c.key: value(c, refs, tag) for c in f.columns if c.required}]
    return f"{tag}{f.label[0]}"


# what a type's own rules require beyond its required fields (a contract: an amount, or product lines)
RULE_REQUIRED: dict[str, tuple[str, ...]] = {"contract": ("amount",), "quote": ("lines",)}
# values a type's own rules require of a field (an announcement's column is one of the tenant's columns)
FIELD_VALUES: dict[tuple[str, str], Any] = {("announcement", "column"): "notice"}


def _wanted(d: EntityDef) -> list[FieldSpec]:
    wanted = RULE_REQUIRED.get(d.name, ())
    return [f for f in d.fields if (f.required or f.key in wanted) and not f.readonly]


def needs(d: EntityDef) -> set[str | None]:
    """The record types a valid record of `d` references (its wanted fields and their columns)."""
    fields = [c for f in _wanted(d) for c in (f.columns if f.type == "table" else (f,))]
    return {f.entity or next(iter(f.entities), None) for f in fields if f.required and f.type == "reference"}


def approve_contract(api, token: str, refs: dict[str, str]) -> None:
    """Payments and invoices are for approved contracts: an approver of the tenant's contract flow approves
    `refs["contract"]` (once)."""
    from chalicelib.approvals import service as approvals
    from chalicelib.core import context

    if api.call("GET", f"/v1/contracts/{refs['contract']}", token).data.get("approval_status") == "approved":
        return
    me = api.call("GET", "/v1/me", token).data
    dept = api.call("GET", "/v1/org/departments", token).data["items"][0]["id"]
    approver = api.call("POST", "/v1/org/users", token, {"name": "合同审批人", "mobile": f"139{abs(hash(me['tenant_id'])) % 10**8:08d}",
                                                        "department_id": dept, "password": "Passw0rd!2026"})
    assert approver.status_code == 201, approver.data
    flow = api.call("POST", "/v1/approval-flows", token, {"name": "合同审批", "business_type": "contract", "enabled": True, "nodes": [
        {"id": "a", "name": "审批", "approvers": {"type": "users", "user_ids": [approver.data["id"]]}}]})
    assert flow.status_code == 201, flow.data
    sent = api.call("POST", f"/v1/contracts/{refs['contract']}/submit", token, {})
    assert sent.status_code == 200, sent.data
    with context.acting_as(context.RequestContext(tenant_id=me["tenant_id"], user_id=approver.data["id"])):
        approvals.approve(sent.data["approval_id"], None, [])


# what must be true before a record of a type can be made (its parent's state)
PREPARE = {"payment": approve_contract, "invoice": approve_contract}


def body(d: EntityDef, refs: dict[str, str], tag: str = "") -> dict[str, Any]:
    return {f.key: FIELD_VALUES.get((d.name, f.key), value(f, refs, tag)) for f in _wanted(d)}


def one_of_each(api, token: str, refs: dict[str, str], tag: str = "") -> dict[str, dict[str, Any]]:
    """Create one record of every standard type with routes, parents first (a record type whose
    required reference names a type not made yet waits for it). Returns type -> (record, body)."""
    made: dict[str, dict[str, Any]] = {}
    pending = [d for d in manifest.entities() if d.path and d.name not in refs]
    while pending:
        ready = [d for d in pending if needs(d) <= set(refs)]
        assert ready, [d.name for d in pending]
        for d in ready:
            if d.name in PREPARE:
                PREPARE[d.name](api, token, refs)
            b = body(d, refs, tag)
            r = api.call("POST", f"/v1{d.path}", token, b)
            assert r.status_code == 201, (d.name, r.data)
            made[d.name] = {"record": r.data, "body": b}
            refs[d.name] = r.data["id"]
            pending.remove(d)
    paths = {d.name: d.path for d in manifest.entities()}
    for name, one in made.items():  # as stored now (a follow-up stamps the record it is about)
        one["record"] = api.call("GET", f"/v1{paths[name]}/{one['record']['id']}", token).data
    return made
