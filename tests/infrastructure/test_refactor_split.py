"""infra/refactor_split.py: the templates that move a deployed one-stack stage's stateful resources into
``crm-<stage>-data`` by a CloudFormation stack refactoring (README, "Safe deploys")."""
from __future__ import annotations

import json

import pytest

from infra.components.naming import weak_output_name
from infra.refactor_split import main, split
from tests.infrastructure.conftest import references

ROLE_ARN = "arn:aws:iam::123456789012:role/crm-prod-ApiRole-ABC"
DEPLOYED = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Transform": "AWS::Serverless-2016-10-31",
    "Resources": {
        "TableCD117FA1": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "Properties": {"TableName": "crm-prod"}},
        "SearchDomainFDC494A0": {"Type": "AWS::OpenSearchService::Domain", "DependsOn": ["SearchLogs", "ApiRole1873F438"],
                                 "Properties": {"AccessPolicies": {"Statement": [
                                     {"Principal": {"AWS": {"Fn::GetAtt": ["ApiRole1873F438", "Arn"]}}}]}}},
        "SearchLogs": {"Type": "AWS::Logs::LogGroup"},
        "ApiRole1873F438": {"Type": "AWS::IAM::Role"},
        "IndexerFunction": {"Type": "AWS::Lambda::Function", "DependsOn": "TableCD117FA1", "Properties": {
            "Environment": {"Variables": {"CRM_TABLE_NAME": {"Ref": "TableCD117FA1"}}}}},
        "IndexerMapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
            "EventSourceArn": {"Fn::GetAtt": ["TableCD117FA1", "StreamArn"]}, "FunctionName": {"Ref": "IndexerFunction"}}},
    },
    "Outputs": {"TableName": {"Value": {"Ref": "TableCD117FA1"}}},
}
DATA = {"Resources": {"TableCD117FA1": {}, "SearchDomainFDC494A0": {}, "SearchLogs": {}, "BrandNew": {}}}


def test_given_a_deployed_stage_when_split_then_the_moved_resources_are_unchanged_and_read_by_weak_references():
    stage, data = split(DEPLOYED, DATA, stack_name="crm-prod", values={"ApiRole1873F438.Arn": ROLE_ARN})

    # moved as deployed (a refactoring changes nothing), except the one reference back, written out
    assert set(data["Resources"]) == {"TableCD117FA1", "SearchDomainFDC494A0", "SearchLogs"}  # not BrandNew: deploy creates it
    assert data["Resources"]["TableCD117FA1"] == DEPLOYED["Resources"]["TableCD117FA1"]
    domain = data["Resources"]["SearchDomainFDC494A0"]
    assert domain["Properties"]["AccessPolicies"]["Statement"][0]["Principal"]["AWS"] == ROLE_ARN
    assert domain["DependsOn"] == ["SearchLogs"]
    assert not [r for r in references(data) if r not in data["Resources"] and not r.startswith("AWS::")]
    # the rest reads them through the outputs the CDK would publish
    assert set(stage["Resources"]) == {"ApiRole1873F438", "IndexerFunction", "IndexerMapping"}
    assert "DependsOn" not in stage["Resources"]["IndexerFunction"] and stage["Transform"] == DEPLOYED["Transform"]
    stream = stage["Resources"]["IndexerMapping"]["Properties"]["EventSourceArn"]["Fn::GetStackOutput"]
    assert stream["StackName"] == "crm-prod-data"
    assert data["Outputs"][stream["OutputName"]] == {"Value": {"Fn::GetAtt": ["TableCD117FA1", "StreamArn"]}}
    assert stage["Outputs"]["TableName"]["Value"]["Fn::GetStackOutput"]["OutputName"] in data["Outputs"]


def test_given_a_region_when_split_then_the_references_name_it_as_a_template_synthesized_for_it_does():
    stage, _ = split(DEPLOYED, DATA, stack_name="crm-prod", values={"ApiRole1873F438.Arn": ROLE_ARN}, region="ap-east-1")

    assert stage["Outputs"]["TableName"]["Value"]["Fn::GetStackOutput"]["Region"] == "ap-east-1"


def test_given_a_value_the_operator_did_not_give_when_split_then_it_is_named():
    with pytest.raises(ValueError, match=r"ApiRole1873F438\.Arn"):
        split(DEPLOYED, DATA, stack_name="crm-prod", values={})


def test_given_the_cli_when_run_then_it_writes_both_templates(tmp_path, capsys):
    (tmp_path / "deployed.json").write_text(json.dumps(DEPLOYED))
    (tmp_path / "data.json").write_text(json.dumps(DATA))

    code = main([str(tmp_path / "deployed.json"), str(tmp_path / "data.json"), "--stack-name", "crm-prod",
                 "--value", f"ApiRole1873F438.Arn={ROLE_ARN}", "--out", str(tmp_path / "out")])

    assert code == 0
    assert json.loads((tmp_path / "out" / "crm-prod-data.json").read_text())["Resources"]
    assert json.loads((tmp_path / "out" / "crm-prod.json").read_text())["Resources"]


def test_given_the_synthesized_stage_when_its_references_are_named_then_they_match_the_cdks_names(
        stage_template_json, data_template_json):
    """The names the split gives the outputs are the CDK's: the deploy after the refactoring changes none."""
    text = json.dumps(stage_template_json)
    outputs = data_template_json["Outputs"]
    read = [name for name in outputs if f'"OutputName": "{name}"' in text]
    assert read
    for name in read:
        assert weak_output_name(outputs[name]["Value"]) == name
