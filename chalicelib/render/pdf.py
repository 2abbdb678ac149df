"""A printed record as PDF (打印): company header, title, labelled fields, a table of lines, totals,
terms and a page footer — drawn with fpdf2 in the CJK font of render/fonts.py, of which the PDF
embeds only the glyphs it uses (a subset; /FontFile3, since the font has CFF outlines).

Pure: a `Document` of ready-formatted texts in, the PDF's bytes out. What to print and how values
read (labels, money, dates, field rules) is decided by the caller (chalicelib/printing/service.py).
fpdf2 is imported when a document is rendered, never at import time (cold start)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import fonts

FONT = "cjk"
MARGIN = 15  # mm
LONG = 28  # a value longer than this (characters) gets a row of its own


@dataclass(frozen=True)
class Column:
    label: str
    width: float  # relative
    align: str = "LEFT"  # LEFT | RIGHT | CENTER


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Document:
    company: str
    company_lines: tuple[str, ...]  # address, phone …
    title: str
    subtitle: str = ""
    fields: tuple[tuple[str, str], ...] = ()  # (label, value), in print order
    table: Table | None = None
    totals: tuple[tuple[str, str], ...] = ()
    footer_text: str = ""  # terms and notes, under everything
    page_label: str = "{page} / {pages}"  # "第 {page} 页，共 {pages} 页"
    printed: str = ""  # "打印：李娜 2026-11-23 09:30", on every page
    author: str = ""
    created_at: datetime | None = None
    long_fields: frozenset[str] = field(default_factory=frozenset)  # labels whose value always takes a full row



ROW_LINES, LINE_CHARS = 28, 40  # a long value's row: at most this many lines of about this many CJK characters


def pieces(value: str) -> list[str]:
    """A long text cut at line ends (or inside a very long line) into parts that each fit a page's row."""
    out: list[str] = []
    current: list[str] = []
    used = 0
    for line in value.split("\n"):
        while True:
            if used >= ROW_LINES:
                out.append("\n".join(current))
                current, used = [], 0
            take = line[:(ROW_LINES - used) * LINE_CHARS]
            current.append(take)
            used += max(1, -(-len(take) // LINE_CHARS))
            line = line[len(take):]
            if not line:
                break
    out.append("\n".join(current))
    return out


def texts(doc: Document) -> list[str]:
    """Every text the document draws (the page footer's number aside: digits)."""
    out = [doc.company, *doc.company_lines, doc.title, doc.subtitle, doc.footer_text, doc.page_label, doc.printed,
           *(s for pair in doc.fields for s in pair), *(s for pair in doc.totals for s in pair)]
    if doc.table is not None:
        out += [doc.table.title, *(c.label for c in doc.table.columns), *(v for row in doc.table.rows for v in row)]
    return out


def render(doc: Document) -> bytes:
    """The PDF's bytes (A4 portrait)."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode
    from fpdf.fonts import FontFace

    class Page(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT, size=8)
            self.set_text_color(110)
            self.cell(0, 5, doc.printed, align="L")
            self.set_x(MARGIN)
            self.cell(0, 5, doc.page_label.format(page=self.page_no(), pages=self.alias_nb_pages_placeholder()), align="R")

        def alias_nb_pages_placeholder(self) -> str:
            return self.str_alias_nb_pages

    pdf = Page(orientation="P", unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font(FONT, fname=fonts.for_text(texts(doc)))
    # the subset keeps the font's own bounding box (it still encloses every glyph): recomputing it over
    # the subset's outlines costs a tenth of a print
    pdf.fonts[FONT].ttfont.recalcBBoxes = False
    pdf.set_title(doc.title)
    pdf.set_author(doc.author or doc.company)
    pdf.set_creator("CRM")
    if doc.created_at is not None:
        pdf.set_creation_date(doc.created_at)
    pdf.add_page()
    width = pdf.epw

    # the company header
    pdf.set_font(FONT, size=15)
    pdf.set_text_color(20)
    pdf.multi_cell(width, 7, doc.company, align="L", new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(90)
    for line in doc.company_lines:
        pdf.multi_cell(width, 4.5, line, align="L", new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)
    pdf.ln(1.5)
    pdf.set_draw_color(60)
    pdf.set_line_width(0.5)
    pdf.line(MARGIN, pdf.get_y(), MARGIN + width, pdf.get_y())
    pdf.ln(5)

    # the title
    pdf.set_text_color(0)
    pdf.set_font(FONT, size=18)
    pdf.multi_cell(width, 9, doc.title, align="C", new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)
    if doc.subtitle:
        pdf.set_font(FONT, size=10)
        pdf.set_text_color(80)
        pdf.multi_cell(width, 5, doc.subtitle, align="C", new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)
    pdf.ln(4)

    plain = FontFace(emphasis="", fill_color=None)
    label_face = FontFace(emphasis="", color=(90, 90, 90), fill_color=(244, 245, 247))
    pdf.set_draw_color(200)
    pdf.set_line_width(0.2)
    pdf.set_text_color(0)

    # the fields: two pairs a row; long values a row of their own
    if doc.fields:
        pdf.set_font(FONT, size=9.5)
        with pdf.table(col_widths=(22, 38, 22, 38), first_row_as_headings=False, text_align="LEFT", line_height=5.5,
                       wrapmode=WrapMode.CHAR, padding=(1.5, 2), v_align="TOP") as t:
            pending: list[tuple[str, str]] = []

            def flush() -> None:
                if not pending:
                    return
                row = t.row()
                for label, value in pending:
                    row.cell(label, style=label_face)
                    row.cell(value, style=plain)
                if len(pending) == 1:
                    row.cell("", style=label_face)
                    row.cell("", style=plain)
                pending.clear()

            for label, value in doc.fields:
                if len(value) > LONG or "\n" in value or label in doc.long_fields:
                    flush()
                    for i, piece in enumerate(pieces(value)):  # a table row must fit on one page: long text in rows
                        row = t.row()
                        row.cell(label if i == 0 else "", style=label_face)
                        row.cell(piece, colspan=3, style=plain)
                    continue
                pending.append((label, value))
                if len(pending) == 2:
                    flush()
            flush()
        pdf.ln(5)

    # the lines
    if doc.table is not None:
        pdf.set_font(FONT, size=11)
        pdf.cell(width, 7, doc.table.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, size=9)
        heading = FontFace(emphasis="", fill_color=(232, 236, 242))
        aligns = tuple(c.align for c in doc.table.columns)
        with pdf.table(col_widths=tuple(c.width for c in doc.table.columns), text_align=aligns, line_height=5.5,
                       wrapmode=WrapMode.CHAR, padding=(1.5, 2), headings_style=heading, v_align="TOP") as t:
            head = t.row()
            for c in doc.table.columns:
                head.cell(c.label)
            for values in doc.table.rows:
                row = t.row()
                for value in values:
                    row.cell(value, style=plain)
        pdf.ln(2)

    # the totals, right-aligned
    if doc.totals:
        pdf.set_font(FONT, size=10)
        for label, value in doc.totals:
            pdf.set_x(MARGIN + width * 0.45)
            pdf.cell(width * 0.30, 6.5, label, align="R")
            pdf.cell(width * 0.25, 6.5, value, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    # terms and notes
    if doc.footer_text:
        pdf.ln(2)
        pdf.set_font(FONT, size=9)
        pdf.set_text_color(60)
        pdf.multi_cell(width, 5, doc.footer_text, align="L", new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)
    return bytes(pdf.output())
