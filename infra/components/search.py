"""Search (ARCHITECTURE.md §4): the OpenSearch Service domain, who may call it, and its alarms.

The domain runs outside any VPC: every request is SigV4-signed, the domain's access policy names
only this stack's roles, and fine-grained access control (configured by ``infra/search_roles/``)
maps each role to the OpenSearch permissions it needs on the stage's indices (``crm-<stage>-*``).
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch

from infra.components.common import ARCHITECTURE, PYTHON_RUNTIME, alarm, lambda_role
from infra.components.nag import acknowledge, resource_finding
from infra.components.naming import Stage, pascal

#: The search domain's engine: the newest OpenSearch 2.x this aws-cdk-lib knows.
SEARCH_ENGINE = opensearch.EngineVersion.OPENSEARCH_2_19

#: HTTP methods on the search domain, per kind of principal. Searching needs GET, HEAD and
#: POST (``_search``, ``_msearch``, ``_count``); index maintenance adds PUT and DELETE. POST
#: can also write (``_bulk``): fine-grained access control is what keeps the API read-only.
SEARCH_READ_ACTIONS = ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost")
SEARCH_WRITE_ACTIONS = (*SEARCH_READ_ACTIONS, "es:ESHttpPut", "es:ESHttpDelete")
#: What the FGAC master (the search-roles custom resource) sends: PUT and DELETE of
#: security roles and role mappings, under ``_plugins/_security/api/`` only.
SEARCH_SECURITY_ACTIONS = ("es:ESHttpPut", "es:ESHttpDelete")

#: The custom resource that configures fine-grained access control (its own Lambda asset).
SEARCH_ROLES_SOURCE = Path(__file__).resolve().parents[1] / "search_roles"


@dataclasses.dataclass(frozen=True)
class SearchCapacity:
    """Nodes and storage of a stage's search domain.

    Each stage starts from the defaults below (``prod`` from ``PRODUCTION_SEARCH``, every
    other stage from ``DEVELOPMENT_SEARCH``); any field but ``standby`` can be overridden per
    stage with the context value ``search:<stage>``: an object in ``infra/cdk.json``, or JSON
    on the command line (``-c 'search:dev={"data_nodes": 2, "volume_gib": 20}'``).
    """

    data_node_type: str
    data_nodes: int
    volume_gib: int
    #: Dedicated cluster-manager ("master") nodes; none when ``master_nodes`` is 0.
    master_node_type: str = "m6g.large.search"
    master_nodes: int = 0
    #: Multi-AZ with standby: production's alone, not a context setting.
    standby: bool = False

    @property
    def availability_zones(self) -> int:
        """Zones the data nodes spread over: three with standby, else two when the nodes
        pair up evenly, else one."""
        if self.standby:
            return 3
        return 2 if self.data_nodes >= 2 and self.data_nodes % 2 == 0 else 1


#: Production runs Multi-AZ with standby: three zones (one of them standby), data nodes in
#: multiples of three, three dedicated cluster-manager nodes.
PRODUCTION_SEARCH = SearchCapacity(data_node_type="r6g.large.search", data_nodes=3, volume_gib=100, master_nodes=3,
                                   standby=True)
#: Development and test stages: the smallest domain that runs the product, one node.
DEVELOPMENT_SEARCH = SearchCapacity(data_node_type="t3.small.search", data_nodes=1, volume_gib=10)


def search_capacity(stage: str, overrides: Mapping[str, Any] | str | None = None) -> SearchCapacity:
    """The stage's search capacity: its defaults with the context overrides applied.

    Production's layout is checked here, where the message can say why: Multi-AZ with
    standby needs data nodes in multiples of three, dedicated cluster managers, and no T3.
    """
    if isinstance(overrides, str):
        overrides = json.loads(overrides)
    overrides = dict(overrides or {})
    settable = {f.name for f in dataclasses.fields(SearchCapacity)} - {"standby"}
    unknown = set(overrides) - settable
    if unknown:
        raise ValueError(f"unknown search:{stage} settings: {sorted(unknown)}")
    capacity = dataclasses.replace(PRODUCTION_SEARCH if stage == "prod" else DEVELOPMENT_SEARCH, **overrides)
    if capacity.data_nodes < 1 or capacity.volume_gib < 10:
        raise ValueError(f"search:{stage} needs at least one data node and 10 GiB per node")
    if capacity.standby and (capacity.data_nodes % 3 or capacity.master_nodes < 3
                             or capacity.data_node_type.startswith("t3.")):
        raise ValueError("search:prod runs Multi-AZ with standby: data nodes in multiples of 3, "
                         "at least 3 dedicated cluster-manager nodes, no T3 instance type")
    return capacity


class Search:
    """The domain ``crm-<stage>``, its FGAC master role, log groups and alarms.

    Who may call it is set by ``allow`` once every principal exists.
    """

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.admin_role = self._admin_role()
        self.capacity = search_capacity(stage.name, stage.stack.node.try_get_context(f"search:{stage.name}"))
        self.domain = self._domain()

    def domain_arn(self, path: str = "") -> str:
        """The domain's ARN (plus ``/path``) from its fixed name (``Stage.search_domain_arn``)."""
        return self.stage.search_domain_arn(path)

    def _admin_role(self) -> iam.Role:
        """The search domain's fine-grained access control master user.

        An IAM role rather than an internal user: there is no password to store or rotate,
        and the master is a principal IAM can scope. Only the search-roles custom resource
        runs as it (it is that Lambda's execution role), and IAM lets it reach nothing but
        the security plugin's API. An operator who needs OpenSearch access gets a mapping
        from that custom resource, not this role.
        """
        role = lambda_role(self.stage.stack, "SearchAdminRole",
                           f"FGAC master of the {self.stage.prefix} search domain; runs the search-roles custom resource")
        role.add_to_policy(iam.PolicyStatement(
            actions=list(SEARCH_SECURITY_ACTIONS), resources=[self.domain_arn("_plugins/_security/api/*")],
        ))
        # the domain's access policy names roles of the stage's stack: the custom resource sets it (``allow``)
        role.add_to_policy(iam.PolicyStatement(actions=["es:UpdateDomainConfig"], resources=[self.domain_arn()]))
        acknowledge(role, "AwsSolutions-IAM5",
                    "Security roles and mappings are named per stage at deploy time; the master may only reach "
                    "the security plugin's API of the stage's domain.",
                    [resource_finding(role, self.domain_arn("_plugins/_security/api/*"))])
        return role

    def _domain(self) -> opensearch.Domain:
        """The OpenSearch domain behind search.

        Outside any VPC (the Lambdas are too), HTTPS only with TLS 1.2, encrypted at rest
        and between nodes, fine-grained access control with the admin role as master, and
        search-slow, index-slow and error logs in CloudWatch. Capacity per stage comes from
        ``search_capacity``: production runs Multi-AZ with standby over three zones with
        dedicated cluster managers; other stages a single node by default. The access policy
        is set by ``allow`` once every principal exists.
        """
        stage, scope, capacity = self.stage, self.stage.stack, self.capacity
        zones = capacity.availability_zones

        log_groups = {
            kind: logs.LogGroup(scope, f"Search{pascal(kind)}LogGroup",
                                log_group_name=f"/aws/opensearch/{stage.prefix}/{kind}",
                                retention=stage.log_retention, removal_policy=stage.removal_policy)
            for kind in ("search-slow", "index-slow", "application")
        }
        # A plain CloudFormation resource policy instead of the construct's default (a
        # custom resource calling PutResourcePolicy): the service may write these groups
        # for this domain only.
        logs_policy = logs.ResourcePolicy(
            scope,
            "SearchLogsResourcePolicy",
            resource_policy_name=f"{stage.prefix}-opensearch-logs",
            policy_statements=[iam.PolicyStatement(
                principals=[iam.ServicePrincipal("es.amazonaws.com")],
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[group.log_group_arn for group in log_groups.values()],
                conditions={
                    "StringEquals": {"aws:SourceAccount": scope.account},
                    "ArnLike": {"aws:SourceArn": self.domain_arn()},
                },
            )],
        )

        domain = opensearch.Domain(
            scope,
            "SearchDomain",
            domain_name=stage.prefix,
            version=SEARCH_ENGINE,
            capacity=opensearch.CapacityConfig(
                data_node_instance_type=capacity.data_node_type,
                data_nodes=capacity.data_nodes,
                master_node_instance_type=capacity.master_node_type if capacity.master_nodes else None,
                master_nodes=capacity.master_nodes or None,
                multi_az_with_standby_enabled=capacity.standby,
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=zones > 1, availability_zone_count=zones if zones > 1 else None),
            ebs=opensearch.EbsOptions(enabled=True, volume_size=capacity.volume_gib,
                                      volume_type=ec2.EbsDeviceVolumeType.GP3),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2_PFS,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(
                master_user_arn=self.admin_role.role_arn,
            ),
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True, slow_search_log_group=log_groups["search-slow"],
                slow_index_log_enabled=True, slow_index_log_group=log_groups["index-slow"],
                app_log_enabled=True, app_log_group=log_groups["application"],
            ),
            suppress_logs_resource_policy=True,
            enable_version_upgrade=True,
            enable_auto_software_update=True,
            off_peak_window_enabled=True,
            removal_policy=stage.removal_policy,
        )
        domain.node.add_dependency(logs_policy)

        acknowledge(domain, "AwsSolutions-OS1",
                    "The product is serverless and its Lambdas run outside any VPC (no NAT gateway, no ENIs); "
                    "every request is SigV4-signed, the access policy names only this stack's roles, and "
                    "fine-grained access control limits each role to the stage's indices.")
        acknowledge(domain, "AwsSolutions-OS3",
                    "The callers are Lambda functions, which have no fixed source addresses; access is restricted "
                    "to named IAM roles (signed requests) instead of IP addresses.")
        if not capacity.master_nodes:
            acknowledge(domain, "AwsSolutions-OS4",
                        "A non-production stage runs a small single-purpose domain to keep its cost down; dedicated "
                        "cluster-manager nodes run in prod (three), and any stage can add them (search:<stage>).")
        if zones == 1:
            acknowledge(domain, "AwsSolutions-OS7",
                        "A single-node development domain cannot span zones; prod runs Multi-AZ with standby over "
                        "three zones, and any stage with an even number of data nodes spans two.")
        return domain

    def alarms(self, stage: Stage) -> None:
        """The domain's recommended alarms (in `stage`'s stack, where the alarm topic is): red cluster, blocked
        writes, memory, storage, snapshots."""
        scope, prefix = stage.stack, stage.prefix
        domain, one_minute, five_minutes = self.domain, cdk.Duration.minutes(1), cdk.Duration.minutes(5)
        alarm(scope, "SearchClusterRedAlarm", f"{prefix} search cluster is red (a primary shard is unassigned)",
              domain.metric_cluster_status_red(period=one_minute, statistic="Maximum"))
        alarm(scope, "SearchWritesBlockedAlarm", f"{prefix} search cluster blocks writes",
              domain.metric_cluster_index_writes_blocked(period=five_minutes, statistic="Maximum"))
        alarm(scope, "SearchJvmMemoryPressureAlarm", f"{prefix} search JVM memory pressure is high",
              domain.metric_jvm_memory_pressure(period=five_minutes, statistic="Maximum"), threshold=95)
        alarm(scope, "SearchSnapshotFailureAlarm", f"{prefix} search automated snapshot failed",
              domain.metric_automated_snapshot_failure(period=one_minute, statistic="Maximum"))
        # FreeStorageSpace is in MiB, per node (Minimum = the fullest node): alarm at 25 % left.
        alarm(scope, "SearchFreeStorageAlarm", f"{prefix} search node has under 25 % of its storage left",
              domain.metric_free_storage_space(period=five_minutes, statistic="Minimum"),
              threshold=self.capacity.volume_gib * 1024 // 4,
              comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD)

    def security_roles(self) -> dict[str, dict[str, Any]]:
        """The OpenSearch security roles of the stage, on its indices (``crm-<stage>-*``) only.

        What ``chalicelib/search/opensearch.py`` does, and no more:

        - writer (indexer, reindex): create an index and grow its mapping, check that it
          exists, refresh; index, delete, delete-by-query and read documents; bulk and
          scroll (``helpers.scan``, which clears its scroll). No index deletion, settings,
          templates or cluster administration;
        - reader (API): read and search those indices (plus multi-search and scroll).
        """
        indices = [f"{self.stage.prefix}-*"]
        return {
            self.stage.search_role_name("writer"): {
                "cluster_permissions": ["cluster_composite_ops", "indices:data/read/scroll/clear"],
                "index_permissions": [{"index_patterns": indices, "allowed_actions": [
                    "crud", "create_index", "indices:admin/get", "indices:admin/refresh*"]}],
            },
            self.stage.search_role_name("reader"): {
                "cluster_permissions": ["cluster_composite_ops_ro"],
                "index_permissions": [{"index_patterns": indices, "allowed_actions": ["read"]}],
            },
        }

    def allow(self, *, readers: Sequence[iam.IRole], writers: Sequence[iam.IRole], stage: Stage | None = None) -> None:
        """Who may call the search domain, checked twice.

        IAM: the domain's access policy names exactly these roles, each with the HTTP
        methods it needs (within an account a resource policy grants on its own, so it must
        be no wider than the roles' identity policies). OpenSearch: fine-grained access
        control maps the same roles to the writer/reader security roles
        (``_search_roles``), which is what stops the API from writing with POST.
        """
        statements = [
            iam.PolicyStatement(principals=list(readers), actions=list(SEARCH_READ_ACTIONS),
                                resources=[self.domain_arn("*")]),
            iam.PolicyStatement(principals=[self.admin_role], actions=list(SEARCH_SECURITY_ACTIONS),
                                resources=[self.domain_arn("_plugins/_security/api/*")]),
        ]
        if writers:
            statements.insert(1, iam.PolicyStatement(principals=list(writers), actions=list(SEARCH_WRITE_ACTIONS),
                                                     resources=[self.domain_arn("*")]))
        policy = iam.PolicyDocument(statements=statements)
        stage = stage or self.stage
        if stage.stack is self.stage.stack:
            cfn_domain = self.domain.node.default_child
            cfn_domain.access_policies = policy
            policy = None
        # Otherwise the domain is in the data stack and the roles in the stage's: the data stack must not refer to
        # them, so the custom resource in the stage's stack sets the access policy (UpdateDomainConfig).
        else:
            acknowledge(self.domain, "AwsSolutions-OS5",
                        "The domain's access policy is not in the data stack's template: the search-roles custom resource "
                        "of the stage's stack sets it (UpdateDomainConfig) to exactly the statements above, naming the "
                        "stage's roles; until then only identity policies grant access, and FGAC maps no role but the master.")
        self._search_roles(readers=readers, writers=writers, stage=stage, access_policy=policy)

    def _search_roles(self, *, readers: Sequence[iam.IRole], writers: Sequence[iam.IRole], stage: Stage,
                      access_policy: iam.PolicyDocument | None) -> cdk.CustomResource:
        """The custom resource that applies ``security_roles`` and maps the Lambda
        roles to them (``infra/search_roles/handler.py``), running as the FGAC master; it also sets the
        domain's access policy when given one."""
        scope = stage.stack
        name = stage.function_name("search_roles")
        function = lambda_.Function(
            scope,
            "SearchRolesFunction",
            function_name=name,
            description=f"Custom resource: fine-grained access control roles and mappings of {stage.prefix}'s search domain",
            # botocore (SigV4) ships with the runtime: no layer; the stack's one runtime all the same.
            runtime=PYTHON_RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(SEARCH_ROLES_SOURCE), exclude=["__pycache__", "*.pyc"]),
            role=self.admin_role,
            timeout=cdk.Duration.minutes(5),
            memory_size=256,
            log_group=logs.LogGroup(scope, "SearchRolesLogGroup", log_group_name=f"/aws/lambda/{name}",
                                    retention=stage.log_retention, removal_policy=stage.removal_policy),
        )
        acknowledge(function, "AwsSolutions-L1",
                    f"Every Lambda of the stack runs on one runtime ({PYTHON_RUNTIME.name}, infra/components/common.py).")
        return cdk.CustomResource(
            scope,
            "SearchRoles",
            service_token=function.function_arn,
            resource_type="Custom::SearchRoles",
            properties={
                "Endpoint": self.domain.domain_endpoint,
                **({"DomainName": self.domain.domain_name, "AccessPolicies": access_policy} if access_policy else {}),
                "Roles": self.security_roles(),
                "Mappings": {
                    stage.search_role_name("writer"): [role.role_arn for role in writers],
                    stage.search_role_name("reader"): [role.role_arn for role in readers],
                },
            },
        )
