"""The rendering pieces other modules call: the CJK font the project installs itself, chart images with
Chinese labels (funnel, monthly trend) as valid PNG and SVG drawn without missing glyphs, the PDF
document renderer, and how printed values read."""
from __future__ import annotations

import io
import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.render import charts, fonts, pdf

MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
SERIES = {"合同金额": [Decimal(120000) * m for m in range(1, 13)], "回款金额": [90000.5 * m for m in range(1, 13)],
          "目标": [150000 * m for m in range(1, 13)]}
STAGES = [{"label": "初步接洽", "count": 40, "amount": Decimal("4000000")}, {"label": "需求确认", "count": 25, "amount": 3100000},
          {"label": "方案报价", "count": 12, "amount": 1800000}, {"label": "谈判审核", "count": 6, "amount": None}]


def test_given_a_fresh_install_then_the_cjk_font_is_there_and_covers_chinese():
    from fontTools.ttLib import TTFont

    path = Path(fonts.path())
    assert path.is_file() and path.stat().st_size > 1_000_000
    font = TTFont(path, lazy=True)
    cmap = font.getBestCmap()
    assert all(ord(ch) in cmap for ch in "华夏智联科技有限公司合同金额回款¥，：")
    assert "OFL" in font["name"].getDebugName(13) or "Open Font License" in font["name"].getDebugName(13)


def test_given_crm_cjk_font_naming_no_file_then_the_error_says_so(monkeypatch):
    monkeypatch.setenv("CRM_CJK_FONT", "/nonexistent/font.otf")
    fonts.path.cache_clear()
    try:
        with pytest.raises(fonts.FontMissing, match="CRM_CJK_FONT"):
            fonts.path()
    finally:
        monkeypatch.delenv("CRM_CJK_FONT")
        fonts.path.cache_clear()


def _no_missing_glyphs(draw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = draw()
    glyphs = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert not glyphs, glyphs
    return out


@pytest.mark.parametrize("kind", ["trend", "funnel"])
def test_given_chinese_labels_when_a_chart_is_drawn_as_png_then_it_is_a_valid_image_without_missing_glyphs(kind):
    from PIL import Image

    if kind == "trend":
        body = _no_missing_glyphs(lambda: charts.trend(MONTHS, SERIES, title="2026 年合同与回款趋势", fmt="png"))
    else:
        body = _no_missing_glyphs(lambda: charts.funnel(STAGES, title="销售漏斗", fmt="png"))
    assert body.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(body))
    image.verify()
    assert image.format == "PNG" and image.size[0] > 400 and image.size[1] > 200


def test_given_chinese_labels_when_a_chart_is_drawn_as_svg_then_it_is_valid_svg_with_text_as_paths_and_the_same_bytes_each_time():
    body = _no_missing_glyphs(lambda: charts.trend(MONTHS, SERIES, title="月度趋势", fmt="svg"))
    root = ET.fromstring(body)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert b"<text" not in body and b"<path" in body  # glyphs drawn, no font needed where it is shown
    assert charts.trend(MONTHS, SERIES, title="月度趋势", fmt="svg") == body
    funnel = _no_missing_glyphs(lambda: charts.funnel(STAGES, title="销售漏斗", fmt="svg"))
    assert ET.fromstring(funnel).tag.endswith("svg")


def test_given_bad_chart_input_then_it_is_refused_plainly():
    with pytest.raises(ValueError, match="fmt"):
        charts.trend(MONTHS, SERIES, title="x", fmt="gif")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one value per month"):
        charts.trend(MONTHS, {"合同金额": [1, 2]}, title="x")
    assert charts.funnel([], title="空", fmt="png").startswith(b"\x89PNG")  # an empty funnel still draws


def test_given_a_fresh_interpreter_when_the_app_is_imported_then_no_rendering_library_is_loaded():
    code = ("import sys, app; heavy = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'matplotlib', 'numpy', 'PIL', 'fpdf', 'fontTools', 'pypdf'}); print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]", out.stdout


def test_given_a_document_when_rendered_then_it_is_a_pdf_with_the_font_subset_embedded():
    from pypdf import PdfReader

    doc = pdf.Document(company="华夏智联科技有限公司", company_lines=("电话：0755-8888 6666",), title="报价单",
                       fields=(("客户", "华为技术有限公司"), ("备注", "长文本" * 40)),
                       table=pdf.Table("产品明细", (pdf.Column("产品", 30), pdf.Column("小计", 10, "RIGHT")),
                                       tuple((f"产品{i}", "¥1.00") for i in range(60))),
                       totals=(("合计", "¥60.00"),), page_label="第 {page} 页，共 {pages} 页")
    body = pdf.render(doc)
    reader = PdfReader(io.BytesIO(body))
    assert len(reader.pages) >= 2  # the table runs onto a second page
    text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in reader.pages))
    assert "第2页，共" in text and "产品59" in text and "合计¥60.00" in text
    font = reader.pages[0]["/Resources"]["/Font"]
    descriptor = next(iter(font.values())).get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    assert "/FontFile3" in descriptor or "/FontFile2" in descriptor


def test_given_a_value_longer_than_a_page_when_printed_then_it_runs_over_pages_whole():
    from pypdf import PdfReader

    terms = "".join(f"第{i}条：付款、交付与验收按双方约定执行。" for i in range(1, 200))  # ~4,000 characters of 报价条款
    doc = pdf.Document(company="华夏智联科技有限公司", company_lines=(), title="报价单",
                       fields=(("报价条款", terms), ("备注", "\n".join(f"第{i}行" for i in range(120)))), table=None, totals=(),
                       page_label="第 {page} 页，共 {pages} 页")
    reader = PdfReader(io.BytesIO(pdf.render(doc)))
    text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in reader.pages))
    assert len(reader.pages) >= 3 and "第199条" in text and "第119行" in text


def test_given_values_when_formatted_for_print_then_they_read_as_people_write_them():
    from chalicelib.printing import service

    assert service.money(Decimal("1234567.5")) == "¥1,234,567.50"
    assert service.money(0.125) == "¥0.13"  # half up, exact
    assert service.number(Decimal("12.5000")) == "12.5" and service.number(1200) == "1,200"
    assert service.percent(Decimal("5.00")) == "5%"
    assert service.day("2026-11-03", "zh-CN") == "2026年11月3日" and service.day("2026-11-03", "en") == "2026-11-03"
    assert service.accepts_pdf("application/pdf") and service.accepts_pdf("text/html, */*;q=0.8")
    assert not service.accepts_pdf(None) and not service.accepts_pdf("application/json")
    assert not service.accepts_pdf("application/pdf;q=0")
    assert service.disposition("合同 HT-001.pdf") == "inline; filename=\"___HT-001.pdf\"; filename*=UTF-8''%E5%90%88%E5%90%8C%20HT-001.pdf"


@pytest.fixture(scope="module")
def common_font():
    """The common subset as `make` builds it (built here when this checkout has not built it yet)."""
    if not (fonts.BUILT / fonts.COMMON_FILE).is_file():
        fonts.build_common()
    fonts._common.cache_clear()
    yield fonts.BUILT / fonts.COMMON_FILE
    fonts._common.cache_clear()


def test_given_the_common_subset_then_it_covers_gb2312_and_everyday_symbols_and_keeps_the_licence(common_font):
    from fontTools.ttLib import TTFont

    font = TTFont(common_font, lazy=True)
    cmap = font.getBestCmap()
    everyday = "华夏智联科技有限公司合同金额回款鑫淼，：；「」《》①②¥€°×÷→№ABCxyz0123456789"
    assert all(ord(ch) in cmap for ch in everyday), [ch for ch in everyday if ord(ch) not in cmap]
    assert 7_000 < len(cmap) < 12_000  # GB 2312's 7,445 and the blocks, not the whole font's 30,000+
    assert not {"䶮", "犇"} & {chr(c) for c in cmap}  # CJK extension A and GBK: the whole font's
    assert "Open Font License" in font["name"].getDebugName(13) or "OFL" in font["name"].getDebugName(13)
    assert common_font.stat().st_size < Path(fonts.path()).stat().st_size / 3


def test_given_a_document_when_its_font_is_chosen_then_common_text_takes_the_subset_and_a_rare_character_the_whole_font(
        common_font, monkeypatch):
    from pypdf import PdfReader

    common = pdf.Document(company="华夏智联科技有限公司", company_lines=("电话：0755-8888 6666",), title="合同 HT-2026-0001",
                          fields=(("客户", "华为技术有限公司"), ("金额", "¥1,234.00")), page_label="第 {page} 页，共 {pages} 页")
    rare = pdf.Document(company="华夏智联科技有限公司", company_lines=(), title="合同", fields=(("签约人", "王䶮"),))
    assert fonts.for_text(pdf.texts(common)) == str(common_font)
    assert fonts.for_text(pdf.texts(rare)) == fonts.path()
    for doc, expected in ((common, "华为技术有限公司"), (rare, "王䶮")):  # both draw every character they hold
        text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.render(doc))).pages))
        assert expected in text
    monkeypatch.setenv("CRM_CJK_FONT", fonts.path())  # a font of the operator's own: never swapped for the subset
    fonts._common.cache_clear()
    fonts.path.cache_clear()
    try:
        assert fonts.for_text(pdf.texts(common)) == fonts.path()
    finally:
        monkeypatch.delenv("CRM_CJK_FONT")
        fonts._common.cache_clear()
        fonts.path.cache_clear()
