"""API contract of webhooks (PLAT-10)."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ..core.pagination import Page, PageQuery
from ..core.patch import Patch

EventPattern = Annotated[str, Field(min_length=1, max_length=120)]
EVENTS_DESCRIPTION = ("event types (`customers.customer.created`) or patterns where `*` stands for any part "
                      "(`customers.*`, `*.*.created`, `*`)")


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    url: str = Field(min_length=8, max_length=2000, description="https:// to a public address (loopback only on the local stack)")
    events: list[EventPattern] = Field(min_length=1, max_length=50, description=EVENTS_DESCRIPTION)
    description: str | None = Field(None, max_length=200)
    enabled: bool = True
    owner_id: str | None = Field(None, max_length=40, description="whose field rules and data scope shape the payloads: "
                                                                  "an active user (an integration user); default: you")


class WebhookPatch(Patch):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    url: str = Field(None, min_length=8, max_length=2000)
    events: list[EventPattern] = Field(None, min_length=1, max_length=50, description=EVENTS_DESCRIPTION)
    description: str | None = Field(None, max_length=200)
    enabled: bool = None  # type: ignore[assignment]
    owner_id: str = Field(None, max_length=40)
    version: int | None = Field(None, ge=1, description="the version you read (or If-Match)")


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None = None
    enabled: bool
    owner_id: str
    secret_rotated_at: str | None = Field(None, description="when the secret was last replaced")
    has_secret: bool = Field(True, description="false after a restore (archives hold no secret): rotate the secret, "
                                               "then enable")
    created_at: str
    created_by: str
    updated_at: str
    version: int


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="the signing secret, shown only now: store it with the receiver")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class Attempt(BaseModel):
    attempt: int
    at: str
    status_code: int | None = None
    latency_ms: int
    error: str | None = None
    next_attempt_at: str | None = Field(None, description="when the next attempt was scheduled after this one failed")


class DeliveryOut(BaseModel):
    id: str = Field(description="sent as X-CRM-Delivery")
    webhook_id: str
    event_id: str
    event_type: str
    status: str = Field(description="pending | retrying | succeeded | dead_lettered")
    attempts: int
    next_attempt_at: str | None = None
    last_status_code: int | None = None
    last_latency_ms: int | None = None
    last_error: str | None = None
    created_at: str
    delivered_at: str | None = None
    redelivery_of: str | None = None
    log: list[Attempt] = Field(description="every attempt, oldest first")


class DeliveryPage(Page[DeliveryOut]):
    pass


class DeliveryQuery(PageQuery):
    pass


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


