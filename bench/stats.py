"""Small statistics and formatting helpers (no numpy needed)."""
from __future__ import annotations

import math
import statistics
from collections.abc import Iterable


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else float("nan")


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) — no interpolation, an observed sample."""
    data = sorted(values)
    if not data:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(data)))
    return data[rank - 1]


def summary(values: Iterable[float], scale: float = 1000.0) -> dict[str, float | int]:
    """median / p95 / min / max of seconds, scaled (default: to milliseconds)."""
    data = list(values)
    return {
        "n": len(data),
        "median": round(median(data) * scale, 3),
        "p95": round(percentile(data, 95) * scale, 3),
        "min": round(min(data) * scale, 3) if data else float("nan"),
        "max": round(max(data) * scale, 3) if data else float("nan"),
    }


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def fmt_ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"


def fmt_s(value: float) -> str:
    return f"{value:.3f} s"


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "n/a"
    return "meets budget" if ok else "OVER BUDGET"
