"""The customer 360 in two DynamoDB round trips whatever the number of contracts (families, gsi5:
chalicelib/engine/family.py): the same lists as the per-contract Queries gave, through moves of a
contract to another customer, the recycle bin, merges, and the back-fill of records written before
the index — approvals on real Step Functions executions."""
from __future__ import annotations

import itertools

import pytest

from tests.integration.test_round_trips import LIMIT, dynamodb_calls

_n = itertools.count(1)


@pytest.fixture()
def deals(api, sales_team):
    """Approval flows for contracts and payments (one step: the rep's supervisor)."""
    for business in ("contract", "payment"):
        r = api.call("POST", "/v1/approval-flows", sales_team["admin"], {
            "name": f"{business}审批", "business_type": business, "enabled": True,
            "nodes": [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]})
        assert r.status_code == 201, r.data
    return sales_team


def _ok(r, status: int = 201) -> dict:
    assert r.status_code == status, r.data
    return r.data


def _customer(api, token: str, name: str | None = None) -> dict:
    return _ok(api.call("POST", "/v1/customers", token, {"name": name or f"家族客户{next(_n)}"}))


def _contract(api, team, customer_id: str, token: str | None = None, *, plans: int = 1, payments: int = 1) -> dict:
    """An approved contract with its plans, payments (one submitted: a running approval) and an invoice."""
    t = team["tokens"]
    token = token or t["rep1"]
    c = _ok(api.call("POST", "/v1/contracts", token, {"name": f"家族合同{next(_n)}", "customer": customer_id, "amount": 9000}))
    iid = _ok(api.call("POST", f"/v1/contracts/{c['id']}/submit", token, {}), 200)["approval_id"]
    _ok(api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}), 200)
    made = {"contract": c["id"], "plans": [], "payments": [], "invoices": []}
    for i in range(plans):
        made["plans"].append(_ok(api.call("POST", "/v1/payment-plans", token, {
            "title": f"第{i + 1}期", "contract": c["id"], "amount": 1000, "due_date": "2099-01-01"}))["id"])
    for i in range(payments):
        pay = _ok(api.call("POST", "/v1/payments", token, {"contract": c["id"], "amount": 500, "paid_on": "2026-12-01",
                                                         "method": "bank"}))
        made["payments"].append(pay["id"])
        if i == 0:
            _ok(api.call("POST", f"/v1/payments/{pay['id']}/submit", token, {}), 200)
    made["invoices"].append(_ok(api.call("POST", "/v1/invoices", token, {"contract": c["id"], "amount": 500, "content": "服务费",
                                                                         "title": "客户公司"}))["id"])
    return made


def _by_queries(monkeypatch):
    """Read the 360 the way it was read before families: gsi3 per parent."""
    from chalicelib.engine import family

    monkeypatch.setattr(family, "ready", lambda tenant_id: False)
    monkeypatch.setattr(family, "start_backfill", lambda p: None)


def _both(api, token: str, customer_id: str) -> tuple[dict, dict, list[str]]:
    """(the 360 on the family path with its DynamoDB calls, the 360 read as before)."""
    api.call("GET", f"/v1/customers/{customer_id}/related", token)  # the stream drained, per-tenant caches warm
    with dynamodb_calls() as calls:
        fast = api.call("GET", f"/v1/customers/{customer_id}/related", token)
    with pytest.MonkeyPatch.context() as mp:
        _by_queries(mp)
        before = api.call("GET", f"/v1/customers/{customer_id}/related", token)
    assert fast.status_code == before.status_code == 200, (fast.data, before.data)
    return fast.data, before.data, [c for c in calls if c != LIMIT]


def _fast(api, token: str, customer_id: str) -> dict:
    """The 360 on the family path: the customer and one Query, and the same lists as read before."""
    fast, before, calls = _both(api, token, customer_id)
    assert calls == ["GetItem", "Query"] and fast == before
    return fast


def _ids(view: dict, kind: str) -> list[str]:
    return [x["id"] for x in view["related"].get(kind, [])]


def test_given_a_customer_with_several_contracts_when_its_360_is_read_then_the_lists_are_as_before_in_two_round_trips(
        api, deals):
    t = deals["tokens"]
    cust = _customer(api, t["rep1"], "华为技术有限公司")
    _ok(api.call("POST", "/v1/contacts", t["rep1"], {"name": "任正非", "customer": cust["id"], "mobile": "13900000001"}))
    made = [_contract(api, deals, cust["id"], plans=2 if i == 0 else 1) for i in range(3)]
    _ok(api.call("POST", "/v1/followups", t["rep1"], {"about": {"entity": "customer", "id": cust["id"]},
                                                      "type": "call", "content": "催款电话"}))
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])  # warm caches
    fast, before, calls = _both(api, t["rep1"], cust["id"])

    assert calls == ["GetItem", "Query"]  # the customer, then its whole family: 3 contracts cost what 1 did
    assert fast == before
    assert _ids(fast, "contract") == [m["contract"] for m in made]
    assert _ids(fast, "payment_plan") == [p for m in made for p in m["plans"]]  # by contract, then by time
    assert _ids(fast, "payment") == [p for m in made for p in m["payments"]]
    assert _ids(fast, "invoice") == [i for m in made for i in m["invoices"]]
    assert [x["content"] for x in fast["related"]["followup"]] == ["催款电话"]
    assert [x["name"] for x in fast["related"]["contact"]] == ["任正非"]
    assert {a["record"]["entity"] for a in fast["approvals"]} == {"contract", "payment"} and len(fast["approvals"]) == 6


def test_given_a_contract_of_another_rep_then_the_360_shows_it_and_its_payments_only_to_whoever_may_read_them(api, deals):
    t = deals["tokens"]
    cust = _customer(api, t["rep1"])
    mine = _contract(api, deals, cust["id"])
    theirs = _contract(api, deals, cust["id"])
    cur = _ok(api.call("GET", f"/v1/contracts/{theirs['contract']}", t["rep1"]), 200)
    _ok(api.call("POST", f"/v1/contracts/{theirs['contract']}/transfer", t["manager"],
                 {"to_user_id": deals["rep2"], "version": cur["version"]}), 200)  # its plans and payments follow
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    fast = _fast(api, t["rep1"], cust["id"])
    assert _ids(fast, "contract") == [mine["contract"]] and _ids(fast, "payment") == mine["payments"]
    assert _ids(fast, "invoice") == mine["invoices"]
    boss, boss_before, _ = _both(api, t["manager"], cust["id"])
    assert boss == boss_before
    assert _ids(boss, "contract") == [mine["contract"], theirs["contract"]]
    assert _ids(boss, "payment") == mine["payments"] + theirs["payments"]
    assert api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep2"]).status_code == 404


@pytest.mark.parametrize("inline", [True, False], ids=["in-its-transaction", "by-a-job"])
def test_given_a_contract_moved_to_another_customer_then_its_plans_payments_and_invoices_move_family_with_it(
        api, deals, monkeypatch, inline):
    from chalicelib.engine import family
    from chalicelib.jobs import service as jobs

    if not inline:
        monkeypatch.setattr(family, "INLINE", 1)
    t = deals["tokens"]
    a, b = _customer(api, t["rep1"]), _customer(api, t["rep1"])
    stays, moves = _contract(api, deals, a["id"]), _contract(api, deals, a["id"], plans=2)
    cur = _ok(api.call("GET", f"/v1/contracts/{moves['contract']}", t["rep1"]), 200)
    changed = api.call("POST", f"/v1/contracts/{moves['contract']}/change", t["rep1"],
                       {"changes": {"customer": b["id"]}, "version": cur["version"]})
    _ok(changed, 200)
    if not inline:  # many children: a job moves them (the mailbox re-stamp's way)
        (job,) = [j for j in _ok(api.call("GET", "/v1/jobs", t["rep1"]), 200)["items"] if j["kind"] == family.RESTAMP_KIND]
        assert jobs.run(deals["id"], job["id"]) == "succeeded"
    for cust, made in ((a, stays), (b, moves)):
        fast = _fast(api, t["rep1"], cust["id"])
        assert _ids(fast, "contract") == [made["contract"]]
        assert _ids(fast, "payment_plan") == made["plans"] and _ids(fast, "payment") == made["payments"]
        assert _ids(fast, "invoice") == made["invoices"]


def test_given_contracts_in_the_recycle_bin_then_the_360_leaves_them_and_their_plans_out_until_restored(api, deals):
    t, admin = deals["tokens"], deals["admin"]
    cust = _customer(api, t["rep1"])
    c = _ok(api.call("POST", "/v1/contracts", t["rep1"], {"name": "草稿合同", "customer": cust["id"], "amount": 5000}))
    contact = _ok(api.call("POST", "/v1/contacts", t["rep1"], {"name": "孟晚舟", "customer": cust["id"], "mobile": "13900000002"}))
    _ok(api.call("DELETE", f"/v1/contacts/{contact['id']}", t["manager"], headers={"If-Match": f'"{contact["version"]}"'}), 204)
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    fast, before, _ = _both(api, t["rep1"], cust["id"])
    assert fast == before and _ids(fast, "contact") == [] and _ids(fast, "contract") == [c["id"]]
    # the customer to the bin with its contacts (they cascade), then back
    cur = _ok(api.call("GET", f"/v1/customers/{cust['id']}", t["rep1"]), 200)
    _ok(api.call("DELETE", f"/v1/customers/{cust['id']}", t["manager"], headers={"If-Match": f'"{cur["version"]}"'}), 204)
    assert api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"]).status_code == 404
    _ok(api.call("POST", f"/v1/recycle-bin/customer/{cust['id']}/restore", admin), 200)
    _ok(api.call("POST", f"/v1/recycle-bin/contact/{contact['id']}/restore", admin), 200)
    fast = _fast(api, t["rep1"], cust["id"])
    assert _ids(fast, "contact") == [contact["id"]] and _ids(fast, "contract") == [c["id"]]


DELIVERY = {  # a custom object under a contract: in the contract's customer's 360, as its payments are
    "key": "delivery", "label": "交付单", "title_field": "title",
    "fields": [{"key": "title", "label": "交付内容", "type": "text", "required": True},
               {"key": "contract", "label": "合同", "type": "reference", "entity": "contract", "required": True}],
    "parent": {"field": "contract", "cascade": ["transfer", "delete"]},
    "grants": {"sales_rep": {"actions": ["create", "update", "list", "read"], "scope": "self"},
               "sales_manager": {"actions": ["create", "update", "list", "read", "delete"], "scope": "self_and_subordinates"}},
}


def test_given_two_customers_merged_then_the_other_s_contracts_bring_their_records_into_the_survivor_s_360(api, deals):
    t = deals["tokens"]
    _ok(api.call("POST", "/v1/objects", deals["admin"], DELIVERY))
    keep, gone = _customer(api, t["rep1"], "比亚迪股份有限公司"), _customer(api, t["rep1"], "比亚迪股份")
    own = _contract(api, deals, keep["id"])
    draft = _ok(api.call("POST", "/v1/contracts", t["rep1"], {"name": "草稿合同", "customer": gone["id"], "amount": 3000}))
    shipped = [_ok(api.call("POST", "/v1/objects/delivery/records", t["rep1"], {"title": f"第{i}批", "contract": draft["id"]}))["id"]
               for i in range(2)]
    keep = _ok(api.call("GET", f"/v1/customers/{keep['id']}", t["rep1"]), 200)  # 成交 since its contract was approved
    r = api.call("POST", f"/v1/customers/{keep['id']}/merge", t["manager"], {
        "from_id": gone["id"], "version": keep["version"], "from_version": gone["version"]})
    _ok(r, 200)
    fast = _fast(api, t["rep1"], keep["id"])
    assert _ids(fast, "contract") == [own["contract"], draft["id"]]
    assert _ids(fast, "obj_delivery") == shipped and _ids(fast, "payment") == own["payments"]
    # restoring the merged customer takes its contract back, and the contract's deliveries with it
    _ok(api.call("POST", f"/v1/recycle-bin/customer/{gone['id']}/restore", deals["admin"]), 200)
    for cust, contracts, deliveries in ((keep, [own["contract"]], []), (gone, [draft["id"]], shipped)):
        fast = _fast(api, t["rep1"], cust["id"])
        assert _ids(fast, "contract") == contracts and _ids(fast, "obj_delivery") == deliveries


def _forget_families(tenant_id: str) -> None:
    """The tenant as it was before the family index: no gsi5 keys, no back-fill state."""
    import boto3

    from chalicelib.core.settings import get_settings
    from chalicelib.engine import family

    table = boto3.resource("dynamodb").Table(get_settings().table_name)
    for item in table.scan()["Items"]:
        if item.get("tenant_id") != tenant_id:
            continue
        if item.get("type") == "FAMILY_STATE":
            table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        elif "gsi5pk" in item:
            table.update_item(Key={"pk": item["pk"], "sk": item["sk"]}, UpdateExpression="REMOVE gsi5pk, gsi5sk")
    family.forget()


def test_given_records_written_before_families_then_the_360_reads_as_before_until_the_back_fill_has_run(api, deals):
    from chalicelib.engine import family
    from chalicelib.jobs import service as jobs

    t = deals["tokens"]
    cust = _customer(api, t["rep1"])
    made = [_contract(api, deals, cust["id"]) for _ in range(2)]
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    expected = _both(api, t["rep1"], cust["id"])[0]
    _forget_families(deals["id"])

    with dynamodb_calls() as calls:
        old = api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    assert old.status_code == 200 and old.data == expected  # nothing missing while the keys are not there
    # the state item read, the back-fill queued (once: its state item and its job), then the per-contract Queries
    # the record, the back-fill's state (none), the back-fill queued once (its state, its job), the per-contract Queries
    assert [c for c in calls if c != LIMIT] == ["GetItem", "GetItem", "PutItem", "PutItem", "Query", "Query", "Query"]
    with dynamodb_calls() as again:
        assert api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"]).data == expected
    assert [c for c in again if c != LIMIT] == ["GetItem", "Query", "Query", "Query"]  # "not yet" is cached for a while

    (job,) = [j for j in _ok(api.call("GET", "/v1/jobs", t["rep1"]), 200)["items"] if j["kind"] == family.BACKFILL_KIND]
    assert jobs.run(deals["id"], job["id"]) == "succeeded"
    assert family.backfill(deals["id"]) is True  # done: running it again changes nothing
    family.forget()
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])  # reads the state once
    fast = _fast(api, t["rep1"], cust["id"])
    assert fast == expected
    assert _ids(fast, "payment") == [p for m in made for p in m["payments"]]


def test_given_a_back_fill_stopped_part_way_when_run_again_then_it_resumes_and_finishes(api, deals, monkeypatch):
    from chalicelib.engine import family

    t = deals["tokens"]
    cust = _customer(api, t["rep1"])
    made = _contract(api, deals, cust["id"], plans=3)
    _forget_families(deals["id"])
    monkeypatch.setattr(family, "WALK_PAGE", 2)
    assert family.backfill(deals["id"], time_left=lambda: 0) is False  # out of time after one page
    state = family.FamilyState.get(*family.FamilyState.key(deals["id"]))
    assert state.state == "running" and state.checkpoint
    assert family.backfill(deals["id"]) is True
    family.forget()
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    fast = _fast(api, t["rep1"], cust["id"])
    assert _ids(fast, "payment_plan") == made["plans"]


def test_given_a_back_fill_job_that_gave_up_when_a_360_is_read_again_then_another_job_resumes_it(api, deals):
    from chalicelib.engine import family
    from chalicelib.jobs import service as jobs

    t = deals["tokens"]
    cust = _customer(api, t["rep1"])
    _contract(api, deals, cust["id"])
    _forget_families(deals["id"])
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    (first,) = [j for j in _ok(api.call("GET", "/v1/jobs", t["rep1"]), 200)["items"] if j["kind"] == family.BACKFILL_KIND]
    _ok(api.call("POST", f"/v1/jobs/{first['id']}/cancel", t["rep1"]), 200)
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])  # this process asked already: nothing more
    assert len([j for j in api.call("GET", "/v1/jobs", t["rep1"]).data["items"] if j["kind"] == family.BACKFILL_KIND]) == 1
    family.forget()  # another container
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    queued = [j for j in api.call("GET", "/v1/jobs", t["rep1"]).data["items"] if j["kind"] == family.BACKFILL_KIND]
    assert sorted(j["status"] for j in queued) == ["cancelled", "queued"]
    second = next(j for j in queued if j["status"] == "queued")
    assert jobs.run(deals["id"], second["id"]) == "succeeded" and family.ready(deals["id"])


def test_given_a_tenant_restored_from_a_backup_then_its_360_reads_its_family_in_the_new_tenant_code(api, deals):
    from chalicelib.jobs import service as jobs
    from tests.conftest import platform_token

    t = deals["tokens"]
    cust = _customer(api, t["rep1"], "华为技术有限公司")
    made = _contract(api, deals, cust["id"], plans=2)
    expected = _both(api, t["rep1"], cust["id"])[0]
    backup = _ok(api.call("POST", "/v1/backups", deals["admin"]), 202)
    jobs.run_queued()
    _ok(api.call("POST", f"/v1/backups/{backup['id']}/restore", platform_token(), {"target_tenant_id": "familyrestored"}), 202)
    jobs.run_queued()
    rep = _ok(api.call("POST", "/v1/auth/login", body={"tenant_id": "familyrestored", "mobile": "13900000002",
                                                        "password": "Passw0rd!2026"}), 200)["id_token"]
    fast = _fast(api, rep, cust["id"])
    assert fast == expected  # the family keys name the new tenant code
    assert _ids(fast, "payment_plan") == made["plans"]
