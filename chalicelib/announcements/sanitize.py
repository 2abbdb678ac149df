"""Rich text of announcements, cleaned on input with an allow-list (html.parser, no dependency).

What survives: the tags in TAGS with the attributes ATTRS allows for them; links and images only
with http(s) (and mailto for links) or relative URLs. Everything else goes: script, style, iframe
and the like with their content; event handlers (onerror, onclick…), style and class attributes;
javascript:/data:/vbscript: URLs; comments and processing instructions. Text is escaped again, so
what is stored is well-formed HTML that a browser can show as it is.
"""
from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from ..core import htmltext

TAGS = frozenset({"p", "br", "b", "strong", "i", "em", "u", "s", "del", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li",
                  "blockquote", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "span", "div", "hr", "pre", "code",
                  "sub", "sup"})
VOID = frozenset({"br", "hr", "img"})
DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math",
                               "textarea", "select", "title", "head"})
ATTRS = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"},
         "th": {"colspan", "rowspan"}}
URL_ATTRS = frozenset({"href", "src"})
_SCHEMES = {"a": ("http", "https", "mailto"), "img": ("http", "https")}
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
_NUMBER = re.compile(r"^\d{1,4}$")


def _safe_url(tag: str, value: str) -> str | None:
    squeezed = _CONTROL.sub("", value)  # "java\tscript:" is javascript: to a browser
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):", squeezed)
    if scheme is None:
        return value.strip() if not squeezed.startswith("//") else None  # relative, not protocol-relative
    return value.strip() if scheme.group(1).lower() in _SCHEMES.get(tag, ()) else None


class _Cleaner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0  # inside a dropped element (its content goes too)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROP_WITH_CONTENT:
            self.dropping += 1
            return
        if self.dropping or tag not in TAGS:
            return
        kept = []
        for name, value in attrs:
            if name not in ATTRS.get(tag, ()) or value is None:
                continue
            if name in URL_ATTRS:
                value = _safe_url(tag, value)
                if value is None:
                    continue
            elif name in ("width", "height", "colspan", "rowspan") and not _NUMBER.match(value.strip()):
                continue
            kept.append(f' {name}="{escape(value, quote=True)}"')
        if tag == "a" and any(k.startswith(" href") for k in kept):
            kept.append(' rel="noopener noreferrer"')
        self.out.append(f"<{tag}{''.join(kept)}>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and tag in TAGS and not self.dropping and self.open and self.open[-1] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_WITH_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping or tag not in TAGS or tag in VOID or tag not in self.open:
            return
        while self.open:  # close what was left open inside it
            top = self.open.pop()
            self.out.append(f"</{top}>")
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(escape(data, quote=False))


def clean(html: str) -> str:
    """`html` with only what the allow-list keeps, every element closed."""
    c = _Cleaner()
    c.feed(html)
    c.close()
    return "".join(c.out) + "".join(f"</{t}>" for t in reversed(c.open))


def text_of(html: str, limit: int = 120) -> str:
    """The plain text of cleaned HTML on one line (a notification's body)."""
    return htmltext.one_line(html, limit)
