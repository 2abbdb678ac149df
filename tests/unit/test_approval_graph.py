"""The flow graph export (FLOW-4): JSON graph, Mermaid, SVG and the data-table view.

The fixture flow has a condition node whose three branches are declared out of priority
order (default first), so every export must put them back in the order plan.py tries them.
Paths through the JSON graph are checked against plan.resolve() on the same flow.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from chalicelib.approvals import graph, plan
from chalicelib.approvals.schemas import FlowSpec
from chalicelib.core.permissions import OrgSnapshot, OrgUser

SVG = "{http://www.w3.org/2000/svg}"
BRANCHES_IN_PRIORITY_ORDER = ["大额", "中额", "其他"]


def _spec(**overrides: Any) -> dict[str, Any]:
    raw = {
        "name": "合同审批", "business_type": "contract",
        "nodes": [
            {"id": "first", "name": "主管审批", "approvers": {"type": "supervisor", "level": 1}, "time_limit_hours": 24},
            {"id": "gate", "name": "金额判断", "kind": "branch", "branches": [
                {"name": "其他", "priority": 0, "nodes": [
                    {"id": "small", "name": "经理确认", "approvers": {"type": "department_head"}}]},
                {"name": "中额", "priority": 7, "conditions": [{"field": "amount", "op": "gt", "value": 10000}], "nodes": [
                    {"id": "mid1", "name": "二级主管审批", "approvers": {"type": "supervisor", "level": 2}},
                    {"id": "mid2", "name": "财务复核", "approvers": {"type": "role", "role_id": "admin"}, "mode": "majority"}]},
                {"name": "大额", "priority": 1, "conditions": [{"field": "amount", "op": "gt", "value": 50000},
                                                              {"field": "level", "op": "in", "value": ["A", "B"]}], "nodes": [
                    {"id": "big", "name": "管理层会签", "approvers": {"type": "applicant_choice"}, "mode": "all"}]},
            ]},
            {"id": "record", "name": "合同备案", "kind": "notify", "approvers": {"type": "role", "role_id": "admin"}},
        ],
    }
    raw.update(overrides)
    return FlowSpec.model_validate(raw).model_dump(mode="json")




def _paths(g: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Every start-to-sink path as its list of edges (fails on a cycle)."""
    out_edges: dict[str, list[dict[str, Any]]] = {}
    for e in g["edges"]:
        out_edges.setdefault(e["from"], []).append(e)
    found: list[list[dict[str, Any]]] = []

    def walk(node: str, trail: list[dict[str, Any]], seen: set[str]) -> None:
        assert node not in seen, f"cycle through {node}"
        if not out_edges.get(node):
            found.append(trail)
            return
        for e in out_edges[node]:
            walk(e["to"], [*trail, e], seen | {node})

    walk(graph.START, [], set())
    return found


def _org() -> plan.Org:
    users = {
        "boss": OrgUser("boss", "root"),
        "lead": OrgUser("lead", "sales", supervisor_id="boss"),
        "me": OrgUser("me", "sales", supervisor_id="lead"),
        "adm": OrgUser("adm", "root", role_ids=("admin",)),
        "adm2": OrgUser("adm2", "root", role_ids=("admin",)),
        "pick": OrgUser("pick", "sales"),
    }
    snap = OrgSnapshot("t1", {"root": None, "sales": "root"}, users, {})
    return plan.Org(snap, {"sales": "lead", "root": "boss"}, ["boss"])


# ---- json ---------------------------------------------------------------------------------------

def test_given_flow_with_branches_when_graphed_then_every_path_from_start_reaches_end():
    g = graph.to_graph(_spec())
    ids = [n["id"] for n in g["nodes"]]
    assert len(ids) == len(set(ids))
    assert all(e["from"] in ids and e["to"] in ids for e in g["edges"])
    paths = _paths(g)
    assert len(paths) == 3
    assert all(p[-1]["to"] == graph.END for p in paths)
    reached = {graph.START} | {e["to"] for p in paths for e in p}
    assert reached == set(ids)


def test_given_branches_out_of_priority_order_when_graphed_then_gateway_edges_follow_priority_and_default_is_last():
    g = graph.to_graph(_spec())
    gate = next(n for n in g["nodes"] if n["id"] == "gate")
    assert gate["kind"] == "gateway"
    out = [e for e in g["edges"] if e["from"] == "gate"]
    assert [e["branch"] for e in out] == BRANCHES_IN_PRIORITY_ORDER
    assert "amount > 50000" in out[0]["label"] and "level ∈ [A, B]" in out[0]["label"]
    assert "amount > 10000" in out[1]["label"]
    assert "默认" in out[2]["label"] and out[2]["default"] is True


@pytest.mark.parametrize("data,branch", [({"amount": 60000, "level": "A"}, "大额"), ({"amount": 60000, "level": "C"}, "中额"),
                                         ({"amount": 20000}, "中额"), ({"amount": 5}, "其他"), ({}, "其他")])
def test_given_record_values_when_plan_resolves_then_one_graph_path_has_the_same_nodes_and_branch(data, branch):
    spec = _spec()
    steps, taken = plan.resolve(spec, _org(), "me", data, {"approvers": {"big": ["pick"]}})
    planned = [s["node_id"] for s in steps]
    flow_ids = {n["id"] for n in plan.all_nodes(spec["nodes"])}
    matching = []
    for p in _paths(graph.to_graph(spec)):
        on_path = [e["to"] for e in p if e["to"] in flow_ids and e["to"] != "gate"]
        if on_path == planned:
            matching.append(p)
    assert len(matching) == 1
    assert [e["branch"] for e in matching[0] if e.get("branch")] == [branch]
    assert taken == [f"gate:{branch}"]


def test_given_no_default_branch_when_graphed_then_a_no_match_edge_skips_to_the_join():
    spec = _spec()
    spec["nodes"][1]["branches"] = [b for b in spec["nodes"][1]["branches"] if b["conditions"]]
    g = graph.to_graph(spec)
    out = [e for e in g["edges"] if e["from"] == "gate"]
    assert len(out) == 3
    joins = [n["id"] for n in g["nodes"] if n["kind"] == "join"]
    assert out[-1]["to"] in joins
    steps, _ = plan.resolve(spec, _org(), "me", {"amount": 1}, {})
    assert [s["node_id"] for s in steps] == ["first", "record"]
    assert any([e["to"] for e in p if e["to"] in ("first", "record")] == ["first", "record"] for p in _paths(g))


def test_given_branch_columns_when_graphed_then_depth_grows_along_edges_and_branches_sit_side_by_side():
    g = graph.to_graph(_spec())
    by_id = {n["id"]: n for n in g["nodes"]}
    assert all(by_id[e["to"]]["depth"] > by_id[e["from"]]["depth"] for e in g["edges"])
    lanes = [by_id[i]["lane"] for i in ("big", "mid1", "small")]
    assert lanes == sorted(lanes) and len(set(lanes)) == 3
    assert by_id["mid1"]["lane"] == by_id["mid2"]["lane"]
    join = next(n for n in g["nodes"] if n["kind"] == "join")
    assert join["lane"] == by_id["gate"]["lane"] == by_id["first"]["lane"]
    assert by_id["record"]["depth"] > by_id["mid2"]["depth"]


def test_given_supervisor_chain_node_when_graphed_then_its_mode_is_sequential_as_the_plan_forces():
    spec = _spec(nodes=[{"id": "c", "name": "逐级", "approvers": {"type": "supervisor_chain", "level": 2}, "mode": "any"}])
    node = next(n for n in graph.to_graph(spec)["nodes"] if n["id"] == "c")
    steps, _ = plan.resolve(spec, _org(), "me", {}, {})
    assert node["mode"] == steps[0]["mode"] == "sequential"
    assert node["mode_label"] == "依次"


# ---- mermaid ------------------------------------------------------------------------------------

def test_given_flow_when_exported_as_mermaid_then_every_node_and_branch_label_in_priority_order():
    spec = _spec()
    text = graph.to_mermaid(spec)
    assert text.startswith("flowchart TD\n")
    for n in plan.all_nodes(spec["nodes"]):
        assert n["name"] in text, n["name"]
    edge_lines = [line for line in text.splitlines() if "-->|" in line]
    positions = [next(i for i, line in enumerate(edge_lines) if f'"{name}' in line) for name in BRANCHES_IN_PRIORITY_ORDER]
    assert positions == sorted(positions)
    assert re.search(r'\{"金额判断"\}', text)
    assert re.search(r'>"合同备案<br/>', text)
    assert "会签" in text and "半数通过" in text and "或签" in text


def test_given_hostile_names_when_exported_as_mermaid_then_labels_stay_inside_their_quotes():
    spec = _spec(nodes=[{"id": "end", "name": 'a"b]c{d}|e<f>#g', "approvers": {"type": "supervisor"}},
                        {"id": "x", "name": "条件", "kind": "branch", "branches": [
                            {"name": 'q"|x', "conditions": [{"field": "t", "op": "eq", "value": 'a"b'}], "nodes": []}]}])
    text = graph.to_mermaid(spec)
    for line in text.splitlines()[1:]:
        if line.strip().startswith(("classDef", "class ")):
            continue
        assert line.count('"') in (0, 2), line
    assert not re.search(r"^\s*end\b", text, re.M)
    assert "#34;" in text and "#124;" in text


# ---- svg ----------------------------------------------------------------------------------------

def test_given_flow_when_exported_as_svg_then_it_parses_and_shows_every_node_and_branch_label():
    spec = _spec()
    root = ET.fromstring(graph.to_svg(spec))
    assert root.tag == f"{SVG}svg"
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    for n in plan.all_nodes(spec["nodes"]):
        assert n["name"] in texts, n["name"]
    for name in BRANCHES_IN_PRIORITY_ORDER:
        assert any(t.startswith(name) for t in texts), name
    assert len(list(root.iter(f"{SVG}polygon"))) == 1  # the one gateway
    assert not any(el.tag.endswith(("script", "image", "foreignObject")) for el in root.iter())
    assert all("href" not in "".join(el.attrib) for el in root.iter())


def test_given_markup_in_names_when_exported_as_svg_then_still_valid_xml_with_the_exact_text():
    name = '<b>&"报销"</b>\x01'
    spec = _spec(name="x&y", nodes=[{"id": "a", "name": name, "approvers": {"type": "supervisor"}}])
    root = ET.fromstring(graph.to_svg(spec))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert name.replace("\x01", "") in texts


def test_given_branch_columns_when_exported_as_svg_then_branch_boxes_are_side_by_side():
    root = ET.fromstring(graph.to_svg(_spec()))
    x_of = {}
    for g in root.iter(f"{SVG}g"):
        rect = g.find(f"{SVG}rect")
        if rect is not None:
            x_of[g.get("data-id")] = float(rect.get("x"))
    assert x_of["big"] < x_of["mid1"] < x_of["small"]
    assert x_of["mid1"] == x_of["mid2"]


# ---- table --------------------------------------------------------------------------------------

def test_given_flow_when_tabled_then_rows_follow_flow_order_with_branch_paths_and_conditions():
    rows = graph.to_table(_spec())
    assert [r["node_id"] for r in rows] == ["first", "gate", "big", "mid1", "mid2", "small", "record"]
    assert [r["order"] for r in rows] == list(range(1, len(rows) + 1))
    by_id = {r["node_id"]: r for r in rows}
    assert by_id["first"]["path"] == "1" and by_id["record"]["path"] == "3"
    assert by_id["mid2"]["path"] == "金额判断:中额 > 2"
    assert by_id["mid2"]["branch"] == "中额" and by_id["mid2"]["condition"] == "amount > 10000"
    assert by_id["big"]["condition"] == "amount > 50000 且 level ∈ [A, B]"
    assert by_id["small"]["condition"] == "默认"
    assert by_id["first"]["branch"] is None
    assert (by_id["big"]["mode"], by_id["mid2"]["mode"], by_id["first"]["mode"]) == ("会签", "半数通过", "或签")
    assert by_id["first"]["time_limit_hours"] == 24
    assert len({tuple(r) for r in rows}) == 1  # every row has the same columns


@pytest.mark.parametrize("rule,text", [
    ({"type": "supervisor", "level": 1}, "直属上级(1级)"),
    ({"type": "role", "role_id": "finance"}, "角色:finance"),
    ({"type": "users", "user_ids": ["u1", "u2"]}, "指定成员:u1,u2"),
    ({"type": "supervisor_chain", "level": 2}, "连续多级主管(至2级)"),
    ({"type": "department_head"}, "部门负责人"),
    ({"type": "applicant_choice"}, "发起人自选"),
])
def test_given_each_approver_rule_when_tabled_then_approvers_read_naturally(rule, text):
    rows = graph.to_table(_spec(nodes=[{"id": "a", "name": "审批", "approvers": rule}]))
    assert rows[0]["approvers"] == text
