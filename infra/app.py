"""Entry point of the CDK app: synthesizes the three CRM stacks of one stage (its data, the rest, its monitoring).

Run from the repository root (no AWS account is needed; dummy credentials are fine)::

    AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=ap-southeast-1 \\
        .venv/bin/python infra/app.py [-c stage=dev]

or through the CDK CLI from ``infra/`` (``cdk synth -c stage=prod``), which reads
``infra/cdk.json``. The stage comes from the ``stage`` context value (default ``dev``).
The cloud assembly is written to ``$CDK_OUTDIR`` when set (the CLI sets it), otherwise
to ``infra/cdk.out``; the templates are ``<outdir>/<stage>-data.template.json`` (``crm-<stage>-data``: the
stateful resources, ``infra/data_stack.py``), ``<outdir>/<stage>.template.json`` (``crm-<stage>``: the API,
functions, workflows, events and the rollback alarms, ``infra/stack.py``) and ``<outdir>/<stage>-monitoring.template.json``
(``crm-<stage>-monitoring``: the dashboard and the other alarms, ``infra/monitoring_stack.py``).

The AwsSolutions cdk-nag pack runs on every synth. Its unsuppressed errors (and any other
error annotation) make this script exit with status 1, so CI fails on them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import aws_cdk as cdk  # noqa: E402
from aws_cdk import cx_api  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.data_stack import CrmDataStack  # noqa: E402
from infra.stack import CrmStack  # noqa: E402

DEFAULT_STAGE = "dev"
DEFAULT_OUTDIR = REPO_ROOT / "infra" / "cdk.out"
CDK_JSON = REPO_ROOT / "infra" / "cdk.json"
#: Region used while packaging when none is configured; Settings' default region too.
FALLBACK_REGION = "ap-southeast-1"


def _parse_context(argv: list[str]) -> dict[str, str]:
    """``-c key=value`` pairs, as the CDK CLI accepts them."""
    parser = argparse.ArgumentParser(description="Synthesize the CRM CDK app.")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE",
                        help="context value, e.g. -c stage=prod (repeatable)")
    args = parser.parse_args(argv)
    context = {}
    for item in args.context:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"context must be KEY=VALUE, got {item!r}")
        context[key] = value
    return context


def project_context() -> dict[str, Any]:
    """The ``context`` block of ``infra/cdk.json`` (feature flags).

    The CDK CLI passes it to the app itself; reading it here too gives a direct
    ``python infra/app.py`` run the same flags.
    """
    return json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    """The CDK app with the stage's stack and the cdk-nag checks attached.

    ``context`` (e.g. ``{"stage": "prod"}``) is applied over ``infra/cdk.json``'s.
    """
    app = cdk.App(
        context={**project_context(), **(context or {})},
        outdir=outdir or os.environ.get("CDK_OUTDIR") or str(DEFAULT_OUTDIR),
    )
    stage = app.node.try_get_context("stage") or DEFAULT_STAGE
    env = cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
        region=os.environ.get("CDK_DEFAULT_REGION"),
    )
    # three stacks: the data (crm-<stage>-data) deploys first, the stage's stack (crm-<stage>) reads it, and the
    # monitoring (crm-<stage>-monitoring: dashboard, alarms no deployment group names; CrmStack builds it) reads the
    # stage's, last
    data = CrmDataStack(app, stage, env=env)
    CrmStack(app, stage, data=data, env=env)
    cdk.Tags.of(app).add("project", "crm")
    cdk.Tags.of(app).add("stage", stage)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app


def report_errors(assembly: cx_api.CloudAssembly) -> int:
    """Print every error annotation of the synthesized stacks; return how many there were."""
    errors = 0
    for stack in assembly.stacks:
        for message in stack.messages:
            if message.level == cx_api.SynthesisMessageLevel.ERROR:
                errors += 1
                print(f"[error] {message.id}: {message.entry.data}", file=sys.stderr)
    return errors


def main(argv: list[str] | None = None) -> int:
    context = _parse_context(sys.argv[1:] if argv is None else argv)
    # chalice package creates boto3 clients and needs a region, though it calls no AWS API.
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("CDK_DEFAULT_REGION", FALLBACK_REGION))
    app = build_app(context)
    try:
        assembly = app.synth()
    except RuntimeError as exc:  # jsii surfaces policy-validation (cdk-nag) failures this way
        if "ValidationFailed" not in str(exc):
            raise
        print(f"synthesis failed validation (findings above): {exc}", file=sys.stderr)
        return 1
    errors = report_errors(assembly)
    for stack in assembly.stacks:
        print(f"synthesized {stack.stack_name}: {Path(assembly.directory) / stack.template_file}")
    if errors:
        print(f"{errors} error(s) in the synthesized app", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
