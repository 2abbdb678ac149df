"""The two templates of the CloudFormation stack refactoring that moves a deployed one-stack stage's stateful
resources into ``crm-<stage>-data`` (README, "Safe deploys": moving a deployed one-stack stage).

A stack refactoring moves resources and changes nothing else, so both templates are cut from the template
deployed today, not from this release's synthesis:

- ``crm-<stage>-data``: the deployed resources whose logical IDs are in this release's data template, as they are
  deployed, plus an output for every value of theirs the rest reads. Where one of them reads a resource that
  stays (the search domain's access policy names the functions' roles), the value is written out literally: the
  operator looks it up (``--value ApiRole1873F438.Arn=arn:…``; the script lists what it needs);
- ``crm-<stage>``: every other resource, reading the moved ones with ``Fn::GetStackOutput`` of outputs named as
  the CDK names them, so the ``cdk deploy`` that follows changes no output (and no export locks anything).

Usage (from the repository root, after ``make synth`` of this release for the stage)::

    aws cloudformation get-template --stack-name crm-prod --template-stage Original \\
        --query TemplateBody --output json > deployed.json
    .venv/bin/python -m infra.refactor_split deployed.json infra/cdk.out/prod-data.template.json \\
        --stack-name crm-prod --value ApiRole1873F438.Arn=arn:aws:iam::…:role/… … --out refactor/
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

from infra.components.naming import weak_output_name, weak_reference

DATA_SUFFIX = "-data"


def _target(value: dict[str, Any]) -> tuple[str, str | None] | None:
    """``(logical id, attribute)`` of a ``Ref`` / ``Fn::GetAtt`` (attribute None for a ``Ref``)."""
    if isinstance(value.get("Ref"), str) and len(value) == 1:
        return value["Ref"], None
    if "Fn::GetAtt" in value and len(value) == 1:
        resource, attribute = value["Fn::GetAtt"]
        return resource, attribute
    return None


def _rewrite(value: Any, replace: Any) -> Any:
    """`value` with each reference ``replace`` answers for replaced (``replace(reference) -> new | None``)."""
    if isinstance(value, list):
        return [_rewrite(item, replace) for item in value]
    if not isinstance(value, dict):
        return value
    if _target(value) is not None:
        new = replace(value)
        if new is not None:
            return new
    return {key: _rewrite(item, replace) for key, item in value.items()}


def _sub_names(value: Any) -> set[str]:
    """Logical IDs named inside ``Fn::Sub`` strings (``${Id}``, ``${Id.Attribute}``) anywhere in `value`."""
    if isinstance(value, list):
        return {name for item in value for name in _sub_names(item)}
    if not isinstance(value, dict):
        return set()
    names = set()
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        names = {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text) if not m.startswith("AWS::")}
    return names | {name for item in value.values() for name in _sub_names(item)}


def split(deployed: dict[str, Any], data_template: dict[str, Any], *, stack_name: str,
          values: dict[str, str], region: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(stage template, data template)`` for the refactoring; `values` are the literal values
    (``"<logical id>.<attribute>"`` or ``"<logical id>"`` for a ``Ref``) of what the moved resources read
    from the resources that stay. Raises ``ValueError`` listing the values it lacks."""
    data_name = stack_name + DATA_SUFFIX
    resources = deployed["Resources"]
    moved = sorted(set(data_template["Resources"]) & set(resources))
    if not moved:
        raise ValueError("no resource of the data template is in the deployed template: wrong stage or release?")
    moved_set = set(moved)
    crossing = {k: names for k in resources if (names := _sub_names(resources[k]) & (
        set(resources) - moved_set if k in moved_set else moved_set))}
    if crossing:
        raise ValueError(f"Fn::Sub strings name resources across the split (write them as Fn::Join first): {crossing}")

    missing: set[str] = set()

    def literal(reference: dict[str, Any]) -> Any:
        resource, attribute = _target(reference)
        if resource in moved_set or resource.startswith("AWS::") or resource not in resources:
            return None
        key = resource if attribute is None else f"{resource}.{attribute}"
        if key not in values:
            missing.add(key)
            return reference
        return values[key]

    data_resources = {k: _rewrite(copy.deepcopy(resources[k]), literal) for k in moved}
    if missing:
        raise ValueError("the moved resources read these values of resources that stay; look them up and pass "
                         f"--value KEY=VALUE for each: {sorted(missing)}")
    for resource in data_resources.values():
        depends = resource.get("DependsOn")
        if depends:
            kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d in moved_set]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]

    outputs: dict[str, Any] = {}

    def published(reference: dict[str, Any]) -> Any:
        resource, _ = _target(reference)
        if resource not in moved_set:
            return None
        outputs[weak_output_name(reference)] = {"Value": reference}
        return weak_reference(data_name, reference, region)

    stage = copy.deepcopy(deployed)
    stage["Resources"] = {k: _rewrite(v, published) for k, v in resources.items() if k not in moved_set}
    if "Outputs" in stage:
        stage["Outputs"] = _rewrite(stage["Outputs"], published)
    for resource in stage["Resources"].values():
        depends = resource.get("DependsOn")
        if depends:
            kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in moved_set]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]

    data = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": data_template.get("Description", f"{data_name}: the stateful resources"),
        "Resources": data_resources,
        "Outputs": dict(sorted(outputs.items())),
    }
    return stage, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("deployed", type=Path, help="the deployed stack's template (get-template --template-stage Original)")
    parser.add_argument("data_template", type=Path, help="this release's <stage>-data.template.json")
    parser.add_argument("--stack-name", required=True, help="the deployed stack, crm-<stage>")
    parser.add_argument("--value", action="append", default=[], metavar="ID.ATTRIBUTE=VALUE",
                        help="a literal value the moved resources read from a resource that stays (repeatable)")
    parser.add_argument("--region", help="the region as this release's templates name it, when synthesized for one "
                                          "(CDK_DEFAULT_REGION, set by the CDK CLI); default: AWS::Region")
    parser.add_argument("--out", type=Path, default=Path("refactor"))
    args = parser.parse_args(argv)
    values = dict(item.split("=", 1) for item in args.value)
    try:
        stage, data = split(json.loads(args.deployed.read_text()), json.loads(args.data_template.read_text()),
                            stack_name=args.stack_name, values=values, region=args.region)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name, template in ((args.stack_name, stage), (args.stack_name + DATA_SUFFIX, data)):
        path = args.out / f"{name}.json"
        path.write_text(json.dumps(template, separators=(",", ":")), encoding="utf-8")
        print(f"{path}: {len(template['Resources'])} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
