"""The README's webhooks walkthrough, run as written (bash + curl + the Python receiver it shows) against
the local stack: a tenant of its own registers a loopback receiver, a new customer arrives signed, the
receiver's own check verifies it, and the delivery log shows one successful attempt."""
from __future__ import annotations

from .readme import run_block


def test_given_the_readme_webhooks_walkthrough_when_run_as_written_then_the_customer_arrives_signed(stack):
    run = run_block(stack, "### Webhooks on `make dev`", timeout=120)
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == ["customers.customer.created verified", "succeeded 1 204"], run.stdout

