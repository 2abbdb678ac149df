"""API contract of custom objects: their definitions and the metadata of every record type."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.patch import Patch
from ..core.permissions import ACTIONS, Scope
from ..engine.fieldtypes import TYPES

KEY = r"^[a-z][a-z0-9_]{0,39}$"
RULES_DOC = ('cross-field rules checked on every write, e.g. {"kind": "range", "start": "start_date", "end": "end_date"}, '
             '{"kind": "sum", "total": "total", "table": "items", "column": "amount"}, {"kind": "compare", "field": "days", '
             '"op": "gt", "value": 0}, {"kind": "span", "start": "start", "end": "end", "field": "days", "unit": "days"}, '
             '{"kind": "required_if", "field": "repay_date", "when": "kind", "equals": "loan"}')
FieldType = Literal[TYPES]  # type: ignore[valid-type]


class OptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)
    code: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1, max_length=60)
    label_en: str | None = Field(None, max_length=60)


class FieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)
    key: str = Field(pattern=KEY, description="stable key; the field's name in bodies, filters and sort")
    label: str = Field(min_length=1, max_length=60, description="显示名称")
    label_en: str | None = Field(None, max_length=60)
    type: FieldType
    required: bool = False
    unique: bool = Field(False, description="no two records of the tenant share a value (text, mobile, email, phone, url, number)")
    default: Any = None
    min: Any = Field(None, description="numbers: the smallest value; dates: the earliest ISO date (default 1900-01-01)")
    max: Any = Field(None, description="numbers: the largest value (percent: default 100); dates: the latest ISO date "
                                       "(default 2200-12-31)")
    allow_negative: bool = Field(False, description="numbers: accept values below zero (refused by default)")
    min_length: int | None = Field(None, ge=0, le=2000)
    max_length: int | None = Field(None, ge=1, le=2000)
    precision: int | None = Field(None, ge=0, le=6, description="decimal places")
    options: list[OptionIn] = Field(default_factory=list, max_length=200)
    dictionary: str | None = Field(None, max_length=40, description="select/multiselect: codes from this dictionary type")
    entity: str | None = Field(None, max_length=50, description="reference: the record type (customer, competitor, obj_<key>)")
    columns: list[FieldIn] = Field(default_factory=list, max_length=30, description="table: the columns of each row")
    hidden: bool = False
    order: int = 0
    searchable: bool = Field(False, description="full text (text/textarea) or prefix match (mobile/phone/email)")
    filterable: bool = True
    sortable: bool = True
    remind_days_before: int | None = Field(None, ge=0, le=365, description="date fields: remind the owner N days before")
    description: str = Field("", max_length=200)


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    actions: list[Literal[tuple(ACTIONS)]] = Field(max_length=20)  # type: ignore[valid-type]
    scope: Scope = Scope.SELF


class ParentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    field: str = Field(description="a required reference field with a fixed record type, e.g. customer")
    cascade: list[Literal["transfer", "delete"]] = Field(default_factory=list, description="the parent's transfer / delete "
                                                                                           "(and restore) carry to the record")


class NumberingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    field: str = Field(description="a text field; it becomes read-only")
    rule: str = Field(max_length=40, description="a numbering rule key (PUT /v1/numbering-rules/{key})")


class ObjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)
    key: str = Field(pattern=KEY, description="the object's key: /v1/objects/{key}/records")
    label: str = Field(min_length=1, max_length=40)
    label_en: str | None = Field(None, max_length=40)
    fields: list[FieldIn] = Field(min_length=1, max_length=100)
    title_field: str = Field(description="the text field that names a record (lists, search, notifications)")
    card_fields: list[str] = Field(default_factory=list, max_length=5, description="shown under the title in global search")
    grants: dict[str, GrantIn] = Field(default_factory=dict, description="role id -> actions and data scope on this object")
    parent: ParentIn | None = Field(None, description="list the records under the record a reference field names (its related list)")
    numbering: NumberingIn | None = Field(None, description="fill a text field with the next number of a numbering rule on create")
    approval: bool = Field(False, description="records are submitted to the approval flow of business type obj:<key> "
                                              "(read-only approval_status / approval_id fields follow it)")
    rules: list[dict[str, Any]] = Field(default_factory=list, max_length=30, description=RULES_DOC)


class ObjectPatch(Patch):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)
    label: str = Field(None, min_length=1, max_length=40)  # type: ignore[assignment]
    label_en: str | None = Field(None, max_length=40)
    fields: list[FieldIn] = Field(None, min_length=1, max_length=100,  # type: ignore[assignment]
                                  description="the whole list: existing keys keep their type; new keys are added; "
                                              "a field cannot be removed (hide it)")
    title_field: str = None  # type: ignore[assignment]
    card_fields: list[str] = Field(None, max_length=5)  # type: ignore[assignment]
    active: bool = Field(None, description="false hides the object (records are kept)")  # type: ignore[assignment]
    rules: list[dict[str, Any]] = Field(None, max_length=30, description="the whole list of cross-field rules")  # type: ignore[assignment]
    version: int | None = None


class ObjectOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    key: str
    type: str = Field(description="the record type's name elsewhere (search groups, logs, references): obj_<key>")
    label: str
    label_en: str | None = None
    fields: list[dict[str, Any]]
    title_field: str
    card_fields: list[str] = []
    parent: dict[str, Any] | None = None
    numbering: dict[str, Any] | None = None
    approval: bool = False
    rules: list[dict[str, Any]] = []
    active: bool
    version: int
    updated_at: str


class ObjectList(BaseModel):
    model_config = ConfigDict(defer_build=True)
    items: list[ObjectOut]


class RecordIn(BaseModel):
    """A record of a custom object: its fields by key (see GET /v1/objects/{key}), plus owner_id."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    owner_id: str | None = Field(None, description="负责人; defaults to the caller")


class RecordPatch(Patch):
    model_config = ConfigDict(extra="allow", defer_build=True)
    version: int | None = None


class RecordOut(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    id: str
    owner_id: str
    access: Literal["read", "write"]
    team: list[dict[str, Any]] = []
    created_at: str
    created_by: str
    updated_at: str
    version: int


class RecordHit(RecordOut):
    highlight: dict[str, str] | None = None


class RecordPage(BaseModel):
    model_config = ConfigDict(defer_build=True)
    items: list[RecordHit]
    next_cursor: str | None = None
    total: int = 0
    facets: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


class RelatedOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    record: RecordOut
    related: dict[str, list[dict[str, Any]]] = Field(description="related type -> records I may read")


class FieldMeta(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    key: str
    type: str
    label: str
    required: bool
    access: Literal["edit", "read", "masked"] = Field(description="what the caller may do with the field")


class RecordTypeMeta(BaseModel):
    model_config = ConfigDict(defer_build=True)
    type: str
    label: str
    module: str
    custom: bool
    path: str
    title_field: str
    fields: list[FieldMeta]
    rules: list[dict[str, Any]] = Field(default=[], description="cross-field rules the record type's writes are checked against")
    relations: list[dict[str, Any]] = []
    actions: list[str]
    rights: dict[str, bool] = Field(description="action -> whether the caller may do it")
    scope: list[str] = Field(description="the caller's data scopes on this type")


class RecordTypeList(BaseModel):
    model_config = ConfigDict(defer_build=True)
    items: list[RecordTypeMeta]
