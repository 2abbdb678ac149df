"""Approvals (审批): flow definitions, instances, tasks, history and the execution's token.

Key design:
- flow head:     pk = T#<t>#FLOW#<id>, sk = "#"        name, type, model, enabled, current version
                 gsi2pk = T#<t>#FLOW, gsi2sk = <business type>#<id>   -> the admin list, the
                 enabled flow of a business type (one Query).
- flow version:  pk = T#<t>#FLOW#<id>, sk = V#<0001>     the immutable spec of one version
                 (running instances keep the version they started with).
- instance:      a Record (ENTITY APPROVAL): pk = T#<t>#APPROVAL#<id>, sk = "#"; owner = the
                 applicant, so gsi1 = "my applications". The resolved plan, tallies and
                 status live on this one item; every decision is one version-checked write.
                 gsi3pk = the record's pk (T#<t>#<ENTITY>#<id>), gsi3sk = APPROVAL#<time>#<id>
                 -> a record's approvals, next to its other related records.
- task:          pk = instance pk, sk = TASK#<round>#<step>#<user>; gsi1pk =
                 T#<t>#APPROVAL#BOX#<user>#<box> (PENDING | HANDLED | CC), gsi1sk = <time>#<id>
                 -> the per-user inboxes; counts are Select=COUNT queries on the same partitions.
- history:       pk = instance pk, sk = H#<time>#<id>    one entry per action (append-only).
- token:         pk = instance pk, sk = TOKEN            written by the state machine itself
                 (aws-sdk updateItem.waitForTaskToken): the current task token, step and round.
                 Tokens are read by the service only and never leave the server.
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned
from ..db.records import Record


def flow_pk(tenant_id: str, flow_id: str) -> str:
    return keys.k(tenant_id, "FLOW", flow_id)


def flow_list(tenant_id: str) -> str:
    return keys.k(tenant_id, "FLOW")


def box_pk(tenant_id: str, user_id: str, box: str) -> str:
    return keys.k(tenant_id, "APPROVAL", "BOX", user_id, box.upper())


class ApprovalFlow(Versioned, discriminator="APPROVAL_FLOW"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    business_type = UnicodeAttribute()
    model = UnicodeAttribute()
    enabled = BooleanAttribute(default=False)
    current_version = NumberAttribute(default=1)
    spec = JSONAttribute()  # the current version's spec (a copy of V#<current>)
    template = UnicodeAttribute(null=True)

    def values(self) -> dict:
        return {"name": self.name, "business_type": self.business_type, "model": self.model, "enabled": self.enabled,
                "current_version": int(self.current_version)}


class FlowVersion(Item, discriminator="APPROVAL_FLOW_VERSION"):
    flow_id = UnicodeAttribute()
    number = NumberAttribute()
    spec = JSONAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()

    @staticmethod
    def sk_of(number: int) -> str:
        return f"V#{number:04d}"


class ApprovalInstance(Record, discriminator="APPROVAL"):
    ENTITY = "APPROVAL"
    MODULE = "approvals"
    NAME_KEY = "entity.approval"
    SEARCHABLE = False  # listed through the approval inboxes, not the search index
    FIELDS = ("business_type", "flow_id", "flow_version", "record", "title", "status", "round", "current_step")

    business_type = UnicodeAttribute()
    flow_id = UnicodeAttribute()
    flow_version = NumberAttribute()
    record = JSONAttribute()  # {"entity", "id", "title"}
    title = UnicodeAttribute()
    status = UnicodeAttribute()  # running | approved | rejected | withdrawn
    round = NumberAttribute(default=0)  # bumps on every step change (the machine's step counter)
    attempt = NumberAttribute(default=1)  # submissions: 1 + resubmits (one execution each)
    current_step = NumberAttribute(null=True)
    plan = JSONAttribute()  # resolved steps (plan.py), with each step's state and votes
    data = JSONAttribute(default=dict)  # the record's values the conditions were evaluated on
    options = JSONAttribute(default=dict)  # the applicant's choices at submit (approvers, added nodes)
    cc_user_ids = JSONAttribute(default=list)
    rejected_step = NumberAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)
    urged_at = UnicodeAttribute(null=True)


class ApprovalTask(Item, discriminator="APPROVAL_TASK"):
    instance_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    box = UnicodeAttribute()  # pending | handled | cc | closed
    step = NumberAttribute(null=True)
    round = NumberAttribute(null=True)
    step_name = UnicodeAttribute(null=True)
    title = UnicodeAttribute()
    entity = UnicodeAttribute(null=True)  # the record type approved (its title follows the reader's field rules)
    business_type = UnicodeAttribute()
    applicant_id = UnicodeAttribute()
    decision = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    @staticmethod
    def sk_of(round_: int | None, step: int | None, user_id: str) -> str:
        if step is None:
            return f"TASK#CC#{user_id}"
        return f"TASK#{round_:05d}#{step:03d}#{user_id}"


class HistoryEntry(Item, discriminator="APPROVAL_HISTORY"):
    instance_id = UnicodeAttribute()
    at = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    action = UnicodeAttribute()
    step = NumberAttribute(null=True)
    step_name = UnicodeAttribute(null=True)
    comment = UnicodeAttribute(null=True)
    attachments = JSONAttribute(default=list)
    detail = JSONAttribute(default=dict)


class ApprovalToken(Item, discriminator="APPROVAL_TOKEN"):
    token = UnicodeAttribute()
    step = NumberAttribute()
    round = NumberAttribute()
