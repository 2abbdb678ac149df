"""The README's customer-lifecycle walkthrough, run as written (bash + curl) against the local
stack, whose demo customers are recycled by their schedules 20 s after start: the duplicate warning,
the conversion, the follow-up's reminder, the recycled customers, the daily claim cap, the
manager's 360 view."""
from __future__ import annotations

import re
import subprocess

from .readme import ROOT, bash_block

LINA = "13800000004"


def _block() -> str:
    return bash_block("### A customer's life, tried on `make dev`")


def _recycled(stack, token: str) -> list[dict] | None:
    pools = stack.call("GET", "/v1/pools", token).json()["items"]
    items = stack.call("GET", f"/v1/pools/{pools[0]['id']}/customers", token).json()["items"]
    return items if len(items) >= 3 else None


def test_given_the_readme_walkthrough_when_run_as_written_then_a_new_team_sees_the_whole_lifecycle(stack):
    lina = stack.login(LINA)
    assert stack.eventually(lambda: _recycled(stack, lina), timeout=90, every=0.5), "the demo customers were not recycled"
    script = re.sub(r"^API=\S+", f"API={stack.url}", _block(), count=1, flags=re.M)
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0 and not run.stderr, run.stderr
    out = run.stdout.splitlines()
    assert out[0] == "上海ACME贸易有限公司"  # 1. the warning names her customer
    customer_id = out[1]  # 3. the follow-up is about the converted customer
    assert re.fullmatch(r"[0-9A-Z]{26}", customer_id), out
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", out[2]), out  # 4. 宁波 enters the pool within the week…
    assert out[3] == "30 天未跟进，自动回收"  # …and three were recycled by their schedules, with the reason
    assert out[4].split() == ["200", "200", "422"]  # 5. the daily cap stops the third claim
    assert out[5] == "钱总"  # 6. the manager's 360 view shows the converted lead's contact

    def reminded() -> list[dict] | None:
        inbox = stack.call("GET", "/v1/notifications?limit=20", lina).json()["items"]
        return [n for n in inbox if n["kind"] == "record_due" and n["link"]["entity"] == "followup"] or None

    assert stack.eventually(reminded, timeout=40, every=0.5), "the next-contact reminder never arrived"
    related = stack.call("GET", f"/v1/customers/{customer_id}/related", stack.login("13800000003")).json()["related"]
    assert [f["content"] for f in related["followup"]] == ["电话沟通需求，约下周演示"]
