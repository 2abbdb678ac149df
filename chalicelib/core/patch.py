"""The base of every PATCH body: a field left out keeps its value, an explicit null only
clears a field whose type admits null (`X | None`).

A field that must keep a value is declared with a default of None (`name: str = None`)
so that leaving it out reads as "unchanged"; without this base an explicit `null` for
such a field either slipped through as a value the service cannot take (a 500) or met
pydantic's type error in English. Here it is one 422 field error in the caller's
language (`field.not_null`).
"""
from __future__ import annotations

import types
import typing
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from . import context, i18n


def admits_null(annotation: Any) -> bool:
    """Whether a field's type takes None (`X | None`, Optional[X], Any)."""
    if annotation is Any or annotation is None or annotation is type(None):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return admits_null(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(admits_null(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return None in typing.get_args(annotation)
    return False


class Patch(BaseModel):
    _not_nullable: ClassVar[dict[type, frozenset[str]]] = {}

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls._fields_without_null():
            ctx = context.maybe_current()
            raise PydanticCustomError("not_null", i18n.text("field.not_null", ctx.locale if ctx else i18n.DEFAULT_LOCALE))
        return value

    @classmethod
    def _fields_without_null(cls) -> frozenset[str]:
        names = Patch._not_nullable.get(cls)
        if names is None:
            names = frozenset(n for n, f in cls.model_fields.items() if not admits_null(f.annotation))
            Patch._not_nullable[cls] = names
        return names
