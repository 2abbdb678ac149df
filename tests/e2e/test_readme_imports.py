"""The README's import walkthrough, run as written (bash + curl) against the local stack: the
template, the upload by presigned PUT to the local moto server, the suggested mapping, the dry
run's rejected rows, the import as a background job (the bus driver runs functions/jobs.py) and
the rejected rows as a file. 孙丽 (sales manager: the built-in role imports) adds one customer named with this
run's number, in her rep 李娜's name, to the demo company; a row in 王芳's name (another team) is refused."""
from __future__ import annotations

import re
import subprocess

from .readme import ROOT, bash_block


def test_given_the_readme_import_when_run_as_written_then_one_row_is_imported_and_two_are_explained(stack):
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("### Import (导入)"), count=1, flags=re.M)
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0 and not run.stderr, run.stderr
    out = run.stdout.splitlines()
    assert out[0] == "*客户名称"  # 1. the template's first column, required
    assert out[1] == "200"  # 2. the PUT to the presigned URL
    assert out[2] == "{客户名称: name, 手机: mobile, 负责人: owner_id}"  # 3. the mapping
    assert out[3] == "succeeded"  # 4. the dry run…
    assert out[4].startswith("3 客户名称 ") and "必填" in out[4]  # …row 3 has no name
    assert out[5].startswith("4 负责人 ")  # …row 4 is in a colleague's name
    assert out[6] == "succeeded"  # 5. the import
    assert out[7] == "{total: 3, done: 3, errors: 2}"
    assert out[8] == "客户名称,手机,负责人,错误原因"  # 6. the rejected rows' file
    lina = stack.login("13800000004")

    def imported() -> list[dict] | None:
        found = stack.call("GET", "/v1/customers?q=导入示例&limit=50", lina).json()["items"]
        return [c for c in found if c["name"].startswith("导入示例")] or None

    assert stack.eventually(imported, timeout=10, every=0.2), "the imported customer is not listed"
