"""Mail templates rendered with Jinja2: a sandbox (templates are written by users), HTML auto-escaped,
unknown variables refused (422 naming the variable) rather than rendered as nothing.

Variables: `record` (the record's fields as the sender may see them: a hidden field is absent, so a
template naming it is refused for this sender; a masked one is masked), `sender` (name), `unsubscribe_url`
(bulk sends), `today`. An empty field renders as nothing.

A template is code a user wrote, run in the API: the sandbox refuses attribute tricks, `range` is not
offered, `*` and `**` may not build huge strings, lists or numbers, the output stops at MAX_OUTPUT
characters, and any error while rendering (1/0, adding text to a number …) is a 422 naming the field,
never a failed request.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..core.errors import ValidationFailed, detail

MAX_OUTPUT = 200_000  # characters of one rendered field (a mail body's limit is below it)
MAX_POWER = 64  # the largest exponent of `**`
_VAR = re.compile(r"'(?:[^']*)' (?:is undefined|has no attribute '([^']+)')")


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _too_big(operator: str, left: Any, right: Any) -> bool:
    if operator == "**":
        return not isinstance(right, (int, float)) or abs(right) > MAX_POWER
    sized, times = (left, right) if isinstance(right, int) else (right, left)
    if isinstance(sized, (str, list, tuple)) and isinstance(times, int):
        return len(sized) * times > MAX_OUTPUT
    return False


@lru_cache(maxsize=2)
def _env(html: bool) -> Any:
    from jinja2 import StrictUndefined
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    class _Env(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if _too_big(operator, left, right):
                raise SecurityError(f"{operator} result too large")
            return super().call_binop(context, operator, left, right)

    env = _Env(autoescape=html, undefined=StrictUndefined, finalize=_finalize, trim_blocks=True, lstrip_blocks=True)
    env.globals.pop("range", None)
    return env


def compile_(source: str, field: str, *, html: bool = False) -> Any:
    """A template, or 422 pointing at `field` when its syntax is wrong."""
    from jinja2 import TemplateSyntaxError

    try:
        return _env(html).from_string(source)
    except TemplateSyntaxError as e:
        raise ValidationFailed("MAIL_TEMPLATE_SYNTAX", field=field, line=e.lineno,
                               details=[detail(field, "format", "mail.template_syntax", line=e.lineno)]) from None


def render(source: str | None, variables: dict[str, Any], field: str, *, html: bool = False) -> str | None:
    """`source` rendered with `variables`; 422 MAIL_TEMPLATE_VARIABLE naming an unknown (or hidden) variable."""
    from jinja2 import UndefinedError
    from jinja2.exceptions import SecurityError

    if source is None:
        return None
    template = compile_(source, field, html=html)
    try:
        out, size = [], 0
        for chunk in template.generate(**variables):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise ValidationFailed("MAIL_TEMPLATE_RENDER", details=[
                    detail(field, "length", "mail.template_render", reason=f"> {MAX_OUTPUT}")])
            out.append(chunk)
        return "".join(out)
    except UndefinedError as e:
        m = _VAR.search(str(e))
        name = (m.group(1) if m and m.group(1) else str(e).split("'")[1]) if "'" in str(e) else str(e)
        raise ValidationFailed("MAIL_TEMPLATE_VARIABLE", variable=name,
                               details=[detail(field, "unknown", "mail.template_variable", variable=name)]) from None
    except SecurityError:
        raise ValidationFailed("MAIL_TEMPLATE_UNSAFE",
                               details=[detail(field, "format", "mail.template_unsafe")]) from None
    except ValidationFailed:
        raise
    except Exception as e:  # noqa: BLE001 - whatever a user's template raises while rendering is the template's fault
        raise ValidationFailed("MAIL_TEMPLATE_RENDER", details=[
            detail(field, "format", "mail.template_render", reason=type(e).__name__)]) from None
