"""Running a stage: its operational settings, the alarm topic every alarm reports to, the alarms the
other parts do not own, the dashboard, the API's edge (WAF, access logs) and the backups.

Settings come from the CDK context (``-c key=value`` or ``infra/cdk.json``), else from the
environment variable ``CRM_INFRA_<KEY>`` (upper case), else their default; see ``OpsConfig``.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_wafv2 as wafv2

from infra.components.common import alarm
from infra.components.nag import acknowledge
from infra.components.naming import Stage


def _setting(stage: Stage, key: str, default: str = "") -> str:
    value = stage.stack.node.try_get_context(key)
    if value is None:
        value = os.environ.get(f"CRM_INFRA_{key.upper()}", default)
    return str(value).strip()


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class OpsConfig:
    """A stage's operational settings (context key, or ``CRM_INFRA_<KEY>``)."""

    alarm_emails: tuple[str, ...] = ()  # alarm_emails: comma-separated e-mail subscriptions of the alarm topic
    alarm_https_endpoints: tuple[str, ...] = ()  # alarm_https_endpoints: comma-separated HTTPS subscriptions
    web_origins: tuple[str, ...] = ("*",)  # web_origins: origins browsers call the API and the files bucket from
    waf_rate_limit: int = 2000  # waf_rate_limit: requests per client IP per 5 minutes before WAF blocks it
    backup_retention_days: int = 35  # backup_retention_days: how long the daily table backups are kept
    backup_copy_vault_arn: str = ""  # backup_copy_vault_arn: a vault (another account / region) each backup is copied to
    event_archive_retention_days: int = 30  # event_archive_retention_days: how long bus events stay replayable
    api_latency_p95_ms: int = 3000  # api_latency_p95_ms: the API's p95 latency alarm threshold

    @classmethod
    def of(cls, stage: Stage) -> OpsConfig:
        production = stage.is_production
        return cls(
            alarm_emails=_csv(_setting(stage, "alarm_emails")),
            alarm_https_endpoints=_csv(_setting(stage, "alarm_https_endpoints")),
            web_origins=tuple(o.rstrip("/") for o in _csv(_setting(stage, "web_origins", "*"))) or ("*",),
            waf_rate_limit=int(_setting(stage, "waf_rate_limit", "2000")),
            backup_retention_days=int(_setting(stage, "backup_retention_days", "35" if production else "7")),
            backup_copy_vault_arn=_setting(stage, "backup_copy_vault_arn"),
            event_archive_retention_days=int(_setting(stage, "event_archive_retention_days", "90" if production else "7")),
            api_latency_p95_ms=int(_setting(stage, "api_latency_p95_ms", "3000")),
        )


#: WAF rule groups AWS maintains: OWASP-style common rules, known bad inputs (Log4j, …), IP reputation.
WAF_MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                           "AWSManagedRulesAmazonIpReputationList")
#: The API's JSON access log line ($context variables; no request body, no query string, no header).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId", "extendedRequestId": "$context.extendedRequestId", "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime", "httpMethod": "$context.httpMethod", "resourcePath": "$context.resourcePath",
    "status": "$context.status", "responseLength": "$context.responseLength", "latency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency", "integrationStatus": "$context.integration.status",
    "errorType": "$context.error.responseType", "wafStatus": "$context.waf.status", "xrayTraceId": "$context.xrayTraceId",
}
FIVE_MINUTES = cdk.Duration.minutes(5)
#: Seconds a stream consumer may lag behind the table before it alarms (the search index should follow within seconds).
ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000


class Operations:
    """The alarm topic, the alarms no other part owns, the dashboard, the API's edge and the backups."""

    def __init__(self, stage: Stage, config: OpsConfig | None = None, *, monitoring: Stage | None = None) -> None:
        self.stage = stage
        # the stage in its monitoring stack (infra/monitoring_stack.py): the dashboard and the alarms no CodeDeploy
        # deployment group names; the stage's own stack when none is given
        self.monitoring = monitoring or stage
        self.config = config or OpsConfig.of(stage)
        scope = stage.stack
        # CloudWatch publishes to an encrypted topic only with a customer-managed key it may use.
        self.key = kms.Key(scope, "AlarmTopicKey", description=f"{stage.prefix} alarm topic", enable_key_rotation=True,
                           removal_policy=stage.removal_policy)
        self.key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(scope, "AlarmTopic", topic_name=f"{stage.prefix}-alarms", display_name=f"{stage.prefix} alarms",
                               master_key=self.key, enforce_ssl=True)
        for address in self.config.alarm_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))
        for url in self.config.alarm_https_endpoints:
            self.topic.add_subscription(subscriptions.UrlSubscription(url, protocol=sns.SubscriptionProtocol.HTTPS))
        self.dashboard = cloudwatch.Dashboard(self.monitoring.stack, "Dashboard", dashboard_name=stage.prefix)

    # -- alarms -------------------------------------------------------------------------------

    def function_alarms(self, functions: dict[str, lambda_.IFunction], stream_consumers: Iterable[str]) -> None:
        """Throttles of every function; iterator age of every stream consumer."""
        scope = self.monitoring.stack
        for name, fn in functions.items():
            cid = "".join(p.capitalize() for p in name.replace("-", "_").split("_"))
            alarm(scope, f"{cid}ThrottlesAlarm", f"{self.stage.function_name(name)} was throttled",
                  fn.metric_throttles(period=FIVE_MINUTES, statistic="Sum"))
        for name in stream_consumers:
            cid = "".join(p.capitalize() for p in name.split("_"))
            alarm(scope, f"{cid}IteratorAgeAlarm",
                  f"{self.stage.function_name(name)} lags behind the table stream by more than "
                  f"{ITERATOR_AGE_ALARM_MS // 60000} minutes",
                  functions[name].metric("IteratorAge", period=FIVE_MINUTES, statistic="Maximum"),
                  threshold=ITERATOR_AGE_ALARM_MS)

    def state_machine_alarms(self, machines: dict[str, sfn.StateMachine]) -> None:
        scope = self.monitoring.stack
        for name, machine in machines.items():
            cid = "".join(p.capitalize() for p in name.replace("-", "_").split("_"))
            alarm(scope, f"{cid}ExecutionsFailedAlarm", f"{self.stage.state_machine_name(name)} executions failed",
                  machine.metric_failed(period=FIVE_MINUTES, statistic="Sum"))
            alarm(scope, f"{cid}ExecutionsTimedOutAlarm", f"{self.stage.state_machine_name(name)} executions timed out",
                  machine.metric_timed_out(period=FIVE_MINUTES, statistic="Sum"))

    def scheduler_alarms(self, group_name: str, dead_letter_queue: sqs.IQueue) -> None:
        scope = self.monitoring.stack
        for metric_name, what in (("InvocationDroppedCount", "dropped invocations (retries or event age exhausted)"),
                                  ("TargetErrorCount", "could not invoke their target")):
            alarm(scope, f"Scheduler{metric_name}Alarm", f"{group_name} schedules {what}",
                  cloudwatch.Metric(namespace="AWS/Scheduler", metric_name=metric_name,
                                    dimensions_map={"ScheduleGroup": group_name}, statistic="Sum", period=FIVE_MINUTES))
        alarm(scope, "SchedulerDeadLetterQueueAlarm", f"{group_name} schedules dead-lettered invocations",
              dead_letter_queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum"))

    def api_alarms(self, api_name: str, api_stage: str, handler_name: str, latency_ms: int) -> None:
        scope, dims = self.stage.stack, {"ApiName": api_name, "Stage": api_stage}  # latency: a rollback alarm (deploys.py)
        alarm(scope, "ApiLatencyAlarm", f"{self.stage.prefix} API p95 latency above {latency_ms} ms",
              cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name="Latency", dimensions_map=dims, statistic="p95",
                                period=FIVE_MINUTES), threshold=latency_ms)
        alarm(self.monitoring.stack, "ApiHandlerThrottlesAlarm", f"{self.stage.prefix} API handler was throttled",
              cloudwatch.Metric(namespace="AWS/Lambda", metric_name="Throttles", dimensions_map={"FunctionName": handler_name},
                                statistic="Sum", period=FIVE_MINUTES))

    def wire_alarms(self) -> list[cloudwatch.Alarm]:
        """Every alarm of the stage's stack and of its monitoring stack: named for the stage, alarm and OK actions on
        the topic."""
        action = cloudwatch_actions.SnsAction(self.topic)
        wired = []
        stacks = [self.stage.stack] + ([self.monitoring.stack] if self.monitoring.stack is not self.stage.stack else [])
        for construct in (node for stack in stacks for node in stack.node.find_all()):
            if isinstance(construct, cloudwatch.Alarm):
                construct.add_alarm_action(action)
                construct.add_ok_action(action)
                cfn = construct.node.default_child
                cfn.alarm_name = f"{self.stage.prefix}-{construct.node.id.removesuffix('Alarm')}"
                wired.append(construct)
        return wired

    # -- dashboard ------------------------------------------------------------------------------

    def dashboard_widgets(self, *, api_name: str, api_stage: str, handler_name: str, functions: dict[str, lambda_.IFunction],
                          table_name: str, machines: dict[str, sfn.StateMachine], domain_name: str) -> None:
        api = {"ApiName": api_name, "Stage": api_stage}

        def m(namespace: str, name: str, dims: dict[str, str], statistic: str = "Sum", label: str | None = None):
            return cloudwatch.Metric(namespace=namespace, metric_name=name, dimensions_map=dims, statistic=statistic,
                                     period=FIVE_MINUTES, label=label)

        account = cdk.Stack.of(self.monitoring.stack).account
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="API requests and errors", width=12, left=[
                m("AWS/ApiGateway", "Count", api), m("AWS/ApiGateway", "4XXError", api), m("AWS/ApiGateway", "5XXError", api)]),
            cloudwatch.GraphWidget(title="API latency", width=12, left=[
                m("AWS/ApiGateway", "Latency", api, "p50"), m("AWS/ApiGateway", "Latency", api, "p95"),
                m("AWS/ApiGateway", "Latency", api, "p99")]),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Functions: errors", width=12, left=[
                m("AWS/Lambda", "Errors", {"FunctionName": handler_name}, label="api"),
                *(fn.metric_errors(period=FIVE_MINUTES, label=name) for name, fn in functions.items())]),
            cloudwatch.GraphWidget(title="Functions: duration p95, throttles", width=12, left=[
                m("AWS/Lambda", "Duration", {"FunctionName": handler_name}, "p95", label="api"),
                *(fn.metric_duration(period=FIVE_MINUTES, statistic="p95", label=name) for name, fn in functions.items())],
                right=[fn.metric_throttles(period=FIVE_MINUTES, label=name) for name, fn in functions.items()]),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Table: capacity and throttles", width=12, left=[
                m("AWS/DynamoDB", "ConsumedReadCapacityUnits", {"TableName": table_name}),
                m("AWS/DynamoDB", "ConsumedWriteCapacityUnits", {"TableName": table_name})], right=[
                m("AWS/DynamoDB", "ThrottledRequests", {"TableName": table_name}),
                m("AWS/DynamoDB", "SystemErrors", {"TableName": table_name})]),
            cloudwatch.GraphWidget(title="State machines", width=12, left=[
                metric for machine in machines.values() for metric in (
                    machine.metric_started(period=FIVE_MINUTES), machine.metric_failed(period=FIVE_MINUTES),
                    machine.metric_timed_out(period=FIVE_MINUTES))]),
        )
        search = {"DomainName": domain_name, "ClientId": account}
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Search", width=24, left=[
                m("AWS/ES", "SearchLatency", search, "p95"), m("AWS/ES", "IndexingLatency", search, "p95")], right=[
                m("AWS/ES", "ClusterStatus.red", search, "Maximum"), m("AWS/ES", "FreeStorageSpace", search, "Minimum"),
                m("AWS/ES", "JVMMemoryPressure", search, "Maximum")]),
        )

    # -- the API's edge -----------------------------------------------------------------------------

    def web_acl(self, stage_arn: str, depends_on: str) -> wafv2.CfnWebACL:
        """A regional WAF web ACL on the API stage: AWS managed rule groups plus a per-IP rate limit."""
        scope, prefix = self.stage.stack, self.stage.prefix

        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(cloud_watch_metrics_enabled=True, metric_name=name,
                                                            sampled_requests_enabled=True)

        rules = [wafv2.CfnWebACL.RuleProperty(
            name=group, priority=i, override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=group)),
            visibility_config=visibility(f"{prefix}-{group}")) for i, group in enumerate(WAF_MANAGED_RULE_GROUPS)]
        rules.append(wafv2.CfnWebACL.RuleProperty(
            name="RatePerIp", priority=len(rules), action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=self.config.waf_rate_limit, aggregate_key_type="IP")),
            visibility_config=visibility(f"{prefix}-rate-per-ip")))
        acl = wafv2.CfnWebACL(scope, "ApiWebAcl", name=f"{prefix}-api", scope="REGIONAL",
                              default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}), rules=rules,
                              visibility_config=visibility(f"{prefix}-api"))
        association = wafv2.CfnWebACLAssociation(scope, "ApiWebAclAssociation", resource_arn=stage_arn,
                                                 web_acl_arn=acl.attr_arn)
        association.add_override("DependsOn", [depends_on])  # the stage SAM creates from the API
        acknowledge(association, "CloudFormation-Validate::E3005",
                    "The API's stage is created by the SAM transform (the AWS::Serverless::Api Chalice emits), so it "
                    "is not a resource of the template before the transform; cfn-lint checks it after.")
        alarm(self.monitoring.stack, "ApiWafBlockedAlarm", f"{prefix} WAF blocks many requests (an attack, or a rule hurting clients)",
              cloudwatch.Metric(namespace="AWS/WAFV2", metric_name="BlockedRequests",
                                dimensions_map={"WebACL": f"{prefix}-api", "Region": cdk.Stack.of(scope).region, "Rule": "ALL"},
                                statistic="Sum", period=FIVE_MINUTES), threshold=500)
        return acl

    def access_log_group(self) -> logs.LogGroup:
        return logs.LogGroup(self.stage.stack, "ApiAccessLogGroup", log_group_name=f"/aws/apigateway/{self.stage.prefix}-api/access",
                             retention=self.stage.log_retention, removal_policy=self.stage.removal_policy)

    def api_gateway_logging_role(self) -> None:
        """API Gateway writes access and execution logs with the account's CloudWatch role (one per account and
        region: every stage's stack sets the same kind of role)."""
        scope = self.stage.stack
        role = iam.Role(scope, "ApiGatewayLoggingRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
                        description="API Gateway writes the APIs' access and execution logs to CloudWatch",
                        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
                            "service-role/AmazonAPIGatewayPushToCloudWatchLogs")])
        acknowledge(role, "AwsSolutions-IAM4", "The AWS managed policy API Gateway documents for writing its logs.",
                    ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"])
        from aws_cdk import aws_apigateway as apigateway

        apigateway.CfnAccount(scope, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)

    # -- backups ----------------------------------------------------------------------------------

    def backup_plan(self, table_arn: str) -> backup.BackupPlan:
        return backup_plan(self.stage, self.config, table_arn)


def backup_plan(stage: Stage, config: OpsConfig, table_arn: str) -> backup.BackupPlan:
    """Daily AWS Backup of the table, kept `backup_retention_days`, optionally copied to another vault;
    in the stack of `stage` (the data stack: backups follow the data, whatever happens to the code's stack)."""
    scope = stage.stack
    vault = backup.BackupVault(scope, "BackupVault", backup_vault_name=stage.prefix,
                               removal_policy=cdk.RemovalPolicy.RETAIN)
    copy = [backup.BackupPlanCopyActionProps(
        destination_backup_vault=backup.BackupVault.from_backup_vault_arn(scope, "BackupCopyVault", config.backup_copy_vault_arn),
        delete_after=cdk.Duration.days(config.backup_retention_days))] if config.backup_copy_vault_arn else None
    plan = backup.BackupPlan(scope, "BackupPlan", backup_plan_name=stage.prefix, backup_vault=vault)
    plan.add_rule(backup.BackupPlanRule(
        rule_name="daily", schedule_expression=eventbridge.Schedule.cron(minute="0", hour="19"),  # 03:00 Asia/Shanghai
        start_window=cdk.Duration.hours(1), completion_window=cdk.Duration.hours(4),
        delete_after=cdk.Duration.days(config.backup_retention_days), copy_actions=copy))
    plan.add_selection("Table", resources=[backup.BackupResource.from_arn(table_arn)], allow_restores=True)
    acknowledge(plan, "AwsSolutions-IAM4", "The AWS managed policies AWS Backup documents for its backup and restore role.",
                [f"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyFor{kind}"
                 for kind in ("Backup", "Restores")])
    return plan
