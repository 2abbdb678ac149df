"""The text of an HTML fragment, for where only text will do (an inbound mail's body when it came
as HTML only, a notification's line about an announcement): scripts, styles and the head are left
out, block elements and line breaks become new lines, character references are read once."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

_SKIPPED = ("script", "style", "head")
_BREAKS = ("br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _SKIPPED:
            self._skip += 1
        elif tag in _BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(source: str) -> str:
    """The text with its lines (at most one empty line in a row)."""
    p = _Text()
    p.feed(source)
    p.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(p.parts)).strip()


def one_line(source: str, limit: int = 120) -> str:
    """The text on one line, cut at `limit` characters with an ellipsis."""
    text = re.sub(r"\s+", " ", html_to_text(source)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
