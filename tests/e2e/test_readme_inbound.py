"""The README's inbound integrations walkthrough, run as written (bash + curl + openssl) against the local
stack: a tenant of its own makes a web-order channel, signs an order with openssl, posts it without a token,
signing its Idempotency-Key with the body, sends it again (answered, not written), reads the lead and the delivery
log; a wrong signature, and the captured request under a new key, get 401."""
from __future__ import annotations

from .readme import run_block


def test_given_the_readme_inbound_walkthrough_when_run_as_written_then_the_order_becomes_one_lead(stack):
    run = run_block(stack, "### Inbound integrations on `make dev`", timeout=120)
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == ["False ['created']", "True ['created']", "1 王小明 小明商贸", "1 succeeded 1 1", "401", "401"], \
        run.stdout

