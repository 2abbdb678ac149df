"""API contract of duplicate rules (查重规则), the duplicate check and merges (合并)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["company", "person", "phone", "email"]


class DuplicateRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Kind = Field(description="company (名称), person (姓名), phone (手机与电话), email")
    entities: list[str] = Field(min_length=1, max_length=10, description="record types checked against each other, e.g. "
                                                                          "[\"lead\", \"customer\", \"contact\"]")
    action: Literal["warn", "block"] = Field(description="warn: the write goes through and reports the matches; "
                                                         "block: refused with 409 DUPLICATE")


class DuplicateRulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[DuplicateRuleIn] = Field(max_length=20, description="the whole set (replaces the stored one); [] checks nothing")
    version: int | None = Field(None, description="the version read (or If-DuplicateMatch); not needed for the first save")


class DuplicateRuleOut(BaseModel):
    kind: str
    entities: list[str]
    action: str
    active_entities: list[str] = Field(description="the installed types among `entities` that declare this kind")


class DuplicateTypeField(BaseModel):
    field: str
    kind: str


class DuplicateType(BaseModel):
    type: str
    kinds: list[str]
    fields: list[DuplicateTypeField]


class DuplicateRulesOut(BaseModel):
    rules: list[DuplicateRuleOut]
    defaults: bool = Field(description="true while the tenant has not saved rules of its own")
    version: int = Field(description="0 = the defaults")
    types: list[DuplicateType] = Field(description="record types that declare duplicate checks, and their fields")


class DuplicateCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity: str = Field(max_length=60, description="record type of the form: customer, lead, contact …")
    values: dict[str, Any] = Field(max_length=100, description="the form's values by field (other fields are ignored)")
    exclude_id: str | None = Field(None, max_length=64, description="the record being edited")


class DuplicateMatchedField(BaseModel):
    field: str = Field(description="the matching record's field")
    kind: str
    on: list[str] = Field(description="the input fields it matched")
    action: Literal["warn", "block"]


class DuplicateMatch(BaseModel):
    type: str
    id: str
    title: str | None = Field(None, description="as the caller may see it (field rules applied)")
    owner_id: str | None = None
    matched: list[DuplicateMatchedField]
    action: Literal["warn", "block"]


class DuplicateBlocking(BaseModel):
    field: str = Field(description="the input field a block rule matched (the record is never named)")
    kind: str
    label: str


class DuplicateCheckOut(BaseModel):
    blocked: bool
    blocking: list[DuplicateBlocking]
    matches: list[DuplicateMatch] = Field(description="records the caller may read, oldest first (at most 20)")
    total: int = Field(description="readable matches in all")


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_id: str = Field(max_length=64, description="the record merged into this one (it goes to the recycle bin)")
    version: int | None = Field(None, description="this record's version (or If-DuplicateMatch)")
    from_version: int = Field(description="the version of the record merged in, as read")
    take: list[str] = Field(default_factory=list, max_length=100,
                            description="fields (custom.<key> for custom fields) whose value comes from the record merged in")
    keep_owner_as: Literal["none", "read", "write"] = Field("none", description="the merged record's owner joins this "
                                                                              "record's team")
