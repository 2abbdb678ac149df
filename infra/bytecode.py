"""Ship compiled bytecode with the Lambda packages.

Lambda's code directories are read-only, so Python cannot cache bytecode there: without
.pyc files in the package every cold start compiles every module it imports (measured by
`make bench`: ~2.6 s CPU to import the app uncompiled vs ~1 s compiled). `chalice package`
ships sources only. This adds `__pycache__/*.cpython-3XX.pyc` next to every module in a
zip, as unchecked-hash pycs (valid without comparing source timestamps, which zips do not
preserve reliably). They must be compiled by the runtime's Python version: the running
interpreter when it is that version, else `CRM_RUNTIME_PYTHON` or a `python3.X` found on the
PATH or under pyenv (bytecode is the same on every architecture).

The same rewrite leaves out of the dependencies layer what a Lambda never loads (`unneeded`):
the test suites numpy and matplotlib ship, type stubs, numpy's f2py and the serif font beside the
CJK font the renderers use — about 36 MB, which keeps the layer and the function under Lambda's
250 MB (unzipped) with the printing and chart libraries in it.
"""
from __future__ import annotations

import compileall
import glob
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

RUNTIME_VERSION = (3, 12)  # the default; infra passes infra.components.common.runtime_version()
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


def _version_of(executable: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    if out.returncode != 0:
        return None
    major, _, minor = out.stdout.strip().partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


def runtime_python(version: tuple[int, int] = RUNTIME_VERSION) -> str | None:
    """An interpreter of `version` to compile with: this one, ``CRM_RUNTIME_PYTHON``, ``python3.X`` on
    the PATH, or pyenv's; None when the machine has none."""
    if sys.version_info[:2] == version:
        return sys.executable
    name = f"python{version[0]}.{version[1]}"
    candidates = [os.environ.get("CRM_RUNTIME_PYTHON", ""), shutil.which(name) or ""]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{version[0]}.{version[1]}.*", "bin", name)), reverse=True)
    return next((c for c in candidates if c and _version_of(c) == version), None)


def can_compile_for_runtime(version: tuple[int, int] = RUNTIME_VERSION) -> bool:
    return runtime_python(version) is not None


def _compile(directory: str, version: tuple[int, int]) -> None:
    executable = runtime_python(version)
    if executable is None:
        print(f"warning: no Python {version[0]}.{version[1]} to compile the Lambda packages' bytecode with (set "
              "CRM_RUNTIME_PYTHON): every cold start compiles its modules", file=sys.stderr)
        return
    if executable == sys.executable:
        compileall.compile_dir(directory, quiet=2, workers=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        return
    # Another interpreter: its own compileall (a module that fails to compile stays source-only, as above).
    subprocess.run([executable, "-m", "compileall", "-qq", "--invalidation-mode", "unchecked-hash", directory],
                   capture_output=True, timeout=1800, check=False)


def add_bytecode(zip_path: str, version: tuple[int, int] = RUNTIME_VERSION) -> int:
    """Rewrite `zip_path` without the `unneeded` files and with bytecode of Python `version` beside each
    .py file; returns the number of modules compiled."""
    with tempfile.TemporaryDirectory(prefix="crm-bytecode-") as tmp:
        with zipfile.ZipFile(zip_path) as src:
            kept = [i for i in src.infolist() if not unneeded(i.filename)]
            modes = {i.filename: i.external_attr for i in kept}
            src.extractall(tmp, members=kept)
        _compile(tmp, version)
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
