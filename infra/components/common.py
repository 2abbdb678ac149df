"""What several parts of the stack share: the repository root, the Lambda runtime, Lambda roles, alarms."""
from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.components.nag import acknowledge_basic_execution

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Only the runtime's Python and architecture have matching wheels in the dependency
#: layer that ``chalice package`` builds (it builds for Chalice's default, x86_64).
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_11
ARCHITECTURE = lambda_.Architecture.X86_64


def lambda_role(scope: Construct, cid: str, description: str, *policies: iam.IManagedPolicy) -> iam.Role:
    """An execution role for a Lambda we build ourselves: its own logs, plus `policies`."""
    role = iam.Role(scope, cid, description=description, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole"),
                                      *policies])
    acknowledge_basic_execution(role)
    return role


def alarm(
    scope: Construct, cid: str, description: str, metric: cloudwatch.IMetric, threshold: int = 1,
    comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
) -> cloudwatch.Alarm:
    """An alarm when `metric` reaches `threshold` (or falls to it) within one period; no data is fine."""
    return cloudwatch.Alarm(
        scope, cid, alarm_description=description, metric=metric, threshold=threshold, evaluation_periods=1,
        comparison_operator=comparison, treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
