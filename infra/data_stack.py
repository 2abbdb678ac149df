"""The data stack of a stage (``crm-<stage>-data``): everything that holds state.

The table, the archive, files, mail and access-log buckets, the search domain (with its FGAC master
role and log groups), the staff and portal user pools, the page-cursor secret and the backup vault and
plan live here; the API, the functions, the state machines, the bus, the schedules, the alarms and the
dashboard live in the stage's stack (``crm-<stage>``, ``infra/stack.py``), which reads what it needs
from this one through cross-stack references (CDK writes the exports and imports).

Why two stacks: a deploy of the code (every commit) then never touches a resource that holds data, a
rollback or a failed update of the stateless stack cannot replace or delete one, and the stateless stack
can be deleted and recreated. Nothing here refers to the stateless stack, so the data stack deploys first
and on its own.

The parts create their resources in this stack's scope with the ids they had when the stage was one stack:
the logical IDs are unchanged (``infra/README.md``), which is what lets a deployed one-stack stage move its
resources here (README, "Safe deploys": moving a deployed stage).

Protection: termination protection in prod (and on any stage with the context ``protect=true``), every
stateful resource kept when removed from the template or when the stack is deleted in prod (``RETAIN``;
the buckets and the backup vault on every stage), deletion protection on the table and the user pools in
prod. A dev stage stays a ``cdk destroy`` away from gone.
"""
from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from chalicelib.db.table_spec import TABLE_SPEC
from infra.components.cursors import CursorSecret
from infra.components.identity import Identity
from infra.components.mail import mail_bucket
from infra.components.naming import Stage
from infra.components.operations import OpsConfig, backup_plan
from infra.components.regions import region_profile
from infra.components.search import Search
from infra.components.storage import Storage
from infra.components.table import Table
from infra.components.token_keys import BuiltinIdentity

#: Suffix of the data stack's construct id and CloudFormation name (``crm-<stage>-data``).
DATA_SUFFIX = "data"


def protected(stage: str, scope: Construct) -> bool:
    """Termination protection: prod always, another stage when the context ``protect`` is true."""
    return stage == "prod" or str(scope.node.try_get_context("protect") or "").lower() in ("1", "true", "yes")


class CrmDataStack(cdk.Stack):
    """The stateful resources of one stage; construct id ``<stage>-data``, stack ``crm-<stage>-data``."""

    def __init__(self, scope: Construct, stage: str, **kwargs: Any) -> None:
        kwargs.setdefault("stack_name", f"crm-{stage}-{DATA_SUFFIX}")
        kwargs.setdefault("description", f"CRM ({stage}) data: table, buckets, search domain, user pools, "
                                         "cursor secret, backups")
        kwargs.setdefault("suppress_template_indentation", True)
        kwargs.setdefault("termination_protection", protected(stage, scope))
        super().__init__(scope, f"{stage}-{DATA_SUFFIX}", **kwargs)

        self.stage = Stage(self, stage)
        self.table = Table(self.stage, TABLE_SPEC)
        self.storage = Storage(self.stage)
        self.mail_bucket = mail_bucket(self.stage, self.storage)
        # Cognito's user pools where the region has them, else the own IdP's token signing keys and the key of its
        # users' TOTP seeds (components/regions.py, token_keys.py, seed_key.py)
        self.identity = Identity(self.stage) if region_profile(self).cognito else BuiltinIdentity(self.stage)
        self.search = Search(self.stage)
        self.cursor_secret = CursorSecret(self.stage)
        self.backup_plan = backup_plan(self.stage, OpsConfig.of(self.stage), self.table.table.table_arn)
