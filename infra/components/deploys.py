"""Safe deploys: every Lambda runs through its alias ``live``, and CodeDeploy moves the alias.

- The API function: SAM's ``AutoPublishAlias: live`` (which SnapStart needs anyway, ``components/api.py``)
  plus a ``DeploymentPreference``: SAM creates the CodeDeploy application and deployment group and shifts
  traffic from the old version to the new one, rolling back when the API's 5XX or latency alarm fires.
- Each registry function: a version published from its configuration (``current_version``), the alias
  ``live`` on it (with the asynchronous-invocation settings, which are per qualifier), and a CodeDeploy
  ``LambdaDeploymentGroup`` that moves the alias, rolling back when the function's errors alarm fires.
- Every invoke path names the alias (``components/functions.py``): the stream and queue event-source
  mappings, the bus rule targets, the scheduler role's permission and ``CRM_REMINDER_TARGET_ARN``.

Traffic shifting per stage: prod ``Canary10Percent5Minutes`` (a tenth of the invocations run the new version
for five minutes; an alarm in that window sends them all back), every other stage ``AllAtOnce`` (the alarms
still roll back a deployment that fails while it is in progress).
"""
from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from infra.components.nag import acknowledge
from infra.components.naming import Stage, pascal

#: The alias every invoke path names; SAM's AutoPublishAlias of the API function has the same name.
LIVE_ALIAS = "live"
#: CodeDeploy's predefined configurations, by SAM name (the API) and as CDK objects (the registry functions).
PRODUCTION_SHIFT = "Canary10Percent5Minutes"
DEVELOPMENT_SHIFT = "AllAtOnce"
#: The API's alarms that roll a deployment back (ids of the alarms ``components/api.py`` and
#: ``components/operations.py`` create).
API_ROLLBACK_ALARMS = ("Api5xxAlarm", "ApiLatencyAlarm")


def traffic_shift(stage: Stage) -> str:
    return PRODUCTION_SHIFT if stage.is_production else DEVELOPMENT_SHIFT


def live_alias(stage: Stage, cid: str, fn: lambda_.Function, *, retry_attempts: int | None) -> lambda_.Alias:
    """The alias ``live`` of `fn`, on a version published whenever its code or configuration changes.

    `retry_attempts` repeats the function's asynchronous-invocation setting for the alias: Lambda applies
    the one of the qualifier that was invoked."""
    return lambda_.Alias(stage.stack, f"{cid}LiveAlias", alias_name=LIVE_ALIAS, version=fn.current_version,
                         description=f"What {fn.function_name} runs: moved by CodeDeploy", retry_attempts=retry_attempts)


def _alarm(stage: Stage, cid: str) -> cloudwatch.Alarm:
    found = stage.stack.node.try_find_child(cid)
    if not isinstance(found, cloudwatch.Alarm):
        raise ValueError(f"rollback alarm {cid!r} is not in the stack")
    return found


class Deploys:
    """CodeDeploy for the API (SAM ``DeploymentPreference``) and for every registry function's alias."""

    def __init__(self, stage: Stage, *, api: object, functions: object) -> None:
        self.stage = stage
        scope = stage.stack
        self.api_alarms = [_alarm(stage, cid) for cid in API_ROLLBACK_ALARMS]
        handler = api.chalice.get_resource("APIHandler")
        handler.add_property_override("DeploymentPreference", {
            "Type": traffic_shift(stage),
            "Alarms": [alarm.alarm_name for alarm in self.api_alarms],
        })

        aliases: Mapping[str, lambda_.Alias] = functions.aliases
        self.application = codedeploy.LambdaApplication(scope, "FunctionsDeployApplication",
                                                        application_name=f"{stage.prefix}-functions")
        config = (codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES if stage.is_production
                  else codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE)
        self.role = iam.Role(scope, "FunctionsDeployRole", assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
                             description=f"CodeDeploy moves the {LIVE_ALIAS} aliases of the {stage.prefix} functions")
        acknowledge(self.role, "AwsSolutions-IAM4",
                    "The AWS managed policy CodeDeploy documents for Lambda deployments (invoke hooks, update aliases).",
                    ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited"])
        self.groups: dict[str, codedeploy.LambdaDeploymentGroup] = {}
        for name, alias in aliases.items():
            cid = pascal(name)
            self.groups[name] = codedeploy.LambdaDeploymentGroup(
                scope, f"{cid}DeploymentGroup", application=self.application, alias=alias,
                deployment_group_name=stage.function_name(name), deployment_config=config, role=self.role,
                alarms=[_alarm(stage, f"{cid}ErrorsAlarm")],
                auto_rollback=codedeploy.AutoRollbackConfig(failed_deployment=True, deployment_in_alarm=True),
            )
