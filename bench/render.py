"""`python -m bench.render` — how long printing and charts take (chalicelib/render/), no stack needed.

Each figure is measured in a fresh interpreter (the first render pays the imports of fpdf2 / matplotlib
and the font's registration, as a new Lambda container does), then warm (median of n renders in that
process). Printed as a Markdown table for the README's Benchmarks section."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    "pdf_contract_10_lines": "a contract PDF: header, 12 fields, 10 product lines, totals, terms (1 page)",
    "pdf_contract_100_lines": "a contract PDF with 100 product lines (3 pages)",
    "trend_png": "a 12-month trend, 3 series (合同金额, 回款金额, 目标), PNG",
    "trend_svg": "the same trend as SVG",
    "funnel_png": "a funnel of 5 stages, PNG",
}

_PROBE = r"""
import json, statistics, sys, time
from decimal import Decimal
case, n = sys.argv[1], int(sys.argv[2])

def document(lines):
    from chalicelib.render import pdf
    return pdf.Document(
        company="华夏智联科技有限公司", company_lines=("地址：深圳市南山区科技园科苑路 88 号", "电话：0755-8888 6666"),
        title="销售合同", subtitle="HT202612010001 · 华为 CRM 一期合同",
        fields=tuple((f"字段{i}", f"华为技术有限公司 {i}") for i in range(11)) + (("付款方式", "签约后五个工作日内支付全款。" * 4),),
        table=pdf.Table("产品明细", (pdf.Column("产品", 34), pdf.Column("单位", 8, "CENTER"), pdf.Column("单价", 15, "RIGHT"),
                                     pdf.Column("数量", 11, "RIGHT"), pdf.Column("折扣", 9, "RIGHT"), pdf.Column("小计", 17, "RIGHT")),
                        tuple((f"智联 CRM 专业版 {i}", "套", "¥10,800.00", "10", "5%", "¥102,600.00") for i in range(lines))),
        totals=(("产品合计", "¥1,026,000.00"), ("整单折扣", "5%"), ("合同金额", "¥974,700.00")),
        footer_text="条款：本合同一式两份，双方各执一份，自双方签字盖章之日起生效。", page_label="第 {page} 页，共 {pages} 页",
        printed="打印：李娜  2026-12-01 10:00")

def run():
    if case.startswith("pdf"):
        from chalicelib.render import pdf
        return pdf.render(document(10 if case.endswith("_10_lines") else 100))
    from chalicelib.render import charts
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    if case.startswith("trend"):
        series = {"合同金额": [Decimal(120000 * m) for m in range(1, 13)], "回款金额": [90000 * m for m in range(1, 13)],
                  "目标": [150000 * m for m in range(1, 13)]}
        return charts.trend(months, series, title="2026 年合同与回款", fmt=case.split("_")[1])
    stages = [{"label": s, "count": c, "amount": c * 100000} for s, c in
              (("初步接洽", 40), ("需求确认", 25), ("方案报价", 12), ("谈判审核", 6), ("赢单", 3))]
    return charts.funnel(stages, title="销售漏斗", fmt="png")

t0 = time.perf_counter(); c0 = time.process_time()
body = run()
first = (time.perf_counter() - t0, time.process_time() - c0)
warm, cpu = [], []
for _ in range(n):
    t = time.perf_counter(); c = time.process_time(); run()
    warm.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
print(json.dumps({"first_wall": first[0], "first_cpu": first[1], "warm_median": statistics.median(warm),
                  "warm_cpu": statistics.median(cpu), "warm_max": max(warm), "bytes": len(body)}))
"""


def measure(case: str, n: int = 9) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE, case, str(n)], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    n = 9
    rows = ["| What | First in a fresh process (wall / CPU) | Warm, median of 9: CPU (wall, max wall) | Size |", "|---|---|---|---|"]
    for case, what in CASES.items():
        m = measure(case, n)
        rows.append(f"| {what} | {m['first_wall'] * 1000:.0f} ms / {m['first_cpu'] * 1000:.0f} ms | "
                    f"**{m['warm_cpu'] * 1000:.0f} ms** ({m['warm_median'] * 1000:.0f} ms, {m['warm_max'] * 1000:.0f} ms) | "
                    f"{m['bytes'] / 1024:.0f} KB |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
