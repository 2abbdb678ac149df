"""The monitoring stack of a stage (``crm-<stage>-monitoring``): the dashboard and the alarms nothing deploys by.

The stage's stack (``crm-<stage>``) keeps the alarm topic (with its key) and the alarms CodeDeploy rolls a deployment
back on (``infra/components/deploys.py``: the API's 5XX and latency alarms, each registry function's errors alarm):
a deployment group names its alarms, so they live where it does. Every other alarm (throttles, stream iterator age,
dead-letter queues, state machines, schedules, the search domain, the API handler's errors and throttles, WAF blocks)
and the dashboard are built here, reading the stage's resources (function names, queue names, state machines, the
alarm topic) through cross-stack references; nothing in the stage's stack refers to this one, so it deploys after it.

Why a third stack: CloudFormation takes a template of at most 1 MB, and the stage's stack grows with every route and
function. Alarms and the dashboard do not change what the stage runs, so they can follow it in their own deploy.

The alarm names are unchanged (``crm-<stage>-<id>``, ``Operations.wire_alarms``), and so is the dashboard's
(``crm-<stage>``): moving them from ``crm-<stage>`` is one deploy of each stack in order (the stage's removes them,
this one creates them again).
"""
from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.components.naming import Stage
from infra.data_stack import protected

#: Suffix of the monitoring stack's construct id and CloudFormation name (``crm-<stage>-monitoring``).
MONITORING_SUFFIX = "monitoring"


class CrmMonitoringStack(cdk.Stack):
    """The dashboard and the alarms of one stage that no deployment group names; construct id ``<stage>-monitoring``,
    stack ``crm-<stage>-monitoring``. The stage's stack (``infra/stack.py``) builds them in this stack's scope."""

    def __init__(self, scope: Construct, stage: str, **kwargs: Any) -> None:
        kwargs.setdefault("stack_name", f"crm-{stage}-{MONITORING_SUFFIX}")
        kwargs.setdefault("description", f"CRM ({stage}) monitoring: dashboard and alarms (stage: crm-{stage})")
        kwargs.setdefault("suppress_template_indentation", True)
        kwargs.setdefault("termination_protection", protected(stage, scope))
        super().__init__(scope, f"{stage}-{MONITORING_SUFFIX}", **kwargs)
        self.stage = Stage(self, stage)
