"""ARNs and endpoints follow the region's partition: amazonaws.com.cn and arn:aws-cn in China."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.core import auth
from chalicelib.core.partition import dns_suffix, endpoint_host, partition
from chalicelib.core.settings import environment
from chalicelib.ports import workflow

ASL_FILES = sorted((Path(__file__).resolve().parents[2] / "step_functions").glob("*.asl.json"))


@pytest.mark.parametrize(("region", "expected_partition", "expected_suffix"), [
    ("ap-southeast-1", "aws", "amazonaws.com"),
    ("us-east-1", "aws", "amazonaws.com"),
    ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
    ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
])
def test_given_region_when_partition_asked_then_partition_and_domain_match_it(region, expected_partition, expected_suffix):
    assert partition(region) == expected_partition
    assert dns_suffix(region) == expected_suffix


def test_given_china_region_when_endpoint_built_then_it_uses_the_china_domain():
    assert endpoint_host("cognito-idp", "cn-north-1") == "cognito-idp.cn-north-1.amazonaws.com.cn"


@pytest.mark.parametrize(("region", "url"), [
    ("ap-southeast-1", "https://cognito-idp.ap-southeast-1.amazonaws.com/ap-southeast-1_Pool/.well-known/jwks.json"),
    ("cn-northwest-1", "https://cognito-idp.cn-northwest-1.amazonaws.com.cn/ap-southeast-1_Pool/.well-known/jwks.json"),
])
def test_given_cognito_in_region_when_jwks_source_asked_then_the_url_is_on_the_regions_domain(region, url):
    with environment(CRM_IDENTITY_PROVIDER="cognito", CRM_REGION=region, CRM_COGNITO_USER_POOL_ID="ap-southeast-1_Pool",
                     CRM_JWKS_URL=None):
        assert auth.jwks_source() == url


def test_given_explicit_jwks_url_when_jwks_source_asked_then_it_wins():
    with environment(CRM_IDENTITY_PROVIDER="cognito", CRM_REGION="cn-north-1", CRM_JWKS_URL="https://idp.example/jwks.json"):
        assert auth.jwks_source() == "https://idp.example/jwks.json"


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_given_asl_file_when_read_then_its_arns_name_the_partition_by_placeholder_only(path):
    text = path.read_text(encoding="utf-8")

    assert "arn:aws:" not in text and "arn:aws-" not in text


@pytest.mark.parametrize(("region", "prefix"), [("ap-southeast-1", "arn:aws:states:::"), ("cn-north-1", "arn:aws-cn:states:::")])
def test_given_asl_file_when_filled_for_region_then_every_task_resource_is_in_its_partition(region, prefix):
    for path in ASL_FILES:
        filled = workflow.definition(path.read_text(encoding="utf-8"), region)
        states = json.loads(filled)["States"].values()

        assert "${" not in filled
        assert all(s["Resource"].startswith(prefix) for s in states if s["Type"] == "Task")


def test_given_china_region_when_local_state_machine_arn_built_then_it_is_in_the_china_partition():
    with environment(CRM_REGION="cn-north-1", CRM_APPROVAL_STATE_MACHINE_ARN=None):
        assert workflow.state_machine_arn().startswith("arn:aws-cn:states:cn-north-1:")
