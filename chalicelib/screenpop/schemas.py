"""API contract of the call-center screen pop (来电弹屏) and of logging a call."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ..core.inputs import InstantText

Id = Annotated[str, Field(min_length=1, max_length=40)]
PHONE_DOC = ("the caller's number in any spelling: 13800138000, +86 138 0013 8000, 0086-138-0013-8000, full-width digits, "
             "(0755) 8888-6666 转 123 (a landline needs its area code)")


class ScreenPopQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(max_length=40, description=PHONE_DOC)


class Owner(BaseModel):
    id: str
    name: str | None = Field(None, description="null for a customer in a public pool (owner pool:<id>)")


class CustomerRef(BaseModel):
    id: str
    name: str | None = Field(None, description="as I may see it; null when the customer is not mine to read")


class ScreenPopMatch(BaseModel):
    type: str = Field(description="record type: contact, customer, lead …")
    id: str
    title: str | None = Field(None, description="as I may see it (field rules applied)")
    owner: Owner
    matched: list[str] = Field(description="the record's fields that hold the number")
    numbers: dict[str, str | None] = Field(description="the record's phone fields as I may see them (masked fields masked)")
    customer: CustomerRef | None = Field(None, description="a contact's customer (and a converted lead's), when I may see "
                                                           "the field")


class ScreenPopOut(BaseModel):
    number: str = Field(description="the number as compared: 13800138000, 075588886666")
    items: list[ScreenPopMatch] = Field(description="records I may read whose numbers match, most recently changed first "
                                                    "(at most 20)")
    total: int = Field(description="matches I may read in all; records outside my data scope are not counted")


class AboutIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    entity: str = Field(min_length=1, max_length=60, description="lead, customer or contact (a record type follow-ups may "
                                                                 "be about)")
    id: Id


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    phone: str = Field(max_length=40, description=PHONE_DOC)
    about: AboutIn = Field(description="the record the call is about: one of the screen pop's matches (it must hold the "
                                       "number)")
    content: str = Field(min_length=1, max_length=5000, description="跟进内容: what was said")
    followup_type: str | None = Field(None, min_length=1, max_length=40, description="跟进方式, a code of the followup_type "
                                                                                     "dictionary (default: call, 电话)")
    next_contact_at: InstantText | None = Field(None, description="下次联系时间: reminds me at that moment")
