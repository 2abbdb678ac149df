"""Ship compiled bytecode with the Lambda packages.

Lambda's code directories are read-only, so Python cannot cache bytecode there: without
.pyc files in the package every cold start compiles every module it imports (measured by
`make bench`: ~2.6 s CPU to import the app uncompiled vs ~1 s compiled). `chalice package`
ships sources only. This adds `__pycache__/*.cpython-311.pyc` next to every module in a
zip, as unchecked-hash pycs (valid without comparing source timestamps, which zips do not
preserve reliably). They must be compiled by the runtime's Python version.

The same rewrite leaves out of the dependencies layer what a Lambda never loads (`unneeded`):
the test suites numpy and matplotlib ship, type stubs, numpy's f2py and the serif font beside the
CJK font the renderers use — about 36 MB, which keeps the layer and the function under Lambda's
250 MB (unzipped) with the printing and chart libraries in it.
"""
from __future__ import annotations

import compileall
import os
import py_compile
import re
import sys
import tempfile
import zipfile

RUNTIME_VERSION = (3, 11)
_SITE = r"^python/lib/python3\.\d+/site-packages/"
_UNNEEDED = re.compile("|".join((
    _SITE + r"(numpy|matplotlib|contourpy|kiwisolver)/(.*/)?tests?/",  # their own test suites
    _SITE + r"numpy/f2py/",  # the Fortran wrapper generator
    _SITE + r"pylopdf_fonts_zh_cn/NotoSerif",  # the serif face: documents and charts use the sans one
    r"\.(pyi|pxd)$",  # type stubs and Cython headers
)))


def unneeded(arcname: str) -> bool:
    """A file of the dependencies layer no Lambda of this app loads."""
    return _UNNEEDED.search(arcname) is not None


def can_compile_for_runtime() -> bool:
    return sys.version_info[:2] == RUNTIME_VERSION


def add_bytecode(zip_path: str) -> int:
    """Rewrite `zip_path` with bytecode beside each .py file; returns the number of modules compiled."""
    if not can_compile_for_runtime():
        return 0
    with tempfile.TemporaryDirectory(prefix="crm-bytecode-") as tmp:
        with zipfile.ZipFile(zip_path) as src:
            kept = [i for i in src.infolist() if not unneeded(i.filename)]
            modes = {i.filename: i.external_attr for i in kept}
            src.extractall(tmp, members=kept)
        compileall.compile_dir(tmp, quiet=2, workers=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        rebuilt = zip_path + ".tmp"
        compiled = 0
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as dst:
            for root, dirs, files in os.walk(tmp):
                dirs.sort()
                for name in sorted(files):
                    path = os.path.join(root, name)
                    arcname = os.path.relpath(path, tmp).replace(os.sep, "/")
                    info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
                    info.external_attr = modes.get(arcname, 0o644 << 16)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with open(path, "rb") as f:
                        dst.writestr(info, f.read())
                    compiled += arcname.endswith(".pyc")
        os.replace(rebuilt, zip_path)
    return compiled
