"""API contract of custom forms and OA applications (自定义表单 / 办公审批)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from ..approvals.schemas import ExtraNode, SubmitOptions
from ..core.errors import Problem
from ..core.pagination import Page, PageQuery
from ..core.patch import Patch
from ..fields.schemas import KEY_PATTERN, Option

# the custom-field types (PLAT-4) plus what forms add: detail tables, record references, people
FormFieldType = Literal["text", "textarea", "number", "money", "date", "datetime", "boolean", "select", "multiselect", "mobile",
                        "email", "user", "department", "reference", "attachment", "table"]
REFERENCE_ENTITIES = ("customer", "contact", "opportunity", "contract", "product", "application")


class _Out(BaseModel):
    # validators are built on first use, not at import (cold start: the API imports every module)
    model_config = ConfigDict(defer_build=True)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class FormField(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    label: str = Field(min_length=1, max_length=60)
    label_en: str | None = Field(None, max_length=60, description="English label (messages in English name the field by it)")
    field_type: FormFieldType
    required: StrictBool = False
    options: list[Option] = Field(default_factory=list, max_length=200)
    entity: Literal["customer", "contact", "opportunity", "contract", "product", "application"] | None = Field(
        None, description="reference: the record type it points to")
    columns: list["FormField"] = Field(default_factory=list, max_length=30, description="table (明细表): its columns")
    help: str | None = Field(None, max_length=200)
    allow_negative: StrictBool = Field(False, description="number and money fields: accept values below zero")

    @model_validator(mode="after")
    def _shape(self) -> "FormField":
        if self.field_type in ("select", "multiselect") and not self.options:
            raise Problem("field.options_missing", "missing")
        if self.field_type == "reference" and not self.entity:
            raise Problem("form.entity_missing", "missing")
        if self.field_type == "table":
            if not self.columns:
                raise Problem("field.columns_missing", "missing")
            if any(c.field_type == "table" for c in self.columns):
                raise Problem("field.nested_table", "type")
        elif self.columns:
            raise Problem("form.columns_only_table", "type")
        return self




class FormSpec(_Strict):
    name: str = Field(min_length=1, max_length=60)
    category: Literal["attendance", "finance", "admin", "business", "document", "other"] = "other"
    description: str | None = Field(None, max_length=500)
    fields: list[FormField] = Field(min_length=1, max_length=60)
    title_field: str | None = Field(None, description="the field whose value titles an application (default: form name + applicant)")
    document: StrictBool = Field(False, description="公文: after completion the application can be archived (归档) or destroyed (销毁)")
    rules: list[dict[str, Any]] = Field(default_factory=list, max_length=30, description=(
        'cross-field rules checked before an application is saved or submitted, e.g. {"kind": "range", "start": "start", '
        '"end": "end"}, {"kind": "sum", "total": "total_amount", "table": "items", "column": "amount"}, {"kind": "compare", '
        '"field": "days", "op": "gt", "value": 0}, {"kind": "span", "start": "start", "end": "end", "field": "days"}, '
        '{"kind": "required_if", "field": "repay_date", "when": "loan_type", "equals": "loan"}'))

    @model_validator(mode="after")
    def _keys(self) -> "FormSpec":
        keys = [f.key for f in self.fields]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise Problem("form.duplicate_keys", "duplicate", keys=", ".join(dup))
        if self.title_field and self.title_field not in keys:
            raise Problem("form.title_field", "unknown")
        return self


class FormIn(FormSpec):
    flow_id: str | None = Field(None, description="the approval flow applications of this form go through")
    enabled: StrictBool = True


class FormPatch(_Strict, Patch):
    spec: FormSpec = None  # type: ignore[assignment]
    flow_id: str | None = Field(None, description="null unbinds the form from its flow")
    enabled: StrictBool = None  # type: ignore[assignment]
    version: int | None = None


class FormOut(_Out):
    id: str
    code: str | None = None
    spec: dict[str, Any]
    flow_id: str | None = None
    enabled: bool
    business_type: str
    created_at: str
    updated_at: str
    version: int


class FormList(_Out):
    items: list[FormOut]


class FormTemplateOut(_Out):
    code: str
    name: str
    category: str
    description: str | None = None


class FormTemplateList(_Out):
    items: list[FormTemplateOut]


class ApplicationIn(_Strict):
    form_id: str
    data: dict[str, Any] = Field(default_factory=dict)
    submit: StrictBool = Field(True, description="false keeps it as a draft (草稿)")
    approvers: dict[str, list[str]] = Field(default_factory=dict, description="node id -> user ids (发起人自选 / predefined and free flows)")
    extra_nodes: list[ExtraNode] = Field(default_factory=list, max_length=10, description="free flows: nodes the applicant adds")
    cc_user_ids: list[str] = Field(default_factory=list, max_length=50)
    comment: str | None = Field(None, max_length=2000)


class ApplicationPatch(_Strict, Patch):
    data: dict[str, Any]
    version: int | None = None


class ApplicationSubmitIn(SubmitOptions):
    """What the applicant chooses when submitting (the approval engine's submit options)."""


class ApplicationOut(_Out):
    id: str
    form_id: str
    form_name: str
    title: str
    data: dict[str, Any]
    status: str
    instance_id: str | None = None
    owner_id: str
    created_at: str
    updated_at: str
    version: int


class ApplicationQuery(PageQuery):
    model_config = ConfigDict(defer_build=True)
    form_id: str | None = None


class ApplicationPage(Page[ApplicationOut]):
    model_config = ConfigDict(defer_build=True)


class DocumentActionIn(_Strict):
    reason: str | None = Field(None, max_length=500)
    version: int | None = None
