"""The README's screen pop, run as written against the local stack: 赵敏 (客服, customers of her
department, mobiles masked) looks up 华为's number and finds 李娜's customer with the mobile masked;
张伟 (a rep, scope self) finds nothing. Read-only: the lookup changes nothing."""
from __future__ import annotations

from urllib.parse import urlencode

from .readme import bash_block, words

AGENT, OTHER_REP = "13800000008", "13800000005"


def _phone() -> str:
    args = words(bash_block("### Call-center screen pop (来电弹屏)"))
    lookup = args[args.index("$API/v1/screen-pop") - 3:]
    assert lookup[:3] == ["curl", "-s", "-G"]
    key, _, value = lookup[lookup.index("--data-urlencode") + 1].partition("=")
    assert key == "phone"
    return value


def test_given_the_readme_screen_pop_when_run_as_written_then_the_agent_sees_the_customer_masked(stack):
    url = f"{stack.url}/v1/screen-pop?{urlencode({'phone': _phone()})}"
    got = stack.http.get(url, headers={"Authorization": f"Bearer {stack.login(AGENT)}"}, timeout=30)
    assert got.status_code == 200, got.text
    data = got.json()
    assert data["number"] == "13912345678" and data["total"] == 1
    [item] = data["items"]
    assert (item["type"], item["title"], item["owner"]["name"], item["matched"], item["numbers"]) == (
        "customer", "华为技术有限公司", "李娜", ["mobile"], {"mobile": "139****5678", "phone": None})
    theirs = stack.http.get(url, headers={"Authorization": f"Bearer {stack.login(OTHER_REP)}"}, timeout=30).json()
    assert theirs == {"number": "13912345678", "items": [], "total": 0}
