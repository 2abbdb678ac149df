"""The README's duplicate check, run as written against the local stack: 李娜's own 华为技术有限公司
matches by name and mobile (a block she can see); 张伟, who may not see it, is blocked all the same
but is shown nothing. Read-only: the demo company stays as it is."""
from __future__ import annotations

from .readme import bash_block, words

REP, OTHER_REP = "13800000004", "13800000005"


def _body() -> str:
    args = words(bash_block("Against `make dev` (read-only, changes nothing)"))
    assert args[:4] == ["curl", "-s", "-X", "POST"] and args[4] == "$API/v1/duplicates/check"
    return args[args.index("-d") + 1]


def test_given_the_readme_check_when_run_as_written_then_the_rep_sees_her_customer_and_a_colleague_is_blocked_blind(stack):
    body = _body()
    headers = {"Content-Type": "application/json"}
    mine = stack.http.post(stack.url + "/v1/duplicates/check", data=body.encode(),
                           headers={**headers, "Authorization": f"Bearer {stack.login(REP)}"}, timeout=30)
    assert mine.status_code == 200, mine.text
    got = mine.json()
    assert got["blocked"] is True and [b["field"] for b in got["blocking"]] == ["name", "mobile"]
    assert [(m["title"], m["action"]) for m in got["matches"]] == [("华为技术有限公司", "block")]
    theirs = stack.http.post(stack.url + "/v1/duplicates/check", data=body.encode(),
                             headers={**headers, "Authorization": f"Bearer {stack.login(OTHER_REP)}"}, timeout=30).json()
    assert theirs == {"blocked": True, "blocking": got["blocking"], "matches": [], "total": 0}
