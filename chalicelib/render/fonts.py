"""The CJK font every rendered document and chart uses: Noto Sans SC (思源黑体 简体), Regular.

It ships inside a pinned PyPI package (`pylopdf-fonts-zh-cn`, requirements.txt), so a fresh clone's
`make` and the Lambda deployment package (Chalice packages requirements.txt into the API's layer) both
have it, with no download of their own. The font is licensed under the SIL Open Font License 1.1
(redistribution and embedding allowed; the licence text is in the package's dist-info). It is an
OpenType font with CFF outlines: PDFs embed a subset of it (fpdf2 writes /FontFile3), charts draw
it through matplotlib's FreeType. `CRM_CJK_FONT` names another font file instead (a TrueType or
OpenType font covering simplified Chinese).

The common subset: parsing the whole font (65,000 glyphs, 8 MB) and subsetting it again for every PDF
is most of a print's time. `python -m chalicelib.render.fonts build` (run by `make` and before
`cdk synth` packages the app) writes a subset of it to `render/built/` — the characters of GB 2312
(6,763 hanzi and its symbols), Latin, and the punctuation, currency, number and arrow blocks, about
8,000 glyphs in 2 MB — and a PDF whose every character that subset covers is drawn with it
(`for_text`); any other text (a rare character in a name) takes the whole font, so nothing is ever
missing. The subset is a Modified Version of the font under the same licence, made at build time from
the installed package and never kept in the repository. Without it (not built), the whole font."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

PACKAGE = "pylopdf_fonts_zh_cn"
FILE = "NotoSansSC-Regular.otf"
FAMILY = "Noto Sans SC"
LICENSE = "SIL Open Font License 1.1"


class FontMissing(RuntimeError):
    """The CJK font is not installed (requirements.txt was not installed, or CRM_CJK_FONT is wrong)."""


@lru_cache(maxsize=1)
def path() -> str:
    """The font file's absolute path (found once per process; no import of the package's code)."""
    given = os.environ.get("CRM_CJK_FONT")
    if given:
        if not Path(given).is_file():
            raise FontMissing(f"CRM_CJK_FONT names no file: {given}")
        return given
    from importlib.util import find_spec

    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FontMissing(f"the CJK font package {PACKAGE} is not installed (pip install -r requirements.txt)")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / FILE
        if candidate.is_file():
            return str(candidate)
    raise FontMissing(f"{FILE} is missing from the package {PACKAGE}")


BUILT = Path(__file__).resolve().parent / "built"
COMMON_FILE = "NotoSansSC-common.otf"
# Unicode blocks the common subset keeps whole, besides GB 2312's characters
COMMON_BLOCKS = ((0x20, 0x7E), (0xA0, 0x24F), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x218F), (0x2190, 0x21FF),
                 (0x2200, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x25FF), (0x3000, 0x303F), (0xFF00, 0xFFEF))


def common_characters() -> set[int]:
    """GB 2312 (every character its two-byte table encodes: 6,763 hanzi, kana, Greek, Cyrillic, symbols)
    and the blocks above."""
    out = {c for lo, hi in COMMON_BLOCKS for c in range(lo, hi + 1)}
    for first in range(0xA1, 0xF8):
        for second in range(0xA1, 0xFF):
            try:
                out.add(ord(bytes((first, second)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return out


def build_common(folder: Path = BUILT) -> Path:
    """Write the common subset of the installed font (`folder`/COMMON_FILE, replaced whole)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(path())
    options = subset.Options()
    options.layout_features = []  # fpdf2 draws without shaping: no GSUB/GPOS needed
    options.name_IDs = ["*"]  # the name table keeps the copyright and licence records
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=common_characters())
    subsetter.subset(font)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / COMMON_FILE
    partial = out.with_suffix(".tmp")
    font.save(partial)
    partial.replace(out)  # never a half-written font for a process that starts meanwhile
    return out


@lru_cache(maxsize=1)
def _common() -> tuple[str, frozenset[int]] | None:
    """The built common subset and the characters it covers; None when it is not built or CRM_CJK_FONT is set."""
    candidate = BUILT / COMMON_FILE
    if os.environ.get("CRM_CJK_FONT") or not candidate.is_file():
        return None
    from fontTools.ttLib import TTFont

    return str(candidate), frozenset(TTFont(candidate, lazy=True).getBestCmap())


def for_text(texts: Iterable[str]) -> str:
    """The font file to draw these texts with: the common subset when it covers every character, else the whole font."""
    common = _common()
    if common is not None:
        file, covered = common
        if all(ord(ch) in covered for text in texts for ch in text if ch not in "\n\r\t"):
            return file
    return path()


if __name__ == "__main__":  # python -m chalicelib.render.fonts build
    if sys.argv[1:] != ["build"]:
        raise SystemExit("usage: python -m chalicelib.render.fonts build")
    print(build_common())
