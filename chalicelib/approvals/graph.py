"""A flow definition as a picture: graph JSON, Mermaid, SVG and the data-table view (FLOW-4).

Pure functions over a flow spec dict (`FlowSpec.model_dump(mode="json")`). The graph runs
from a start node through every approve/notify node to an end node; a `branch` node is a
gateway with one edge per condition branch, in the order plan.py tries them (priority, then
position; the branch without conditions last, as the default). Every branch path meets
again at a join point and continues with the next node. When no branch is the default the
flow skips the branch node if none matches, so the gateway then has a "no match" edge
straight to the join.

Layout hints on every node: `depth` is the row (0 = start), `lane` the column centre in
column units with the main line at 0 (branches to the left are negative, to the right
positive) and `span` the number of columns the node's part of the flow takes.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

START, END = "__start__", "__end__"  # never a node id (ids start with a letter)

MODE_LABELS = {"sequential": "依次", "all": "会签", "any": "或签", "majority": "半数通过"}
KIND_LABELS = {"approve": "审批", "notify": "知会", "branch": "条件分支"}
TIMEOUT_LABELS = {"remind": "再次提醒", "escalate": "升级至上级", "auto_pass": "自动通过", "auto_reject": "自动拒绝"}
ACTION_LABELS = {"approve": "同意", "reject": "拒绝", "transfer": "转交", "add_signer": "加签", "comment": "评论"}
OP_SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "in": "∈", "not_in": "∉", "contains": "包含"}
DEFAULT_LABEL = "默认"
NO_MATCH_LABEL = "无匹配·跳过"


# ---- readable texts -------------------------------------------------------------------------

def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "空"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def condition_text(cond: Mapping[str, Any]) -> str:
    """One condition as people read it: `amount > 50000`, `leave_type ∈ [annual, sick]`."""
    field, op, value = cond.get("field", ""), cond.get("op", ""), cond.get("value")
    if op == "exists":
        return f"{field} 有值" if value in (None, True) else f"{field} 为空"
    return f"{field} {OP_SYMBOLS.get(op, op)} {_value(value)}"


def conditions_text(conditions: list[Mapping[str, Any]] | None) -> str:
    """All conditions of a branch (they must all hold); the default branch reads 默认."""
    return " 且 ".join(condition_text(c) for c in conditions) if conditions else DEFAULT_LABEL


def approvers_text(rule: Mapping[str, Any] | None) -> str:
    if not rule:
        return ""
    t = rule.get("type")
    level = int(rule.get("level") or 1)
    if t == "users":
        return "指定成员:" + ",".join(rule.get("user_ids") or [])
    if t == "supervisor":
        text = "直属上级(1级)" if level == 1 else f"上级({level}级)"
        return text + ("(缺失时跳过)" if rule.get("fallback") == "skip" else "")
    if t == "supervisor_chain":
        return f"连续多级主管(至{level}级)"
    if t == "role":
        return f"角色:{rule.get('role_id')}"
    if t == "department_head":
        return f"部门负责人:{rule['department_id']}" if rule.get("department_id") else "部门负责人"
    if t == "applicant_choice":
        return "发起人自选"
    return str(t)


def effective_mode(node: Mapping[str, Any]) -> str:
    """The mode a node runs with: a supervisor chain is always sequential (plan.approvers)."""
    if (node.get("approvers") or {}).get("type") == "supervisor_chain":
        return "sequential"
    return node.get("mode") or "any"


def _hours(h: Any) -> str:
    return _value(float(h)) if isinstance(h, int | float) and not isinstance(h, bool) else str(h)


def ordered_branches(branches: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Branches in the order plan.pick_branch tries them."""
    indexed = sorted(enumerate(branches), key=lambda ib: (not ib[1].get("conditions"), ib[1].get("priority", 0), ib[0]))
    return [b for _, b in indexed]


def _has_default(branches: list[Mapping[str, Any]]) -> bool:
    return any(not b.get("conditions") for b in branches)


def branch_label(branch: Mapping[str, Any]) -> str:
    name = branch.get("name", "")
    conds = branch.get("conditions") or []
    if conds:
        return f"{name}: {conditions_text(conds)}"
    return name if DEFAULT_LABEL in name else f"{name} ({DEFAULT_LABEL})"


# ---- graph ----------------------------------------------------------------------------------

Pending = list[tuple[str, str, dict[str, Any]]]  # edges waiting for the next node placed: (from, label, extra keys)

def _width(nodes: list[Mapping[str, Any]]) -> int:
    """Columns a node list takes: one, or the branch columns side by side."""
    widest = 1
    for n in nodes:
        if n.get("kind") == "branch":
            branches = n.get("branches") or []
            cols = sum(_width(b.get("nodes") or []) for b in branches) + (0 if _has_default(branches) else 1)
            widest = max(widest, cols)
    return widest


def to_graph(spec: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []

    def place(node: dict[str, Any], pending: Pending) -> None:
        nodes.append(node)
        for src, label, extra in pending:
            edges.append({"from": src, "to": node["id"], "label": label, **extra})

    def seq(items: list[Mapping[str, Any]], depth: int, lane: float, pending: Pending) -> tuple[int, Pending]:
        span = _width(items)
        for n in items:
            kind = n.get("kind") or "approve"
            if kind != "branch":
                mode = effective_mode(n)
                place({"id": n["id"], "label": n["name"], "kind": kind, "mode": mode, "mode_label": MODE_LABELS.get(mode, mode),
                       "approvers": approvers_text(n.get("approvers")), "time_limit_hours": n.get("time_limit_hours"),
                       "on_timeout": n.get("on_timeout", "remind"), "depth": depth, "lane": lane, "span": span}, pending)
                pending, depth = [(n["id"], "", {})], depth + 1
                continue
            branches = n.get("branches") or []
            has_default = _has_default(branches)
            cols = sum(_width(b.get("nodes") or []) for b in branches) + (0 if has_default else 1)
            place({"id": n["id"], "label": n["name"], "kind": "gateway", "depth": depth, "lane": lane, "span": cols}, pending)
            join = f"{n['id']}#join"
            # every gateway edge first, in the order the branches are tried, then the branch bodies
            left = lane - cols / 2
            columns: list[tuple[Mapping[str, Any], float]] = []
            for order, b in enumerate(ordered_branches(branches)):
                w = _width(b.get("nodes") or [])
                col = left + w / 2
                left += w
                columns.append((b, col))
                first = (b.get("nodes") or [{"id": join}])[0]["id"]
                edges.append({"from": n["id"], "to": first, "label": branch_label(b), "branch": b.get("name"),
                              "priority": b.get("priority", 0), "order": order, "default": not b.get("conditions"),
                              "condition": conditions_text(b.get("conditions")), "lane": col})
            if not has_default:
                edges.append({"from": n["id"], "to": join, "label": NO_MATCH_LABEL, "branch": None, "priority": None,
                              "order": len(columns), "default": True, "condition": NO_MATCH_LABEL, "lane": left + 0.5})
            ends: Pending = []
            deepest = depth + 1
            for b, col in columns:
                d, out = seq(b.get("nodes") or [], depth + 1, col, [])
                ends += out
                deepest = max(deepest, d)
            place({"id": join, "label": "", "kind": "join", "gateway": n["id"], "depth": deepest, "lane": lane, "span": cols}, ends)
            pending, depth = [(join, "", {})], deepest + 1
        return depth, pending

    place({"id": START, "label": "开始", "kind": "start", "depth": 0, "lane": 0.0, "span": 1}, [])
    depth, pending = seq(list(spec.get("nodes") or []), 1, 0.0, [(START, "", {})])
    place({"id": END, "label": "结束", "kind": "end", "depth": depth, "lane": 0.0, "span": 1}, pending)
    return {"nodes": nodes, "edges": edges}


def _detail(node: Mapping[str, Any]) -> list[str]:
    """The lines under a node's name: who and how, then the time limit."""
    if node["kind"] == "notify":
        lines = [f"知会 · {node['approvers']}"]
    else:
        lines = [f"{node['approvers']} · {node['mode_label']}"]
    if node.get("time_limit_hours"):
        lines.append(f"时限 {_hours(node['time_limit_hours'])}h · 超时{TIMEOUT_LABELS.get(node['on_timeout'], node['on_timeout'])}")
    return lines


# ---- mermaid --------------------------------------------------------------------------------

_MERMAID_ESCAPES = {c: f"#{ord(c)};" for c in '#"&<>|`'}


def _mm(text: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes for what the parser or HTML would eat)."""
    return "".join(_MERMAID_ESCAPES.get(c, c) for c in re.sub(r"[\r\n\t]+", " ", str(text)))


def to_mermaid(spec: Mapping[str, Any]) -> str:
    g = to_graph(spec)
    ids = {n["id"]: f"n{i}" for i, n in enumerate(g["nodes"])}  # node ids like `end` would break the parser
    lines = ["flowchart TD"]
    classes: dict[str, list[str]] = {}
    for n in g["nodes"]:
        mid, kind = ids[n["id"]], n["kind"]
        if kind == "start":
            lines.append(f'    {mid}(("{_mm(n["label"])}"))')
        elif kind == "end":
            lines.append(f'    {mid}(["{_mm(n["label"])}"])')
        elif kind == "join":
            lines.append(f'    {mid}(("汇合"))')
        elif kind == "gateway":
            lines.append(f'    {mid}{{"{_mm(n["label"])}"}}')
        else:
            label = "<br/>".join(_mm(x) for x in [n["label"], *_detail(n)])
            lines.append(f'    {mid}>"{label}"]' if kind == "notify" else f'    {mid}["{label}"]')
        classes.setdefault(kind, []).append(mid)
    for e in g["edges"]:
        arrow = f'-->|"{_mm(e["label"])}"|' if e["label"] else "-->"
        lines.append(f"    {ids[e['from']]} {arrow} {ids[e['to']]}")
    styles = {"start": "fill:#ecfdf5,stroke:#10b981", "end": "fill:#fef2f2,stroke:#ef4444", "gateway": "fill:#fff7ed,stroke:#f97316",
              "notify": "fill:#f0fdf4,stroke:#22c55e,stroke-dasharray:4 3", "join": "fill:#f3f4f6,stroke:#9ca3af"}
    for kind, style in styles.items():
        if classes.get(kind):
            lines.append(f"    classDef kind_{kind} {style}")  # `end` alone is a Mermaid keyword
            lines.append(f"    class {','.join(classes[kind])} kind_{kind}")
    return "\n".join(lines) + "\n"


# ---- svg ------------------------------------------------------------------------------------

ROW_H, PAD, BOX_H = 120, 24, 66
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_HALF_H = {"approve": BOX_H / 2, "notify": BOX_H / 2, "gateway": 30, "start": 24, "end": 24, "join": 5}
_LABEL_MAX = 440  # px: longer edge labels and detail lines are cut (the full text stays in a tooltip)


def _text_width(text: str, size: float) -> float:
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.6 for c in text)


def _x(text: Any) -> str:
    return escape(_XML_BAD.sub("", str(text)))


def _attr(text: Any) -> str:
    return escape(_XML_BAD.sub("", str(text)), {'"': "&quot;"})


def _cut(text: str, size: float, limit: float = _LABEL_MAX) -> str:
    if _text_width(text, size) <= limit:
        return text
    out = ""
    for c in text:
        if _text_width(out + c + "…", size) > limit:
            break
        out += c
    return out + "…"


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def to_svg(spec: Mapping[str, Any]) -> str:
    g = to_graph(spec)
    by_id = {n["id"]: n for n in g["nodes"]}
    need = 160.0
    for n in g["nodes"]:
        if n["kind"] in ("approve", "notify"):
            need = max(need, _text_width(n["label"], 14) + 24, *(min(_text_width(t, 12), _LABEL_MAX) + 24 for t in _detail(n)))
        elif n["kind"] == "gateway":
            need = max(need, _text_width(n["label"], 13) * 1.4 + 30)
    for e in g["edges"]:
        if e["label"]:
            need = max(need, min(_text_width(e["label"], 12), _LABEL_MAX) + 12)
    col_w = need + 40
    cols = max(n["span"] for n in g["nodes"])
    rows = max(n["depth"] for n in g["nodes"]) + 1
    width, height = PAD * 2 + cols * col_w, PAD * 2 + rows * ROW_H

    def pos(n: Mapping[str, Any]) -> tuple[float, float]:
        return PAD + (n["lane"] + cols / 2) * col_w, PAD + n["depth"] * ROW_H + ROW_H / 2

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_fmt(width)}" height="{_fmt(height)}" viewBox="0 0 {_fmt(width)} {_fmt(height)}" '
        'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif" font-size="12">',
        f"<title>{_x(spec.get('name') or '')}</title>",
        '<defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>',
        f'<rect x="0" y="0" width="{_fmt(width)}" height="{_fmt(height)}" fill="#ffffff"/>',
    ]

    # edges first, so nodes are drawn over them
    for e in g["edges"]:
        s, t = by_id[e["from"]], by_id[e["to"]]
        (sx, sy), (tx, ty) = pos(s), pos(t)
        lx = PAD + (e["lane"] + cols / 2) * col_w if e.get("lane") is not None else sx
        y1, y2 = sy + ROW_H / 2, ty - ROW_H / 2
        points = [(sx, sy + _HALF_H[s["kind"]]), (sx, y1), (lx, y1), (lx, y2), (tx, y2), (tx, ty - _HALF_H[t["kind"]])]
        path = [points[0]]
        for p in points[1:]:
            if p != path[-1]:
                path.append(p)
        marker = "" if t["kind"] == "join" else ' marker-end="url(#flow-arrow)"'
        pts = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in path)
        out.append(f'<polyline points="{pts}" fill="none" stroke="#9ca3af" stroke-width="1.5"{marker}/>')
        if e["label"]:
            out.append(f'<text x="{_fmt(lx)}" y="{_fmt(y1 + 16)}" text-anchor="middle" fill="#b45309" stroke="#ffffff" stroke-width="4" '
                       f'paint-order="stroke"><title>{_x(e["label"])}</title>{_x(_cut(e["label"], 12))}</text>')

    for n in g["nodes"]:
        x, y = pos(n)
        kind = n["kind"]
        out.append(f'<g class="node {kind}" data-id="{_attr(n["id"])}">')
        if kind in ("start", "end"):
            fill, stroke = ("#ecfdf5", "#10b981") if kind == "start" else ("#fef2f2", "#ef4444")
            out.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="24" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>')
            out.append(f'<text x="{_fmt(x)}" y="{_fmt(y + 4)}" text-anchor="middle">{_x(n["label"])}</text>')
        elif kind == "join":
            out.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="5" fill="#9ca3af"/>')
        elif kind == "gateway":
            hw = max(60.0, _text_width(n["label"], 13) * 0.7 + 15)
            diamond = f"{_fmt(x)},{_fmt(y - 30)} {_fmt(x + hw)},{_fmt(y)} {_fmt(x)},{_fmt(y + 30)} {_fmt(x - hw)},{_fmt(y)}"
            out.append(f'<polygon points="{diamond}" fill="#fff7ed" stroke="#f97316" stroke-width="1.5"/>')
            out.append(f'<text x="{_fmt(x)}" y="{_fmt(y + 4)}" text-anchor="middle" font-size="13">{_x(n["label"])}</text>')
        else:
            w = col_w - 40
            dash = ' stroke-dasharray="5 3"' if kind == "notify" else ""
            fill, stroke = ("#f0fdf4", "#22c55e") if kind == "notify" else ("#eff6ff", "#3b82f6")
            out.append(f'<rect x="{_fmt(x - w / 2)}" y="{_fmt(y - BOX_H / 2)}" width="{_fmt(w)}" height="{BOX_H}" rx="8" '
                       f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>')
            out.append(f'<text x="{_fmt(x)}" y="{_fmt(y - 12)}" text-anchor="middle" font-size="14" font-weight="bold">{_x(n["label"])}</text>')
            for i, line in enumerate(_detail(n)):
                out.append(f'<text x="{_fmt(x)}" y="{_fmt(y + 7 + i * 16)}" text-anchor="middle" fill="#4b5563">{_x(_cut(line, 12))}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---- data-table view ------------------------------------------------------------------------

TABLE_COLUMNS = ("order", "node_id", "name", "kind", "kind_label", "path", "branch", "condition", "approvers", "mode",
                 "time_limit_hours", "remind_before_hours", "on_timeout", "actions", "branches")


def to_table(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """数据表视图: one row per node, depth first, branches in the order they are tried.
    `path` names the enclosing branches (`branch node:branch`) and the node's place in its list."""
    rows: list[dict[str, Any]] = []

    def walk(items: list[Mapping[str, Any]], trail: list[str], branch: Mapping[str, Any] | None) -> None:
        for pos, n in enumerate(items, start=1):
            kind = n.get("kind") or "approve"
            row: dict[str, Any] = dict.fromkeys(TABLE_COLUMNS)
            row.update({
                "order": len(rows) + 1, "node_id": n["id"], "name": n["name"], "kind": kind, "kind_label": KIND_LABELS.get(kind, kind),
                "path": " > ".join([*trail, str(pos)]),
                "branch": branch.get("name") if branch else None,
                "condition": conditions_text(branch.get("conditions")) if branch else None,
            })
            if kind == "branch":
                ordered = ordered_branches(n.get("branches") or [])
                row["branches"] = " | ".join(branch_label(b) for b in ordered)
                rows.append(row)
                for b in ordered:
                    walk(b.get("nodes") or [], [*trail, f"{n['name']}:{b.get('name')}"], b)
                continue
            limit = n.get("time_limit_hours")
            row.update({
                "approvers": approvers_text(n.get("approvers")),
                "mode": MODE_LABELS.get(effective_mode(n), effective_mode(n)) if kind == "approve" else "知会",
                "time_limit_hours": limit,
                "remind_before_hours": n.get("remind_before_hours") if limit else None,
                "on_timeout": TIMEOUT_LABELS.get(n.get("on_timeout", "remind")) if limit else None,
                "actions": "、".join(ACTION_LABELS.get(a, a) for a in n.get("actions") or []),
            })
            rows.append(row)

    walk(list(spec.get("nodes") or []), [], None)
    return rows
