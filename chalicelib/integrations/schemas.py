"""API contract of inbound integrations (集成)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.pagination import Page, PageQuery
from ..core.patch import Patch

Kind = Literal["web_order", "call_center", "finance", "custom"]
Mode = Literal["skip", "overwrite", "create"]
MAPPING = ("payload key (nested keys as `a.b`) -> column key of the record type's import columns (as "
           "GET /v1/imports/templates/{type} names them: `name`, `custom.budget`, `owner_id`); null: not written. "
           "Default: the kind's preset, or suggested from `sample`, or from each delivery's keys")
LOOKUPS = ("payload key -> the record it names by one of that record's fields (`{\"type\": \"customer\", \"field\": "
           "\"mobile\"}`): found among the records the channel's user may read; phone numbers in any spelling")
DEFAULTS = "column key -> the cell written when an item has no value for it (`{\"type\": \"call\"}`)"


class InboundLookup(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    type: str = Field(min_length=1, max_length=80)
    field: str = Field(min_length=1, max_length=80)


Cell = str | int | float | bool


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    kind: Kind = Field(description="web_order (-> leads), call_center (-> follow-ups on the customer found by the "
                                   "caller's mobile), finance (-> payments against the contract found by its number), "
                                   "custom (any record type, custom objects too)")
    type: str | None = Field(None, min_length=1, max_length=80, description="record type (lead, customer, followup, "
                                                                              "payment, obj_<key>); default: the kind's")
    mapping: dict[str, str | None] | None = Field(None, max_length=200, description=MAPPING)
    lookups: dict[str, InboundLookup] | None = Field(None, max_length=20, description=LOOKUPS)
    defaults: dict[str, Cell] | None = Field(None, max_length=50, description=DEFAULTS)
    sample: dict[str, Any] | None = Field(None, description="an example payload: the mapping is suggested from its keys")
    duplicates: Mode = Field("skip", description="items matching a record under the tenant's duplicate rules: skip, "
                                                 "overwrite that record, or create anyway (never past a block rule)")
    run_as: str | None = Field(None, max_length=40, description="the active user whose permissions, data scope, field "
                                                                "rules and limits every write takes; default: you")
    enabled: bool = True
    description: str | None = Field(None, max_length=200)


class ChannelPatch(Patch):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    name: str = Field(None, min_length=1, max_length=100)
    type: str = Field(None, min_length=1, max_length=80)
    mapping: dict[str, str | None] | None = Field(None, max_length=200, description=MAPPING)
    lookups: dict[str, InboundLookup] | None = Field(None, max_length=20, description=LOOKUPS)
    defaults: dict[str, Cell] | None = Field(None, max_length=50, description=DEFAULTS)
    sample: dict[str, Any] = Field(None, description="suggest the mapping again from this example payload's keys")
    duplicates: Mode = None  # type: ignore[assignment]
    run_as: str = Field(None, max_length=40)
    enabled: bool = None  # type: ignore[assignment]
    description: str | None = Field(None, max_length=200)
    version: int | None = Field(None, ge=1, description="the version you read (or If-Match)")


class InboundLookupOut(BaseModel):
    type: str
    field: str


class ChannelOut(BaseModel):
    id: str
    name: str
    kind: str
    type: str
    mapping: dict[str, str | None] | None = Field(None, description="null: suggested from each delivery's keys")
    lookups: dict[str, InboundLookupOut]
    defaults: dict[str, Any]
    duplicates: str
    run_as: str
    enabled: bool
    description: str | None = None
    url: str = Field(description="where to POST, signed with the secret")
    secret_rotated_at: str | None = None
    has_secret: bool = Field(True, description="false after a restore (archives hold no secret): rotate the secret, "
                                               "then enable")
    created_at: str
    created_by: str
    updated_at: str
    version: int


class ChannelWithSecret(ChannelOut):
    secret: str = Field(description="the signing secret, shown only now: store it with the sender")


class ChannelList(BaseModel):
    items: list[ChannelOut]


class InboundRowError(BaseModel):
    column: str | None = Field(None, description="the payload key (or column) the reason is about")
    message: str


class InboundItemErrors(BaseModel):
    index: int
    errors: list[InboundRowError]


class InboundDeliveryOut(BaseModel):
    id: str
    received_at: str
    status: str = Field(description="succeeded | partial (some items rejected) | rejected (every item)")
    counts: dict[str, int] = Field(description="total, created, updated, skipped, rejected")
    errors: list[InboundItemErrors] = Field(description="the rejected items' reasons (the first 20); payloads are not kept")
    idempotency_key: str | None = None
    replays: int = Field(description="resends answered with this delivery's result")


class InboundDeliveryPage(Page[InboundDeliveryOut]):
    pass


class InboundDeliveryQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")


class InboundItemResult(BaseModel):
    index: int
    status: Literal["created", "updated", "skipped", "rejected"]
    id: str | None = None
    errors: list[InboundRowError] | None = None


class InboundAnswer(BaseModel):
    delivery_id: str
    replayed: bool = Field(description="true: a resend (the same signed bytes, or the same Idempotency-Key "
                                         "and body): the first answer; nothing was written")
    results: list[InboundItemResult]
