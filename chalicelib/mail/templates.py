"""Mail templates rendered with Jinja2: a sandbox (templates are written by users), HTML auto-escaped,
unknown variables refused (422 naming the variable) rather than rendered as nothing.

Variables: `record` (the record's fields as the sender may see them: a hidden field is absent, so a
template naming it is refused for this sender; a masked one is masked), `sender` (name), `unsubscribe_url`
(bulk sends), `today`. An empty field renders as nothing.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..core.errors import ValidationFailed, detail

_VAR = re.compile(r"'(?:[^']*)' (?:is undefined|has no attribute '([^']+)')")


def _finalize(value: Any) -> Any:
    return "" if value is None else value


@lru_cache(maxsize=2)
def _env(html: bool) -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(autoescape=html, undefined=StrictUndefined, finalize=_finalize,
                                trim_blocks=True, lstrip_blocks=True)


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
    try:
        return compile_(source, field, html=html).render(**variables)
    except UndefinedError as e:
        m = _VAR.search(str(e))
        name = (m.group(1) if m and m.group(1) else str(e).split("'")[1]) if "'" in str(e) else str(e)
        raise ValidationFailed("MAIL_TEMPLATE_VARIABLE", variable=name,
                               details=[detail(field, "unknown", "mail.template_variable", variable=name)]) from None
    except SecurityError:
        raise ValidationFailed("MAIL_TEMPLATE_UNSAFE",
                               details=[detail(field, "format", "mail.template_unsafe")]) from None
