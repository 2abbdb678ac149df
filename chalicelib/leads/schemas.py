"""API contract of lead conversion."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ..duplicates.schemas import DuplicateMatch
from ..engine.models import BulkResult

Id = Annotated[str, Field(min_length=1, max_length=40)]


class MappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    customer: dict[str, str] = Field(description='lead field -> customer field, e.g. {"company": "name", "custom.budget": '
                                                 '"custom.budget"}', max_length=100)
    contact: dict[str, str] = Field(description="lead field -> contact field", max_length=100)
    version: int | None = Field(None, description="the version you read (or If-Match); not needed for the first mapping")


class MappingOut(BaseModel):
    customer: dict[str, str]
    contact: dict[str, str]
    version: int = Field(description="0: the defaults, never saved")


class ConvertOpportunity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    amount: Decimal | None = Field(None, ge=0)
    expected_close_date: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    stage_group: str | None = Field(None, max_length=40)
    remark: str | None = Field(None, max_length=2000)


class ConvertIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    customer_id: Id | None = Field(None, description="add the contact to this customer instead of creating one")
    contact: bool = Field(True, description="create a contact from the lead")
    owner_id: Id | None = Field(None, description="owner of what is created (default: the lead's owner)")
    opportunity: ConvertOpportunity | None = Field(None, description="also create an opportunity (商机) of the customer, in the "
                                                                    "same change")


class BulkConvertIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ids: list[Id] = Field(min_length=1, max_length=100)
    contact: bool = True
    owner_id: Id | None = None


class ConvertDuplicates(BaseModel):
    """查重 of what a conversion created: the records I may read that a warn rule matched (a block rule
    refuses the conversion with 409 DUPLICATE instead, and nothing is written)."""

    customer: list[DuplicateMatch] = Field(description="matches of the new customer ([] when the lead joined an existing one)")
    contact: list[DuplicateMatch] = Field(description="matches of the new contact ([] when no contact was created)")


class ConvertOut(BaseModel):
    lead: dict
    customer_id: str
    contact_id: str | None
    duplicates: ConvertDuplicates


class ConvertItem(BulkResult):
    customer_id: str | None = None
    contact_id: str | None = None
    duplicates: ConvertDuplicates | None = Field(None, description="a converted lead's duplicate warnings (null when it failed)")


class BulkConvertOut(BaseModel):
    items: list[ConvertItem]
    converted: int
