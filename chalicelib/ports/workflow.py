"""Step Functions: start an execution, answer a task token, read an execution.

The approval state machine (step_functions/approval.asl.json) is deployed by infra/ and
created by the local stack from the same file. Tokens are passed in here by the service
and never reach a client.
"""
from __future__ import annotations

import json
import re
from typing import Any

from ..core.settings import get_settings
from . import client

LOCAL_ACCOUNT = "123456789012"  # moto's default account (the local stack and tests)
_NAME = re.compile(r"[^0-9A-Za-z_-]")


class TokenGone(Exception):
    """The token no longer waits (answered, timed out, or the execution ended)."""


def state_machine_arn(name: str = "approval") -> str:
    s = get_settings()
    if name == "approval" and s.approval_state_machine_arn:
        return s.approval_state_machine_arn
    from ..core.partition import partition

    return f"arn:{partition(s.region)}:states:{s.region}:{LOCAL_ACCOUNT}:stateMachine:crm-{name}"


#: Placeholders in step_functions/*.asl.json (``arn:${Partition}:states:::…``): in AWS the stack fills
#: them (the state machines' DefinitionSubstitutions, infra/components/workflow.py), locally
#: ``definition`` does.
DEFINITION_PLACEHOLDERS = ("Partition",)


def definition(text: str, region: str) -> str:
    """An ASL definition's text with its placeholders filled for `region` (the local stack)."""
    from ..core.partition import partition

    return text.replace("${Partition}", partition(region))


def execution_name(*parts: str) -> str:
    """A valid, deterministic execution name (≤ 80 chars): the same submission never runs twice."""
    return _NAME.sub("_", "-".join(parts))[:80]


def execution_arn(machine_arn: str, name: str) -> str:
    return machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


def start(machine_arn: str, name: str, payload: dict[str, Any]) -> str:
    """Start (idempotently: an execution of this name with the same input is the same run)."""
    c = client("stepfunctions")
    try:
        return c.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps(payload))["executionArn"]
    except c.exceptions.ExecutionAlreadyExists:
        return execution_arn(machine_arn, name)


def succeed(token: str, output: dict[str, Any]) -> None:
    c = client("stepfunctions")
    try:
        c.send_task_success(taskToken=token, output=json.dumps(output))
    except (c.exceptions.TaskTimedOut, c.exceptions.TaskDoesNotExist, c.exceptions.InvalidToken) as e:
        raise TokenGone(str(e)) from e


def describe(arn: str) -> dict[str, Any]:
    return client("stepfunctions").describe_execution(executionArn=arn)


def history(arn: str) -> list[dict[str, Any]]:
    c = client("stepfunctions")
    events: list[dict[str, Any]] = []
    token = None
    while True:
        page = c.get_execution_history(executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {}))
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events
