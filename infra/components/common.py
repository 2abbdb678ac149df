"""What several parts of the stack share: the repository root, the Lambda runtime, Lambda roles, alarms."""
from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.components.nag import acknowledge_basic_execution

REPO_ROOT = Path(__file__).resolve().parents[2]

#: The runtime and architecture of every Lambda of the stack: the API (``chalice package`` builds
#: its SAM function and the dependency layer's wheels for them, ``components/api.py``), the
#: registry's functions, the custom resources. Changing them here rebuilds the layer for the new
#: target (CPython ABI and manylinux machine) and recompiles the shipped bytecode with that Python.
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64


def runtime_version() -> tuple[int, int]:
    """``python3.12`` -> ``(3, 12)``: the Python the packages are built and compiled for."""
    major, minor = PYTHON_RUNTIME.name.removeprefix("python").split(".")
    return int(major), int(minor)


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
