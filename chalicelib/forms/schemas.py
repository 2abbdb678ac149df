"""API contract of custom forms and OA applications (自定义表单 / 办公审批)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from ..approvals.schemas import ExtraNode, SubmitOptions
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
    field_type: FormFieldType
    required: StrictBool = False
    options: list[Option] = Field(default_factory=list, max_length=200)
    entity: Literal["customer", "contact", "opportunity", "contract", "product", "application"] | None = Field(
        None, description="reference: the record type it points to")
    columns: list["FormField"] = Field(default_factory=list, max_length=30, description="table (明细表): its columns")
    help: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _shape(self) -> "FormField":
        if self.field_type in ("select", "multiselect") and not self.options:
            raise ValueError(f"{self.key}: options required / 需要选项")
        if self.field_type == "reference" and not self.entity:
            raise ValueError(f"{self.key}: entity required / 需要指定关联的记录类型")
        if self.field_type == "table":
            if not self.columns:
                raise ValueError(f"{self.key}: columns required / 明细表需要列")
            if any(c.field_type == "table" for c in self.columns):
                raise ValueError(f"{self.key}: a detail table cannot hold another table / 明细表不能嵌套")
        elif self.columns:
            raise ValueError(f"{self.key}: only tables have columns / 只有明细表有列")
        return self




class FormSpec(_Strict):
    name: str = Field(min_length=1, max_length=60)
    category: Literal["attendance", "finance", "admin", "business", "document", "other"] = "other"
    description: str | None = Field(None, max_length=500)
    fields: list[FormField] = Field(min_length=1, max_length=60)
    title_field: str | None = Field(None, description="the field whose value titles an application (default: form name + applicant)")
    document: StrictBool = Field(False, description="公文: after completion the application can be archived (归档) or destroyed (销毁)")

    @model_validator(mode="after")
    def _keys(self) -> "FormSpec":
        keys = [f.key for f in self.fields]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"duplicate field keys / 字段重复: {sorted(dup)}")
        if self.title_field and self.title_field not in keys:
            raise ValueError("title_field must be one of the fields / 标题字段不存在")
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
