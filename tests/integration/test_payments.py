"""Payment plans and payments (回款, SALES-11) through the API, approvals on real Step Functions
executions: the contract's reserved / received / outstanding amounts always agree with its payments,
no payment passes the contract amount — also 20 at once — unless over-payment is allowed and
recorded, and a plan's status follows its payments and its due date."""
from __future__ import annotations

import itertools
import threading

_n = itertools.count(1)


def _flows(api, team) -> None:
    for business in ("contract", "payment"):
        r = api.call("POST", "/v1/approval-flows", team["admin"], {
            "name": f"{business}审批", "business_type": business, "enabled": True,
            "nodes": [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]})
        assert r.status_code == 201, r.data


def _approved_contract(api, team, amount: float = 10000, **fields) -> dict:
    t = team["tokens"]
    customer = api.call("POST", "/v1/customers", t["rep1"], {"name": f"回款客户{next(_n)}"}).data
    c = api.call("POST", "/v1/contracts", t["rep1"], {"name": f"回款合同{next(_n)}", "customer": customer["id"], "amount": amount,
                                                     **fields}).data
    iid = api.call("POST", f"/v1/contracts/{c['id']}/submit", t["rep1"], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}).status_code == 200
    return api.call("GET", f"/v1/contracts/{c['id']}", t["rep1"]).data


def _payment(api, token: str, contract_id: str, amount: float, status: int = 201, **fields) -> dict:
    r = api.call("POST", "/v1/payments", token, {"contract": contract_id, "amount": amount, "paid_on": "2026-12-01",
                                                "method": "bank", **fields})
    assert r.status_code == status, r.data
    return r.data


def _figures(api, token: str, contract_id: str) -> tuple:
    c = api.call("GET", f"/v1/contracts/{contract_id}", token).data
    return c.get("reserved_amount"), c.get("received_amount"), c.get("outstanding_amount")


def test_given_payments_when_recorded_approved_rejected_and_deleted_then_the_contract_figures_follow(api, sales_team):
    t = sales_team["tokens"]
    _flows(api, sales_team)
    draft = api.call("POST", "/v1/contracts", t["rep1"], {"name": "未审合同", "customer": api.call(
        "POST", "/v1/customers", t["rep1"], {"name": f"回款客户{next(_n)}"}).data["id"], "amount": 100}).data
    refused = _payment(api, t["rep1"], draft["id"], 10, status=422)  # not approved yet
    assert refused["details"][0]["field"] == "contract"
    c = _approved_contract(api, sales_team)
    assert _figures(api, t["rep1"], c["id"]) == (None, None, 10000)
    first = _payment(api, t["rep1"], c["id"], 4000)
    assert first["number"].startswith("HK") and first["approval_status"] == "none"
    second = _payment(api, t["rep1"], c["id"], 3000)
    assert _figures(api, t["rep1"], c["id"]) == (7000, 0, 10000)
    over = _payment(api, t["rep1"], c["id"], 3000.01, status=422)
    assert over["code"] == "PAYMENT_OVER_CONTRACT" and "3000" in over["message"]

    iid = api.call("POST", f"/v1/payments/{first['id']}/submit", t["rep1"], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}).status_code == 200
    assert _figures(api, t["rep1"], c["id"]) == (7000, 4000, 6000)
    iid = api.call("POST", f"/v1/payments/{second['id']}/submit", t["rep1"], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/reject", t["manager"], {"comment": "金额不符"}).status_code == 200
    assert _figures(api, t["rep1"], c["id"]) == (4000, 4000, 6000)  # a rejected payment reserves nothing
    third = _payment(api, t["rep1"], c["id"], 6000)  # room again
    r = api.call("DELETE", f"/v1/payments/{third['id']}", t["manager"], headers={"If-Match": f'"{third["version"]}"'})
    assert r.status_code == 204, r.data
    assert _figures(api, t["rep1"], c["id"]) == (4000, 4000, 6000)
    approved = api.call("GET", f"/v1/payments/{first['id']}", t["rep1"]).data
    edit = api.call("PATCH", f"/v1/payments/{first['id']}", t["rep1"], {"amount": 1, "version": approved["version"]})
    assert edit.status_code == 422  # an approved payment does not change
    log = [e["action"] for e in api.call("GET", f"/v1/records/contract/{c['id']}/logs", t["rep1"]).data["items"]]
    assert "payment_approved" in log and "payment_rejected" in log


def test_given_twenty_payments_at_once_when_recorded_then_the_contract_never_receives_more_than_contracted(api, sales_team):
    from chalicelib.core import context
    from chalicelib.core.errors import DomainError
    from chalicelib.engine import service as engine
    from chalicelib.payments.entity import PAYMENT

    _flows(api, sales_team)
    c = _approved_contract(api, sales_team, amount=10000)
    results: list[object] = []
    barrier = threading.Barrier(20)

    def pay() -> None:
        with context.acting_as(context.RequestContext(tenant_id=sales_team["id"], user_id=sales_team["rep1"])):
            barrier.wait()
            try:
                results.append(engine.create(PAYMENT, {"contract": c["id"], "amount": 1000, "paid_on": "2026-12-01"}, None)["id"])
            except DomainError as e:
                results.append(e.code)

    threads = [threading.Thread(target=pay) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    made = [r for r in results if isinstance(r, str) and len(r) == 26]
    refused = [r for r in results if r not in made]
    assert 1 <= len(made) <= 10 and set(refused) <= {"PAYMENT_OVER_CONTRACT", "CONFLICT"}, results
    reserved, _received, _outstanding = _figures(api, sales_team["tokens"]["rep1"], c["id"])
    assert reserved == 1000 * len(made)  # the contract's figure is exactly its payments
    listed = api.call("GET", f"/v1/contracts/{c['id']}/related", sales_team["tokens"]["rep1"]).data["related"]["payment"]
    assert sorted(p["id"] for p in listed) == sorted(made)


def test_given_a_contract_that_allows_over_payment_when_paid_beyond_then_the_excess_is_recorded(api, sales_team):
    t = sales_team["tokens"]
    _flows(api, sales_team)
    c = _approved_contract(api, sales_team, amount=1000, allow_overpayment=True)
    _payment(api, t["rep1"], c["id"], 800)
    p = _payment(api, t["rep1"], c["id"], 500)
    assert p["overpayment"] == 300
    assert _figures(api, t["rep1"], c["id"])[0] == 1300


def test_given_a_payment_plan_when_paid_in_part_in_full_or_late_then_its_status_follows(api, sales_team):
    from chalicelib.core import clock
    from devstack.drivers import ScheduleDriver

    t = sales_team["tokens"]
    _flows(api, sales_team)
    c = _approved_contract(api, sales_team, amount=9000)
    today = clock.now().date()
    plans = []
    for i, amount in enumerate((3000, 6000)):
        r = api.call("POST", "/v1/payment-plans", t["rep1"], {"title": f"第{i + 1}期", "contract": c["id"], "amount": amount,
                                                             "due_date": today.fromordinal(today.toordinal() + 10 * (i + 1)).isoformat()})
        assert r.status_code == 201, r.data
        assert r.data["status"] == "pending"
        plans.append(r.data)
    pay = _payment(api, t["rep1"], c["id"], 1000, plan=plans[0]["id"])
    iid = api.call("POST", f"/v1/payments/{pay['id']}/submit", t["rep1"], {}).data["approval_id"]
    api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {})
    first = api.call("GET", f"/v1/payment-plans/{plans[0]['id']}", t["rep1"]).data
    assert (first["received_amount"], first["status"]) == (1000, "partial")
    other = api.call("POST", "/v1/payments", t["rep1"], {"contract": c["id"], "plan": "nope", "amount": 1, "paid_on": "2026-12-01"})
    assert other.status_code == 422
    clock.travel(12 * 86400)  # the first plan's due date passed: its timer marks it overdue on the day after
    api.pump()
    ScheduleDriver().run_once()
    first = api.call("GET", f"/v1/payment-plans/{plans[0]['id']}", t["rep1"]).data
    second = api.call("GET", f"/v1/payment-plans/{plans[1]['id']}", t["rep1"]).data
    assert (first["status"], second["status"]) == ("overdue", "pending")
    inbox = [n for n in api.call("GET", "/v1/notifications", t["rep1"]).data["items"] if n["kind"] == "record_due"]
    assert {n["link"]["id"] for n in inbox} >= {plans[0]["id"]}  # reminded 3 days before it was due
