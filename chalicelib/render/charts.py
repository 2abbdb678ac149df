"""Chart images for dashboards and reports, with Chinese labels: a sales funnel and a monthly trend.

Pure functions: figures in, PNG or SVG bytes out. matplotlib (Agg, no display) is imported on the
first chart, never at import time (cold start), and draws every text in the CJK font of
render/fonts.py, registered with its font manager once per process — no "Glyph … missing from
font" fallbacks. SVGs carry their texts as paths (they need no font where they are shown) and no
date or random ids: the same figures give the same bytes.

    funnel([{"label": "初步接洽", "count": 12, "amount": Decimal("1200000")}, …], title="销售漏斗", fmt="png")
    trend(["2026-01", …, "2026-12"], {"合同金额": […], "回款金额": […], "目标": […]}, title="月度趋势", fmt="svg")
"""
from __future__ import annotations

import io
import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from . import fonts

Format = Literal["png", "svg"]
FORMATS = ("png", "svg")
PALETTE = ("#2f6fdb", "#27a376", "#f08c2e", "#8a5cd1", "#d9475c", "#3fb5c6", "#7d8797")
DPI = 110

_lock = threading.Lock()  # matplotlib's pyplot state is not thread-safe; charts are drawn one at a time
_ready: dict[str, Any] = {}


def _mpl() -> Any:
    """matplotlib with the Agg backend and the CJK font registered (once per process)."""
    if "mpl" in _ready:
        return _ready["mpl"]
    # a writable cache folder (Lambda's home is read-only) before matplotlib is first imported
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "crm-matplotlib"))
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import font_manager

    font_manager.fontManager.addfont(fonts.path())
    family = font_manager.FontProperties(fname=fonts.path()).get_name()
    _ready["rc"] = {"font.family": [family], "font.sans-serif": [family], "axes.unicode_minus": False,
                    "svg.fonttype": "path", "svg.hashsalt": "crm", "figure.dpi": DPI, "savefig.dpi": DPI}
    _ready["mpl"] = matplotlib
    return matplotlib


def _number(v: Any) -> float:
    return float(Decimal(str(v))) if v is not None else 0.0


def _money(v: float) -> str:
    """Axis and bar texts: 1.2亿, 350万, 8,000."""
    a = abs(v)
    if a >= 1e8:
        return f"{v / 1e8:.2f}".rstrip("0").rstrip(".") + "亿"
    if a >= 1e4:
        return f"{v / 1e4:.1f}".rstrip("0").rstrip(".") + "万"
    return f"{v:,.0f}"


def _save(fig: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    meta = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buf, format=fmt, bbox_inches="tight", metadata=meta)
    return buf.getvalue()


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")


def funnel(stages: Sequence[Mapping[str, Any]], *, title: str, fmt: Format = "png") -> bytes:
    """A sales funnel: one centred bar per stage (width by count), labelled with the stage, the count
    and the amount; stages in the order given (the first on top)."""
    _check(fmt)
    mpl = _mpl()
    with _lock, mpl.rc_context(_ready["rc"]):
        from matplotlib.figure import Figure

        n = max(len(stages), 1)
        fig = Figure(figsize=(7.2, 0.72 * n + 1.3))
        ax = fig.add_subplot()
        counts = [_number(s.get("count")) for s in stages]
        widest = max(counts, default=0) or 1.0
        for i, s in enumerate(stages):
            y = n - 1 - i
            w = max(counts[i] / widest, 0.04)
            ax.barh(y, w, left=(1 - w) / 2, height=0.78, color=PALETTE[i % len(PALETTE)])
            amount = s.get("amount")
            text = f"{s.get('label', '')}  {int(counts[i]):,}" + (f" · ¥{_money(_number(amount))}" if amount is not None else "")
            ax.text(0.5, y, text, ha="center", va="center", fontsize=10, color="#1d1d1f",
                    bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.6, n - 0.4)
        ax.axis("off")
        ax.set_title(title, fontsize=13, pad=10)
        return _save(fig, fmt)


def trend(months: Sequence[str], series: Mapping[str, Sequence[Any]], *, title: str, fmt: Format = "png") -> bytes:
    """A monthly trend: one line per series (e.g. 合同金额, 回款金额, 目标 — a series named 目标 or
    containing "target" is dashed), months along the x axis, amounts in 万/亿 on the y axis."""
    _check(fmt)
    wrong = [name for name, values in series.items() if len(values) != len(months)]
    if wrong:
        raise ValueError(f"series {wrong} do not have one value per month ({len(months)})")
    mpl = _mpl()
    with _lock, mpl.rc_context(_ready["rc"]):
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter

        fig = Figure(figsize=(8, 4.2))
        ax = fig.add_subplot()
        x = list(range(len(months)))
        for i, (name, values) in enumerate(series.items()):
            target = "目标" in name or "target" in name.lower()
            ax.plot(x, [_number(v) for v in values], label=name, color=PALETTE[i % len(PALETTE)], linewidth=2,
                    linestyle="--" if target else "-", marker=None if target else "o", markersize=4)
        ax.set_xticks(x, [m[5:] + "月" if len(m) == 7 and m[4] == "-" else m for m in months], fontsize=9)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _money(v)))
        ax.tick_params(axis="y", labelsize=9)
        ax.grid(axis="y", color="#e3e6eb", linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.set_ylim(bottom=0)
        if series:
            ax.legend(loc="upper left", frameon=False, fontsize=9, ncols=min(len(series), 4))
        ax.set_title(title, fontsize=13, pad=10)
        return _save(fig, fmt)
