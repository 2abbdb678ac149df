"""Value conventions both engines share: dates as epoch ms, facet keys, highlighted snippets."""
from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from . import analysis, schema


def to_millis(value: Any) -> float | None:
    """Dates/instants (ISO text, YYYY-MM-DD, epoch ms) -> epoch milliseconds (UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    s = str(value).strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    if dt.tzinfo is None:

        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp() * 1000


def facet_key(kind: str, key: Any) -> Any:
    """Facet keys the same way on both engines: booleans as bool, numbers as int when whole."""
    if kind == schema.BOOLEAN:
        return key in ("true", True, 1, "1")
    if kind in (schema.NUMBER, schema.DATE) and key is not None and float(key).is_integer():
        return int(key)
    return key


def highlight(source: dict[str, Any], fields: list[str], text: str, tag: tuple[str, str] = ("<em>", "</em>")) -> dict[str, str]:
    """Snippets with the query's terms marked, for the fields that matched. The record's own text
    is HTML-escaped: only the marks are markup, so a name like `<img onerror=…>` stays text."""
    terms = [t for t in analysis.query_tokens(text) if t]
    prefix = analysis.prefix_term(text)
    out = {}
    for f in fields:
        value = source.get(f)
        if not isinstance(value, str) or not value:
            continue
        low = analysis.normalize(value)
        marks = [False] * len(value)
        hit = False
        if len(low) == len(value):
            for t in terms:
                start = low.find(t)
                while start >= 0:
                    hit = True
                    for i in range(start, start + len(t)):
                        marks[i] = True
                    start = low.find(t, start + 1)
        if not hit and len(prefix) >= 2 and analysis.prefix_term(value).startswith(prefix):
            out[f] = tag[0] + html.escape(value) + tag[1]
            continue
        if not hit:
            continue
        parts, open_ = [], False
        for ch, m in zip(value, marks, strict=True):
            if m and not open_:
                parts.append(tag[0])
                open_ = True
            elif not m and open_:
                parts.append(tag[1])
                open_ = False
            parts.append(html.escape(ch))
        if open_:
            parts.append(tag[1])
        out[f] = "".join(parts)
    return out
