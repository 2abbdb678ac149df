"""Families (gsi5, chalicelib/engine/family.py) kept right through what a deployment and concurrency
do to them: the previous release writing records without their keys (a canary, a rollback), key
moves racing the back-fill and each other, a create racing its parent's move, jobs lost in a crash,
and the per-process caches after `again()`."""
from __future__ import annotations

import boto3
import pytest

from chalicelib.core import clock
from tests.integration.test_family import _both, _contract, _customer, _fast, _forget_families, _ids, _ok
from tests.integration.test_round_trips import LIMIT, dynamodb_calls


@pytest.fixture()
def deals(api, sales_team):
    """Approval flows for contracts and payments (one step: the rep's supervisor)."""
    for business in ("contract", "payment"):
        _ok(api.call("POST", "/v1/approval-flows", sales_team["admin"], {
            "name": f"{business}审批", "business_type": business, "enabled": True,
            "nodes": [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]}))
    return sales_team


def _table():
    from chalicelib.core.settings import get_settings

    return boto3.resource("dynamodb").Table(get_settings().table_name)


def _item(tenant_id: str, entity: str, record_id: str) -> dict:
    from chalicelib.engine import store

    pk, sk = store.record_key(tenant_id, entity.upper(), record_id)
    return _table().get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True)["Item"]


def _family(tenant_id: str, entity: str, record_id: str) -> str | None:
    return _item(tenant_id, entity, record_id).get("gsi5pk")


def _root(tenant_id: str, customer_id: str) -> str:
    from chalicelib.engine import store

    return store.parent_partition(tenant_id, "CUSTOMER", customer_id)


def _old_code_wrote(tenant_id: str, entity: str, record_id: str) -> None:
    """The previous release's write of a record: the whole item, without the family keys."""
    from chalicelib.engine import store

    pk, sk = store.record_key(tenant_id, entity.upper(), record_id)
    _table().update_item(Key={"pk": pk, "sk": sk}, UpdateExpression="REMOVE gsi5pk, gsi5sk")


def _move(api, token: str, contract_id: str, customer_id: str):
    """A contract to another customer: a change of an approved one, an edit of one that is not."""
    cur = _ok(api.call("GET", f"/v1/contracts/{contract_id}", token), 200)
    if cur.get("approval_status") == "approved":
        return api.call("POST", f"/v1/contracts/{contract_id}/change", token,
                        {"changes": {"customer": customer_id}, "version": cur["version"]})
    return api.call("PATCH", f"/v1/contracts/{contract_id}", token, {"customer": customer_id},
                    headers={"If-Match": f'"{cur["version"]}"'})


def _jobs(api, token: str, kind: str) -> list[dict]:
    return [j for j in _ok(api.call("GET", "/v1/jobs", token), 200)["items"] if j["kind"] == kind]


# ---- 1. canary and rollback ----------------------------------------------------------------------
def test_given_a_deployed_stage_when_a_360_finds_the_tenant_not_back_filled_then_it_queues_nothing_and_reads_per_contract(
        api, deals, monkeypatch):
    from chalicelib.core.settings import get_settings
    from chalicelib.engine import family

    t = deals["tokens"]
    cust = _customer(api, t["rep1"])
    made = [_contract(api, deals, cust["id"]) for _ in range(2)]
    expected = _both(api, t["rep1"], cust["id"])[0]
    _forget_families(deals["id"])
    monkeypatch.setitem(get_settings().__dict__, "stage", "prod")

    with dynamodb_calls() as calls:
        assert api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"]).data == expected
    # the record, the back-fill's state (none): no state written, no job — the per-contract Queries
    assert [c for c in calls if c != LIMIT] == ["GetItem", "GetItem", "Query", "Query", "Query"]
    assert _jobs(api, t["rep1"], family.BACKFILL_KIND) == []
    # the deployment has fully shifted: the operator runs the back-fill
    assert family.main([]) == 0
    fast = _fast(api, t["rep1"], cust["id"])
    assert fast == expected
    assert _ids(fast, "payment") == [p for m in made for p in m["payments"]]


def test_given_a_rollback_when_the_old_release_wrote_records_then_again_re_walks_and_the_360_is_complete_meanwhile(
        api, deals, monkeypatch):
    from chalicelib.core.settings import get_settings
    from chalicelib.engine import family

    monkeypatch.setitem(get_settings().__dict__, "stage", "prod")
    t = deals["tokens"]
    cust = _customer(api, t["rep1"])
    made = _contract(api, deals, cust["id"], plans=2)
    expected = _both(api, t["rep1"], cust["id"])[0]
    for plan in made["plans"]:  # rolled back: the old release rewrote them without their keys
        _old_code_wrote(deals["id"], "payment_plan", plan)
    assert family.main(["--again"]) == 0  # redeployed: every tenant walked again
    assert family.FamilyState.get(*family.FamilyState.key(deals["id"])).state == "done"
    fast = _fast(api, t["rep1"], cust["id"])
    assert fast == expected
    assert {_family(deals["id"], "payment_plan", p) for p in made["plans"]} == {_root(deals["id"], cust["id"])}


def test_given_a_tenant_created_during_a_canary_then_it_is_done_only_once_created_and_the_next_run_walks_it_once(
        api, deals, monkeypatch):
    from chalicelib.engine import family

    family.ready_op("notcommitted")  # a tenant whose creating transaction has not committed
    assert "notcommitted" not in family._ready and family.ready("notcommitted") is False

    state = family.FamilyState.get(*family.FamilyState.key(deals["id"]))
    assert state.state == "done" and state.fresh == 1  # created by this release: nothing to fill, walked once all the same
    t = deals["tokens"]
    cust = _customer(api, t["rep1"])
    made = _contract(api, deals, cust["id"])
    expected = _both(api, t["rep1"], cust["id"])[0]
    _old_code_wrote(deals["id"], "payment", made["payments"][0])  # the previous release's 10 % of the traffic
    assert family.main([deals["id"]]) == 0
    assert _family(deals["id"], "payment", made["payments"][0]) == _root(deals["id"], cust["id"])
    assert not family.FamilyState.get(*family.FamilyState.key(deals["id"])).fresh
    assert _both(api, t["rep1"], cust["id"])[0] == expected
    with dynamodb_calls() as calls:
        assert family.backfill(deals["id"]) is True  # walked: the next run reads its state and stops
    assert calls == ["GetItem"]


# ---- 2. stale families -----------------------------------------------------------------------------
def test_given_a_back_fill_that_read_a_parent_before_it_moved_then_it_never_writes_the_old_family_over_the_restamp(api, deals):
    from chalicelib.engine import family, store

    t = deals["tokens"]
    a, b = _customer(api, t["rep1"]), _customer(api, t["rep1"])
    made = _contract(api, deals, a["id"])
    pay = made["payments"][0]
    _old_code_wrote(deals["id"], "payment", pay)
    # the back-fill reads a page: the payment (no keys), then its contract (under A)
    old_pay = store.EntityRecord.get(*store.record_key(deals["id"], "PAYMENT", pay), consistent_read=True)
    old_contract = store.EntityRecord.get(*store.record_key(deals["id"], "CONTRACT", made["contract"]), consistent_read=True)
    _ok(_move(api, t["rep1"], made["contract"], b["id"]), 200)  # meanwhile the contract moves: its payment restamped (keys only)
    assert _family(deals["id"], "payment", pay) == _root(deals["id"], b["id"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(family, "_records", lambda tenant_id, item_keys: [old_contract])
        assert family._fill(deals["id"], [old_pay]) == 0  # refused: the family is not the one it read
    assert _family(deals["id"], "payment", pay) == _root(deals["id"], b["id"])


def test_given_two_restamp_jobs_of_a_contract_moved_twice_when_they_finish_in_either_order_then_the_latest_family_wins(
        api, deals, monkeypatch):
    from chalicelib.engine import family
    from chalicelib.jobs import service as jobs

    monkeypatch.setattr(family, "INLINE", 1)
    t = deals["tokens"]
    a, b, c = (_customer(api, t["rep1"]) for _ in range(3))
    made = _contract(api, deals, a["id"], plans=2)
    _ok(_move(api, t["rep1"], made["contract"], b["id"]), 200)
    contract = _ok(api.call("GET", f"/v1/contracts/{made['contract']}", t["rep1"]), 200)
    if contract.get("approval_status") == "pending":  # the change is reviewed again
        _ok(api.call("POST", f"/v1/approvals/{contract['approval_id']}/approve", t["manager"], {}), 200)
    _ok(_move(api, t["rep1"], made["contract"], c["id"]), 200)
    first, second = sorted(_jobs(api, t["rep1"], family.RESTAMP_KIND), key=lambda j: j["created_at"])
    assert jobs.run(deals["id"], second["id"]) == "succeeded"
    assert jobs.run(deals["id"], first["id"]) == "succeeded"  # queued with the move to B: stamps what the contract gives now
    for plan in made["plans"]:
        assert _family(deals["id"], "payment_plan", plan) == _root(deals["id"], c["id"])
    fast = _fast(api, t["rep1"], c["id"])
    assert _ids(fast, "payment_plan") == made["plans"]


def test_given_a_restamp_job_when_its_record_moves_again_between_chunks_then_the_rest_get_the_new_family(api, deals, monkeypatch):
    from chalicelib.engine import family
    from chalicelib.jobs import service as jobs

    monkeypatch.setattr(family, "INLINE", 1)
    monkeypatch.setattr(family, "CHUNK", 1)
    t = deals["tokens"]
    a, b, c = (_customer(api, t["rep1"]) for _ in range(3))
    made = _contract(api, deals, a["id"], plans=3)
    _ok(_move(api, t["rep1"], made["contract"], b["id"]), 200)
    (job,) = _jobs(api, t["rep1"], family.RESTAMP_KIND)
    original, chunks = family._write_keys, []

    def write_keys(rec, children):
        if children:
            chunks.append((rec.gsi3pk, [(c.entity, c.id) for c in children]))
        if len(chunks) == 2 and children:  # after the first chunk: the contract moves on to C (its own job follows)
            table, pk = _table(), rec.pk
            table.update_item(Key={"pk": pk, "sk": rec.sk}, UpdateExpression="SET gsi3pk = :p ADD version :one",
                              ExpressionAttributeValues={":p": _root(deals["id"], c["id"]), ":one": 1})
            rec = family.store.EntityRecord.get(pk, rec.sk, consistent_read=True)
        return original(rec, children)

    monkeypatch.setattr(family, "_write_keys", write_keys)
    assert jobs.run(deals["id"], job["id"]) == "succeeded"
    (first, (one,)), *rest = chunks
    assert len(rest) == 4 and first == _root(deals["id"], b["id"]) and _family(deals["id"], *one) == first
    for family_, (child,) in rest[1:]:  # the contract read again for each chunk: where it is now
        assert family_ == _root(deals["id"], c["id"]) and _family(deals["id"], *child) == family_


CHILDREN = {  # a payment stamps its contract (the contract's version holds it); a plan checks the contract
    "payment": ("/v1/payments", {"amount": 500, "paid_on": "2026-12-01", "method": "bank"}),
    "payment_plan": ("/v1/payment-plans", {"title": "第1期", "amount": 1000, "due_date": "2099-01-01"}),
}


@pytest.mark.parametrize("kind", sorted(CHILDREN))
def test_given_a_record_created_while_its_contract_moves_to_another_customer_then_it_joins_the_new_customer_s_family(
        api, deals, monkeypatch, kind):
    from chalicelib.db import tx
    from chalicelib.engine import service

    t = deals["tokens"]
    a, b = _customer(api, t["rep1"]), _customer(api, t["rep1"])
    made = _contract(api, deals, a["id"], payments=0)
    sent, original = [], tx.write

    def racing(ops):
        if not sent and any(getattr(o.model, "entity", None) == kind.upper() for o in ops):
            # the contract moves to B after the create read it under A (its own transaction, as a move writes)
            _ok(_move(api, t["rep1"], made["contract"], b["id"]), 200)
        sent.append(len(ops))
        return original(ops)

    monkeypatch.setattr(service.tx, "write", racing)
    path, body = CHILDREN[kind]
    made_ = _ok(api.call("POST", path, t["rep1"], {"contract": made["contract"], **body}))
    monkeypatch.undo()
    assert len(sent) >= 3  # the move, the refused create, the create read again
    assert _family(deals["id"], kind, made_["id"]) == _root(deals["id"], b["id"])  # read again and tried again
    fast, before, calls = _both(api, t["rep1"], b["id"])
    earlier = made["plans"] if kind == "payment_plan" else made["payments"]
    assert calls == ["GetItem", "Query"] and fast == before and _ids(fast, kind) == [*earlier, made_["id"]]
    assert _ids(_both(api, t["rep1"], a["id"])[0], kind) == []


# ---- 3. jobs lost in a crash -------------------------------------------------------------------------
def test_given_a_back_fill_state_left_running_without_a_job_then_a_later_read_queues_one(api, deals):
    from chalicelib.engine import family
    from chalicelib.jobs import service as jobs

    t = deals["tokens"]
    cust = _customer(api, t["rep1"])
    _contract(api, deals, cust["id"])
    _forget_families(deals["id"])
    pk, sk = family.FamilyState.key(deals["id"])
    family.FamilyState(pk=pk, sk=sk, tenant_id=deals["id"], state="running", checkpoint={}, done=0,
                       updated_at=clock.now_iso()).save()  # its reader died before queueing the job
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    assert _jobs(api, t["rep1"], family.BACKFILL_KIND) == []  # maybe another reader queueing it right now
    clock.travel(family.STALE_START_SECONDS + family.NOT_READY_SECONDS + 1)
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])  # this process asks again after a while
    (job,) = _jobs(api, t["rep1"], family.BACKFILL_KIND)
    assert jobs.run(deals["id"], job["id"]) == "succeeded" and family.ready(deals["id"])


def test_given_a_move_whose_process_dies_after_queueing_the_restamp_then_the_job_waits_for_the_write_or_gives_up(
        api, deals, monkeypatch):
    from chalicelib.engine import family, service
    from chalicelib.jobs import service as jobs

    monkeypatch.setattr(family, "INLINE", 1)
    t = deals["tokens"]
    a, b = _customer(api, t["rep1"]), _customer(api, t["rep1"])
    made = _contract(api, deals, a["id"], plans=2)
    original = service.tx.write
    cur = _ok(api.call("GET", f"/v1/contracts/{made['contract']}", t["rep1"]), 200)
    with monkeypatch.context() as mp:  # the job is queued, then the write dies
        mp.setattr(service.tx, "write", lambda ops: (_ for _ in ()).throw(ConnectionError("connection reset")))
        died = api.call("POST", f"/v1/contracts/{made['contract']}/change", t["rep1"],
                        {"changes": {"customer": b["id"]}, "version": cur["version"]})
        assert died.status_code == 500, died.data
    (lost,) = _jobs(api, t["rep1"], family.RESTAMP_KIND)
    assert jobs.run(deals["id"], lost["id"]) == "queued"  # the move has not committed (yet): tried again later
    clock.travel(family.WAIT_FOR_MOVE_SECONDS + 1)
    assert jobs.run(deals["id"], lost["id"]) == "succeeded"  # it never will: nothing to do
    assert service.tx.write is original
    _ok(_move(api, t["rep1"], made["contract"], b["id"]), 200)  # the move that commits: its job runs after it, or waits for it
    (job,) = [j for j in _jobs(api, t["rep1"], family.RESTAMP_KIND) if j["id"] != lost["id"]]
    assert jobs.run(deals["id"], job["id"]) == "succeeded"
    assert {_family(deals["id"], "payment_plan", p) for p in made["plans"]} == {_root(deals["id"], b["id"])}


def test_given_a_merge_that_dies_part_way_then_every_contract_it_moved_brought_its_records_along(api, deals, monkeypatch):
    from chalicelib.engine import merge
    from tests.integration.test_family import DELIVERY

    t = deals["tokens"]
    _ok(api.call("POST", "/v1/objects", deals["admin"], DELIVERY))
    keep, gone = _customer(api, t["rep1"], "宁德时代新能源"), _customer(api, t["rep1"], "宁德时代")
    drafts = [_ok(api.call("POST", "/v1/contracts", t["rep1"], {"name": f"草稿合同{i}", "customer": gone["id"], "amount": 3000}))["id"]
              for i in range(2)]
    shipped = {c: [_ok(api.call("POST", "/v1/objects/delivery/records", t["rep1"], {"title": f"第{i}批", "contract": c}))["id"]
                   for i in range(2)] for c in drafts}
    original = merge._write

    def dying(batch, *args):
        if any((m.record.entity, m.record.id) == ("CONTRACT", drafts[1]) for m in batch):
            raise ConnectionError("the merge's process died")
        return original(batch, *args)

    monkeypatch.setattr(merge, "_write", dying)
    died = api.call("POST", f"/v1/customers/{keep['id']}/merge", t["manager"], {
        "from_id": gone["id"], "version": keep["version"], "from_version": gone["version"]})
    assert died.status_code == 500, died.data
    assert _item(deals["id"], "contract", drafts[0])["gsi3pk"] == _root(deals["id"], keep["id"])
    assert {_family(deals["id"], "obj_delivery", i) for i in shipped[drafts[0]]} == {_root(deals["id"], keep["id"])}
    assert {_family(deals["id"], "obj_delivery", i) for i in shipped[drafts[1]]} == {_root(deals["id"], gone["id"])}  # with theirs


# ---- 4. per-process caches -----------------------------------------------------------------------------
def test_given_again_in_one_container_then_another_stops_trusting_the_index_within_the_authz_cache_time(api, deals):
    from chalicelib.core.settings import get_settings
    from chalicelib.engine import family

    assert family.ready(deals["id"]) is True
    elsewhere = dict(family._ready)  # another container's cache
    family.again(deals["id"])
    assert family.ready(deals["id"]) is False  # here at once
    family._ready.update(elsewhere)
    assert family.ready(deals["id"]) is True  # there, for a while
    clock.travel(get_settings().authz_cache_seconds + 1)
    assert family.ready(deals["id"]) is False


def test_given_a_back_fill_walking_when_again_resets_it_then_the_walk_does_not_overwrite_the_reset(api, deals, monkeypatch):
    from chalicelib.engine import family

    t = deals["tokens"]
    cust = _customer(api, t["rep1"])
    made = _contract(api, deals, cust["id"], plans=3)
    _forget_families(deals["id"])
    monkeypatch.setattr(family, "WALK_PAGE", 2)
    assert family.backfill(deals["id"], time_left=lambda: 0) is False
    walking = family.FamilyState.get(*family.FamilyState.key(deals["id"]), consistent_read=True)  # a job's view
    assert walking.checkpoint
    family.again(deals["id"])
    assert family._walk(deals["id"], walking, lambda: 0) is None  # its checkpoint write refused: superseded
    reset = family.FamilyState.get(*family.FamilyState.key(deals["id"]), consistent_read=True)
    assert reset.checkpoint == {} and reset.state == "running" and reset.generation == 1
    assert family.backfill(deals["id"]) is True
    family.forget()
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    fast = _fast(api, t["rep1"], cust["id"])
    assert _ids(fast, "payment_plan") == made["plans"]


def test_given_a_back_fill_this_process_asked_for_then_it_asks_again_after_a_while(api, deals):
    from chalicelib.engine import family

    t = deals["tokens"]
    cust = _customer(api, t["rep1"])
    _contract(api, deals, cust["id"])
    _forget_families(deals["id"])
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    (first,) = _jobs(api, t["rep1"], family.BACKFILL_KIND)
    _ok(api.call("POST", f"/v1/jobs/{first['id']}/cancel", t["rep1"]), 200)
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    assert len(_jobs(api, t["rep1"], family.BACKFILL_KIND)) == 1  # asked a moment ago
    clock.travel(family.NOT_READY_SECONDS + 1)
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    assert sorted(j["status"] for j in _jobs(api, t["rep1"], family.BACKFILL_KIND)) == ["cancelled", "queued"]
