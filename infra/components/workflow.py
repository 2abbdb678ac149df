"""Step Functions: one STANDARD state machine per ``step_functions/*.asl.json`` (the approval
workflow), deployed as written, each with a role derived from the tasks its definition runs."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn

from infra.components.common import REPO_ROOT
from infra.components.nag import acknowledge
from infra.components.naming import Stage, pascal
from infra.components.table import Table

#: Where the state machines' definitions live: every ``<name>.asl.json`` becomes the STANDARD
#: state machine ``crm-<stage>-<name>`` (devstack/resources.py creates ``crm-<name>`` locally from
#: the same files).
STATE_MACHINES_DIR = REPO_ROOT / "step_functions"
ASL_SUFFIX = ".asl.json"
#: The state machine approvals run on (``CRM_APPROVAL_STATE_MACHINE_ARN``): the API starts its
#: executions, the API and the "workflow" functions signal them.
APPROVAL_STATE_MACHINE = "approval"

#: Completing the task a token stands for. Task tokens are not resources: these actions support
#: no resource-level permissions (the token itself is the credential).
WORKFLOW_SIGNAL_ACTIONS = ("states:SendTaskSuccess", "states:SendTaskFailure")

#: Task ``Resource``s of the definitions the stack knows how to authorise (``Workflow._task_statement``),
#: with the integration pattern suffix removed. A definition using any other fails synthesis.
#: The definitions write the partition as a placeholder (``arn:${Partition}:…``, never ``arn:aws:``), filled
#: by CloudFormation from the stack's partition (``DefinitionSubstitutions``; the local stack fills it with
#: ``chalicelib.ports.workflow.definition``).
DYNAMODB_UPDATE_ITEM_TASK = "arn:${Partition}:states:::aws-sdk:dynamodb:updateItem"
EVENTS_PUT_EVENTS_TASK = "arn:${Partition}:states:::events:putEvents"
_INTEGRATION_PATTERN = re.compile(r"\.waitForTaskToken$")
#: Words of DynamoDB expressions that are not attribute names (functions are case-sensitive,
#: keywords are not: both are compared in upper case).
_EXPRESSION_WORDS = frozenset({
    "SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN",
    "IF_NOT_EXISTS", "LIST_APPEND", "ATTRIBUTE_EXISTS", "ATTRIBUTE_NOT_EXISTS", "ATTRIBUTE_TYPE",
    "BEGINS_WITH", "CONTAINS", "SIZE",
})


def state_machine_definitions(directory: Path = STATE_MACHINES_DIR) -> dict[str, str]:
    """``{name: definition}`` for every ``<name>.asl.json`` in `directory`: the files' text, as is."""
    return {path.name.removesuffix(ASL_SUFFIX): path.read_text(encoding="utf-8")
            for path in sorted(directory.glob(f"*{ASL_SUFFIX}"))}


def task_states(definition: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every Task state of an ASL definition, including those of Parallel branches and Map iterations."""
    for state in definition.get("States", {}).values():
        if state.get("Type") == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from task_states(branch)
        for processor in ("ItemProcessor", "Iterator"):
            if processor in state:
                yield from task_states(state[processor])


def update_item_conditions(parameters: Mapping[str, Any], where: str) -> dict[str, Any]:
    """IAM conditions that hold an ``updateItem`` task to what its definition writes.

    ``dynamodb:Attributes`` lists the top-level attributes the task names: its key, the values of
    ``ExpressionAttributeNames`` and any name written directly in its expressions;
    ``dynamodb:ReturnValues`` is the one it asks for (none by default), so an update cannot read
    the other attributes of an item back. Both must be literal in the definition: a ``.$`` path
    (or a legacy parameter) would leave them to the execution input, and fails synthesis.
    """
    from_input = {key.removesuffix(".$") for key in parameters if key.endswith(".$")}
    unsupported = sorted(
        (from_input & {"Key", "ExpressionAttributeNames", "UpdateExpression", "ConditionExpression", "ReturnValues"})
        | ({key.removesuffix(".$") for key in parameters} & {"AttributeUpdates", "Expected"})
    )
    if unsupported or "Key" not in parameters:
        raise ValueError(f"{where}: an updateItem task needs a literal Key, expressions, attribute names and "
                         f"ReturnValues for its permissions to be derived (found {unsupported or 'no Key'})")
    names = set(parameters["Key"]) | set(parameters.get("ExpressionAttributeNames", {}).values())
    for expression in (parameters.get("UpdateExpression", ""), parameters.get("ConditionExpression", "")):
        names.update(word for word in re.findall(r"(?<![\w#:.])[A-Za-z_]\w*", expression)
                     if word.upper() not in _EXPRESSION_WORDS)
    return {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": sorted(names)},
        "StringEqualsIfExists": {"dynamodb:ReturnValues": parameters.get("ReturnValues", "NONE")},
    }


def definition_substitutions() -> dict[str, str]:
    """What CloudFormation writes into a definition's placeholders (``DEFINITION_PLACEHOLDERS``)."""
    return {"Partition": cdk.Aws.PARTITION}


class Workflow:
    """The state machines of ``definitions`` (``{name: ASL text}``), which must include the approval one.

    Their tasks work on the table and the bus, named in each execution's input.
    """

    def __init__(self, stage: Stage, definitions: Mapping[str, str], *, table: Table, event_bus: events.IEventBus) -> None:
        if APPROVAL_STATE_MACHINE not in definitions:
            raise ValueError(f"step_functions/{APPROVAL_STATE_MACHINE}{ASL_SUFFIX} is missing: approvals run on it")
        self.stage = stage
        self.table = table
        self.event_bus = event_bus
        self.state_machines = {name: self._state_machine(name, definition) for name, definition in definitions.items()}
        self.approval_state_machine = self.state_machines[APPROVAL_STATE_MACHINE]

    def _state_machine(self, name: str, definition: str) -> sfn.StateMachine:
        """A STANDARD state machine from ``step_functions/<name>.asl.json``, deployed as written.

        Its role may do what the definition's tasks do (``_task_statement``), on this stack's
        resources only, and can be assumed by Step Functions for this machine only. Every
        execution event is logged without its data (inputs and outputs carry task tokens and
        tenant data) and traced with X-Ray.
        """
        stage, scope = self.stage, self.stage.stack
        cid = f"{pascal(name)}StateMachine"
        machine_name = stage.state_machine_name(name)
        where = f"step_functions/{name}{ASL_SUFFIX}"
        unknown = sorted(set(re.findall(r"\$\{(\w+)\}", definition)) - set(definition_substitutions()))
        if unknown:
            raise ValueError(f"{where}: placeholders {unknown} have no DefinitionSubstitutions (components/workflow.py)")
        role = iam.Role(
            scope,
            f"{cid}Role",
            description=f"Execution role of the {machine_name} state machine",
            assumed_by=iam.ServicePrincipal(
                "states.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": scope.account},
                    "ArnLike": {"aws:SourceArn": stage.state_machine_arn(name)},
                },
            ),
        )
        for state in task_states(json.loads(definition)):
            role.add_to_policy(self._task_statement(state, where))

        log_group = logs.LogGroup(scope, f"{cid}LogGroup", log_group_name=f"/aws/vendedlogs/states/{machine_name}",
                                  retention=stage.log_retention, removal_policy=stage.removal_policy)
        machine = sfn.StateMachine(
            scope,
            cid,
            state_machine_name=machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            # The file's text as it is (``DefinitionString``). Not a ``Definition`` object: the CDK
            # drops JSON nulls from objects, and ``"ResultPath": null`` means something.
            definition_body=sfn.DefinitionBody.from_string(definition),
            definition_substitutions=definition_substitutions(),
            role=role,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
            removal_policy=stage.removal_policy,
        )
        acknowledge(role, "AwsSolutions-IAM5",
                    "Step Functions log delivery (logs:CreateLogDelivery and related) and X-Ray tracing do not "
                    "support resource-level permissions; the tasks' own permissions name the table and the bus.",
                    ["Resource::*"])
        return machine

    def _task_statement(self, state: Mapping[str, Any], where: str) -> iam.PolicyStatement:
        """What one Task state needs, on this stack's resources only (the execution input names them).

        - DynamoDB ``updateItem`` (AWS SDK integration, optionally ``.waitForTaskToken``):
          ``UpdateItem`` on the table (not its indexes), held to the attributes the task writes;
        - EventBridge ``putEvents``: ``PutEvents`` on the CRM bus.

        Any other task resource fails synthesis: its permissions have to be written here first.
        """
        resource = _INTEGRATION_PATTERN.sub("", str(state.get("Resource", "")))
        if resource == DYNAMODB_UPDATE_ITEM_TASK:
            return iam.PolicyStatement(
                actions=["dynamodb:UpdateItem"],
                resources=[self.table.table.table_arn],
                conditions=update_item_conditions(state.get("Parameters", {}), where),
            )
        if resource == EVENTS_PUT_EVENTS_TASK:
            return iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.event_bus.event_bus_arn])
        raise ValueError(f"{where}: infra/components/workflow.py grants nothing for task resource "
                         f"{state.get('Resource')!r}; add its permissions to Workflow._task_statement")

    def approval_statements(self, *, start_and_stop: bool = False) -> list[iam.PolicyStatement]:
        """Signal approval executions: complete or fail the task a token stands for, and read an
        execution; with `start_and_stop` (the API), also start and stop them."""
        statements = [
            iam.PolicyStatement(actions=list(WORKFLOW_SIGNAL_ACTIONS), resources=["*"]),
            iam.PolicyStatement(
                actions=["states:DescribeExecution", *(["states:StopExecution"] if start_and_stop else [])],
                resources=[self.approval_executions_arn()],
            ),
        ]
        if start_and_stop:
            statements.append(iam.PolicyStatement(actions=["states:StartExecution"],
                                                  resources=[self.approval_state_machine.state_machine_arn]))
        return statements

    def approval_executions_arn(self) -> str:
        """Every execution of the approval state machine."""
        return self.stage.executions_arn(APPROVAL_STATE_MACHINE)
