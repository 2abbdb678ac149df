"""The CJK font every rendered document and chart uses: Noto Sans SC (思源黑体 简体), Regular.

It ships inside a pinned PyPI package (`pylopdf-fonts-zh-cn`, requirements.txt), so a fresh clone's
`make` and the Lambda deployment package (Chalice packages requirements.txt into the API's layer) both
have it, with no download of their own. The font is licensed under the SIL Open Font License 1.1
(redistribution and embedding allowed; the licence text is in the package's dist-info). It is an
OpenType font with CFF outlines: PDFs embed a subset of it (fpdf2 writes /FontFile3), charts draw
it through matplotlib's FreeType. `CRM_CJK_FONT` names another font file instead (a TrueType or
OpenType font covering simplified Chinese)."""
from __future__ import annotations

import os
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
