"""Request/response models of a record type, derived from its definition on first use.

The models carry the contract for the OpenAPI document; the values themselves are
checked by the field-type engine (fieldtypes.py), so bodies accept any JSON per field and
every problem comes back as one 422 in the caller's language. Models are built per
record type when a route of that type is first served or the document is generated, so
cold start does not grow with the number of record types.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..core.inputs import InstantText
from ..search.schemas import PageMeta
from . import fieldtypes
from .definition import EntityDef


class TeamMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str
    access: Literal["read", "write"] = "read"
    until: InstantText | None = Field(None, description="ISO-8601 expiry with a time zone offset; null = no expiry")


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    members: list[TeamMemberIn] = Field(max_length=50)
    version: int | None = None


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_user_id: str
    keep_previous_owner_as: Literal["none", "read", "write"] = Field("none", description="previous owner joins the team")
    cascade: list[str] | None = Field(None, max_length=20, description="related types whose records of the previous owner move "
                                                                       "too (default: the types that cascade transfers)")
    version: int | None = None


class BulkTransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ids: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(min_length=1, max_length=100,
                                                                          description="records to transfer (批量转移)")
    to_user_id: str = Field(min_length=1, max_length=40)
    keep_previous_owner_as: Literal["none", "read", "write"] = "none"
    cascade: list[str] | None = Field(None, max_length=20)


class BulkResult(BaseModel):
    """One record of a bulk action: 200, or the error its own action answered."""

    id: str
    status: int = Field(description="200, or the status the action on this record answered")
    code: str | None = None
    message: str | None = None
    details: object = None


class BulkTransferOut(BaseModel):
    items: list[BulkResult]
    done: int


class TimelineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(50, ge=1, le=100)


class TimelineOut(BaseModel):
    items: list[dict[str, Any]] = Field(description="newest first: {at, kind: log | record | approval | attachment | comment, …}")


class TeamMemberOut(BaseModel):
    user_id: str
    access: str
    until: str | None = None


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace(".", "_").split("_"))


def _field(f: fieldtypes.FieldSpec) -> tuple[Any, Any]:
    return (Any, Field(None, json_schema_extra=fieldtypes.json_schema(f)))


def _body(d: EntityDef, suffix: str, *, creating: bool) -> type[BaseModel]:
    fields: dict[str, Any] = {f.key: _field(f) for f in d.fields if not f.readonly}
    if d.features.custom_fields:
        fields["custom"] = (dict[str, Any] | None, Field(None, description=f"custom field values by key (GET /v1/fields/{d.name}); "
                                                                          "null removes one"))
    if creating and d.features.owner:
        fields["owner_id"] = (str | None, Field(None, description="负责人; defaults to the caller"))
    if not creating:
        fields["version"] = (int | None, None)
    required = [f.key for f in d.fields if f.required and not f.readonly] if creating else []
    extra = {"required": required} if required else {}
    # extra keys pass to the field engine, which refuses them by name in the caller's language
    config = ConfigDict(extra="allow", json_schema_extra=extra or None)
    return create_model(f"{pascal(d.name)}{suffix}", __config__=config, **fields)


_built: dict[tuple[str, int], dict[str, type[BaseModel]]] = {}


def _models(d: EntityDef) -> dict[str, type[BaseModel]]:
    key = (d.name, d.version)
    if key not in _built:
        _built[key] = _build(d)
    return _built[key]


def _build(d: EntityDef) -> dict[str, type[BaseModel]]:
    name = pascal(d.name)
    values = {f.key: _field(f) for f in d.fields}
    if d.duplicates:  # 查重: create and update responses report the readable records a warn rule matched
        from ..duplicates.schemas import DuplicateMatch

        values["duplicates"] = (list[DuplicateMatch] | None, Field(None, description="create/update only: records I may read that a "
                                                                          "duplicate rule matched (warnings; a block is a 409)"))
    out = create_model(
        f"{name}Out", __doc__="Fields the caller may not see are absent; masked fields are masked (field permissions).",
        id=(str, ...), owner_id=(str, ...), **values,
        custom=(dict[str, Any], Field(default_factory=dict, description="custom field values the caller may see")),
        team=(list[TeamMemberOut], []), access=(Literal["read", "write"], ...), created_at=(str, ...), created_by=(str, ...),
        updated_at=(str, ...), version=(int, ...))
    hit = create_model(f"{name}Hit", __base__=out,
                       highlight=(dict[str, str] | None, Field(None, description="matched fields with the query terms marked")))
    page = create_model(f"{name}Page", __base__=PageMeta, items=(list[hit], ...))
    related = create_model(f"{name}Related", record=(out, ...),
                           related=(dict[str, list[dict[str, Any]]], Field(description="related type -> records I may read (their "
                                                                                       "own children too: a contract's payments)")),
                           approvals=(list[dict[str, Any]], Field(default_factory=list, description="approvals of the record and "
                                                                                                    "of the related records I may read")))
    merged = create_model(f"{name}Merged", __base__=out, moved=(dict[str, int], Field(
        description="what moved from the merged record: children, attachments, team grants")))
    return {"in": _body(d, "In", creating=True), "patch": _body(d, "Patch", creating=False), "out": out, "hit": hit, "page": page,
            "related": related, "merged": merged}


def model(d: EntityDef, kind: str) -> type[BaseModel]:
    """in | patch | out | hit | page | related | merged"""
    return _models(d)[kind]


def lazy_out(d: EntityDef) -> Any:
    """A route's response model: the record type's "out" model, built when the route is first described."""
    from ..core.api import Lazy

    return Lazy(lambda: model(d, "out"))
