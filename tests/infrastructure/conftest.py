"""Synthesize the CDK app once per test session and share the result.

The app has three stacks per stage: ``crm-<stage>-data`` (``<stage>-data.template.json``, the stateful
resources), ``crm-<stage>`` (``<stage>.template.json``, the rest), which refers to the data stack's
resources through cross-stack references, and ``crm-<stage>-monitoring`` (``<stage>-monitoring.template.json``,
the dashboard and the alarms no deployment group names), which refers to both. ``template_json`` is the stage seen
whole: the three stacks' resources, with each cross-stack reference replaced by the value the other stack
publishes (``{"Ref": "TableCD117FA1"}`` where the stage stack has ``Fn::GetStackOutput``), so a test reads
the resources and their wiring as when the stage was one stack. Which template holds what is tested on
``stage_template_json``, ``data_template_json`` and ``monitoring_template_json``
(tests/infrastructure/test_safe_deploys.py, test_headroom.py).

Synthesis runs ``infra/app.py`` in a child process, exactly as ``make synth`` does:
``chalice package`` imports ``app.py`` with the stage's (token-valued) environment and
keeps it in ``sys.modules``, which must not leak into the rest of the test session.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGE = "dev"
SYNTH_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Synthesis:
    """The outcome of one ``infra/app.py`` run."""

    outdir: Path
    returncode: int
    output: str
    seconds: float

    @property
    def template_path(self) -> Path:
        """The stage stack's template (``crm-<stage>``)."""
        return self.outdir / f"{STAGE}.template.json"

    @property
    def data_template_path(self) -> Path:
        """The data stack's template (``crm-<stage>-data``)."""
        return self.outdir / f"{STAGE}-data.template.json"

    @property
    def monitoring_template_path(self) -> Path:
        """The monitoring stack's template (``crm-<stage>-monitoring``)."""
        return self.outdir / f"{STAGE}-monitoring.template.json"

    @property
    def template_paths(self) -> tuple[Path, Path, Path]:
        return self.data_template_path, self.template_path, self.monitoring_template_path

    def template(self) -> dict[str, Any]:
        return json.loads(self.template_path.read_text(encoding="utf-8"))

    def data_template(self) -> dict[str, Any]:
        return json.loads(self.data_template_path.read_text(encoding="utf-8"))

    def monitoring_template(self) -> dict[str, Any]:
        return json.loads(self.monitoring_template_path.read_text(encoding="utf-8"))

    def whole(self) -> dict[str, Any]:
        """The three stacks seen as one (``whole_stage``)."""
        return whole_stage(self.template(), self.data_template(), self.monitoring_template())


def resolve_cross_stack(value: Any, outputs: dict[str, Any], by_stack: dict[str, dict[str, Any]] | None = None) -> Any:
    """`value` with every ``Fn::GetStackOutput`` / ``Fn::ImportValue`` of another stack replaced by the value of
    the output it reads (``outputs``: the data template's ``Outputs``; ``by_stack``: stack name -> its ``Outputs``, for
    references to more than one stack)."""
    if isinstance(value, list):
        return [resolve_cross_stack(item, outputs, by_stack) for item in value]
    if isinstance(value, dict):
        if "Fn::GetStackOutput" in value:
            read = value["Fn::GetStackOutput"]
            source = (by_stack or {}).get(read.get("StackName"), outputs)
            return source[read["OutputName"]]["Value"]
        if "Fn::ImportValue" in value:
            return next(o["Value"] for o in outputs.values() if o.get("Export", {}).get("Name") == value["Fn::ImportValue"])
        return {key: resolve_cross_stack(item, outputs, by_stack) for key, item in value.items()}
    return value


def whole_stage(stage: dict[str, Any], data: dict[str, Any], monitoring: dict[str, Any] | None = None) -> dict[str, Any]:
    """One template of the stage's stacks: the stage stack (and the monitoring stack, when given) with their
    references to the other stacks resolved, plus the data stack's resources (logical IDs are unique across them:
    they were one stack). The outputs are the stage stack's."""
    outputs = data.get("Outputs", {})
    whole = resolve_cross_stack(stage, outputs)
    duplicated = set(whole["Resources"]) & set(data["Resources"])
    assert not duplicated, f"logical IDs in both stacks: {sorted(duplicated)}"
    whole["Resources"] = {**data["Resources"], **whole["Resources"]}
    if monitoring is not None:
        # the monitoring stack reads the stage's stack (crm-<stage>) and the data stack (crm-<stage>-data)
        by_stack = {f"crm-{STAGE}": whole.get("Outputs", {}), f"crm-{STAGE}-data": outputs}
        resolved = resolve_cross_stack(monitoring, outputs, by_stack)
        duplicated = set(whole["Resources"]) & set(resolved["Resources"])
        assert not duplicated, f"logical IDs in the monitoring stack and another: {sorted(duplicated)}"
        whole["Resources"] = {**whole["Resources"], **resolved["Resources"]}
    return whole


def _synth_environment(outdir: Path) -> dict[str, str]:
    """The environment of ``make synth``: dummy credentials, no application settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CRM_", "POWERTOOLS_", "AWS_", "CDK_"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    })
    return env


def synthesize(outdir: Path, region: str = "ap-southeast-1") -> Synthesis:
    """``infra/app.py -c stage=dev`` for `region` into `outdir`; fails the test when no template came out."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra" / "app.py"), "-c", f"stage={STAGE}"],
        cwd=REPO_ROOT,
        env={**_synth_environment(outdir), "AWS_DEFAULT_REGION": region},
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )
    result = Synthesis(outdir=outdir, returncode=proc.returncode, output=proc.stdout + proc.stderr,
                       seconds=time.monotonic() - started)
    if not all(path.exists() for path in result.template_paths):
        pytest.fail(f"synthesis for {region} produced no template (exit {proc.returncode}):\n{result.output[-6000:]}")
    return result


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """``infra/app.py -c stage=dev`` into a temporary cloud assembly directory."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def stage_template_json(synthesis: Synthesis) -> dict[str, Any]:
    """The stage stack's template (``crm-<stage>``) as plain JSON."""
    return synthesis.template()


@pytest.fixture(scope="session")
def data_template_json(synthesis: Synthesis) -> dict[str, Any]:
    """The data stack's template (``crm-<stage>-data``) as plain JSON."""
    return synthesis.data_template()


@pytest.fixture(scope="session")
def monitoring_template_json(synthesis: Synthesis) -> dict[str, Any]:
    """The monitoring stack's template (``crm-<stage>-monitoring``) as plain JSON."""
    return synthesis.monitoring_template()


@pytest.fixture(scope="session")
def template_json(stage_template_json: dict[str, Any], data_template_json: dict[str, Any],
                  monitoring_template_json: dict[str, Any]) -> dict[str, Any]:
    """The stage seen whole (the three stacks, cross-stack references resolved; see the module's docstring)."""
    return whole_stage(stage_template_json, data_template_json, monitoring_template_json)


@pytest.fixture(scope="session")
def template(template_json: dict[str, Any]):
    """The synthesized template wrapped for ``aws_cdk.assertions``."""
    from aws_cdk.assertions import Template

    return Template.from_json(template_json)


def invokes(template_json: dict[str, Any], target: Any, function_id: str) -> bool:
    """Whether `target` (an event source mapping's ``FunctionName``, a rule target's ``Arn``) is the function
    `function_id` or one of its aliases (every trigger invokes the alias ``live``, infra/components/deploys.py)."""
    if target in ({"Ref": function_id}, {"Fn::GetAtt": [function_id, "Arn"]}):
        return True
    aliases = [template_json["Resources"].get(ref, {}) for ref in references(target)]
    return any(a.get("Type") == "AWS::Lambda::Alias" and a["Properties"]["FunctionName"] == {"Ref": function_id}
               for a in aliases)


def references(value: Any) -> list[str]:
    """The logical IDs `value` refers to (``Ref``, ``Fn::GetAtt``), however deep: an event source mapping names
    an alias as ``Fn::Join`` of the ``Fn::Select`` of its ``Ref`` and ``:live``."""
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    if not isinstance(value, dict):
        return []
    if isinstance(value.get("Ref"), str):
        return [value["Ref"]]
    if "Fn::GetAtt" in value:
        return [value["Fn::GetAtt"][0]]
    return [ref for item in value.values() for ref in references(item)]
