"""The README's customer 360, run as written (bash + curl) against the local stack: the demo's
华为技术有限公司 with its contract's invoices (read only), then a draft contract of this run's own
customers moved from one to the other, and each customer's 360 as it then is."""
from __future__ import annotations

from .readme import run_block


def test_given_the_readme_customer_360_when_run_as_written_then_contracts_bring_their_records_and_moves_follow(stack):
    run = run_block(stack, "### The customer 360 on `make dev`", timeout=120)
    assert run.returncode == 0 and not run.stderr, run.stderr
    assert run.stdout.splitlines() == ["contact=2 contract=1 invoice=2", "2", "contract=0", "contract=1"], run.stdout
