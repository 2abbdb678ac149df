"""Rendering: findings derived from the figures, the text report and the markdown tables."""
from __future__ import annotations

import itertools
from typing import Any

from .imports import row as imports_row
from .imports import text as imports_text
from .stats import fmt_ms, fmt_s, verdict

NA_IMPORT = "n/a (customer import not built yet)"
NA_360 = "n/a (customer 360 not built yet: no related-record modules)"


def ops_str(ops: list[str]) -> str:
    """['GetItem', 'GetItem', 'TransactWriteItems'] -> 'GetItem ×2, TransactWriteItems'."""
    if not ops:
        return "—"
    parts = []
    for op, group in itertools.groupby(ops):
        n = len(list(group))
        parts.append(f"{op} ×{n}" if n > 1 else op)
    return ", ".join(parts)


def rate_limit_str(state: dict[str, Any]) -> str:
    n = state.get("rate_limit_writes", 0)
    return f" + rate limit{f' ×{n}' if n > 1 else ''}" if n else ""


def units(rcu: float, wcu: float) -> str:
    def num(x: float) -> str:
        return f"{x:g}"
    return f"{num(rcu)} / {num(wcu)}"


def _self_entry(m: dict[str, Any]) -> str:
    by = f" (imported by {m['imported_by']})" if m.get("imported_by") else ""
    return f"{m['module']} {m['self_ms']:g} ms{by}"


# ---- findings ------------------------------------------------------------------------------

def findings(r: dict[str, Any]) -> list[str]:
    """Observations that follow from the measured figures (nothing here is assumed)."""
    out: list[str] = []
    cs = r["cold_start"]
    bf = cs["budget_figure"]
    if not bf["meets_budget"]:
        prof = cs["import_profile"]
        top_self = ", ".join(_self_entry(m) for m in prof["top_self"][:4])
        heavy = ", ".join(cs["authenticated_first"]["heavy_after_import"])
        out.append(f"Cold start is over budget: import app {bf['import_cpu_s']:.3f} s + first authenticated request "
                   f"{bf['first_request_cpu_s']:.3f} s = {bf['total_cpu_s']:.3f} s CPU (budget {cs['budget_cpu_s']} s). "
                   + ("Import alone exceeds the budget. " if bf["import_cpu_s"] > cs["budget_cpu_s"] else "")
                   + f"Largest self times under -X importtime: {top_self}. "
                   f"Loaded by `import app` already: {heavy}."
                   + (" aws_xray_sdk is imported by the Powertools Tracer created at module level in "
                      f"chalicelib.core.observability, although POWERTOOLS_TRACE_DISABLED={r['meta']['powertools_trace_disabled']} "
                      "in this run." if any(e["module"].startswith("aws_xray_sdk") and e.get("imported_by") ==
                                             "chalicelib.core.observability" for e in prof["top_self"]) else ""))
    nb = cs["without_bytecode"]
    if not nb["meets_budget"]:
        out.append(f"Without .pyc files the cold start costs {nb['total_cpu_s']:.3f} s CPU (1 run): ship compiled bytecode.")

    rows = r["round_trips"]
    for row in rows:
        w = row["warm"]
        if row["meets_budget"] is False:
            gets = w["operations"].count("GetItem")
            why = ""
            if "dictionary" in row["endpoint"] and gets:
                why = (f" The {gets} GetItem calls are the dictionary checks (dictionaries.validate reads one DictItem per "
                       "coded field, uncached), made before the transaction.")
            out.append(f"{row['endpoint']}: {w['round_trips']} DynamoDB round trips ({ops_str(w['operations'])}) "
                       f"against a budget of {row['budget']}.{why}")
        if len(w["distinct_operation_sequences"]) > 1:
            out.append(f"{row['endpoint']}: warm repetitions differed: {w['distinct_operation_sequences']}.")
        if w["retries"]:
            out.append(f"{row['endpoint']}: {w['retries']} botocore retries during warm repetitions.")
    refill = [row for row in rows if row["first"]["round_trips"] == row["warm"]["round_trips"] + 1
              and row["first"]["operations"][:1] == ["Query"]]
    if refill:
        out.append(f"{len(refill)} of {len(rows)} endpoints pay one extra Query (the whole org partition) on the first request "
                   f"of a container and again every CRM_AUTHZ_CACHE_SECONDS ({r['meta']['authz_cache_seconds']:g} s) per "
                   "container; warm requests take identity and permissions from the cached snapshot.")
    rmw = [row["endpoint"] for row in rows if row["warm"]["operations"] == ["GetItem", "TransactWriteItems"]]
    if rmw:
        out.append("Read-before-write (GetItem then TransactWriteItems, 2 round trips): " + "; ".join(rmw) +
                   ". The read supplies the permission check, the version check and the audit diff.")
    writes = [row for row in rows if "TransactWriteItems" in row["warm"]["operations"]]
    if writes:
        share = [row["warm"]["storage_ms_median"] / row["warm"]["wall_ms"]["median"] for row in writes if row["warm"]["wall_ms"]["median"]]
        app_ms = [row["warm"]["app_ms_median"] for row in writes]
        out.append(f"Write requests spend {min(share):.0%}–{max(share):.0%} of their wall time inside DynamoDB calls on moto "
                   "(moto, with devstack's patch snapshotting only the items a transaction touches); app-side time of writes is "
                   f"{min(app_ms):.1f}–{max(app_ms):.1f} ms (wall − time in AWS calls, medians).")
    lists = [row for row in rows if row["path"] == "/v1/customers" and row["method"] == "GET"]
    admin = next((row for row in lists if "super admin" in row["endpoint"]), None)
    for row in lists:
        n = row["warm"]["round_trips"]
        if admin and row is not admin and n > 1:
            out.append(f"{row['endpoint']}: {n} Queries per page (one per owner partition plus the team partition, which is "
                       f"queried even when nothing is shared); each reads up to a full page, est. {row['warm']['est_rcu']:g} RCU "
                       f"per page vs {admin['warm']['est_rcu']:g} for the super admin's single-partition page.")

    ls = r["lists"]
    for _user, ratio in ls["ratios"].items():
        if ratio["meets_budget"] and ratio["wall_median"] > 1.5:
            out.append(f"List page as {ratio['label']}: no DynamoDB round trip at ~1k or ~10k customers (served by the search "
                       f"index); wall time grows ×{ratio['wall_median']:g} (storage ×{ratio['storage_median']:g}, "
                       f"app side ×{ratio['app_median']:g}) with the number of records in the caller's scope (facets and totals count them).")
        elif not ratio["meets_budget"]:
            out.append(f"List page as {ratio['label']}: cost changed with table size (round trips ×{ratio['round_trips']:g}, "
                       f"est. RCU ×{ratio['est_rcu']:g}).")

    ov = r["overhead"]
    b = ov["breakdown_ms_median"]
    if not ov["meets_budget"]:
        out.append(f"API overhead over the raw GetItem is ×{ov['ratios']['http_vs_raw_median']:g} over HTTP and "
                   f"×{ov['ratios']['inproc_vs_raw_median']:g} in-process (budget ×{ov['budget_ratio']:g}). Median split: raw "
                   f"GetItem {b['raw_getitem']:.2f} ms, PynamoDB layer {b['pynamodb_layer']:+.2f} ms, rate-limit write "
                   f"{b['rate_limit_write']:+.2f} ms, app without storage "
                   f"{b['app_without_storage_inproc']:+.2f} ms (token verification alone {b['of_which_token_verify']:.2f} ms), "
                   f"local HTTP server and client {b['http_server_and_client']:+.2f} ms (GET /v1/health over HTTP: "
                   f"{b['http_health_floor']:.2f} ms). The HTTP share is Chalice's local development server, not the app.")
        out.append(f"Rate limiting costs {b['rate_limit_write']:.2f} ms per request at the median: a container writes its "
                   f"tenant's bucket once per lease of up to 10 tokens (one conditional UpdateItem), so most requests make "
                   f"no storage call for it; without it the ratio would be "
                   f"×{ov['ratios']['http_without_rate_limit_vs_raw_median']:g}.")
    else:
        out.append(f"API overhead over the raw GetItem: ×{ov['ratios']['http_vs_raw_median']:g} over HTTP, "
                   f"{ov['ms']['http']['median'] - ov['ms']['raw']['median']:+.2f} ms per request at the median "
                   f"(app without storage {b['app_without_storage_inproc']:+.2f} ms, of which token verification "
                   f"{b['of_which_token_verify']:.2f} ms, and the rate-limit write {b['rate_limit_write']:.2f} ms). "
                   f"The ratio is against moto's GetItem "
                   f"({b['raw_getitem']:.2f} ms); against a faster store the same milliseconds weigh more.")
    nagle = ov.get("http_with_nagle_ms")
    if nagle and nagle["median"] > ov["ms"]["http"]["median"] + 20:
        out.append(f"TCP_NODELAY on the local API server (devstack.run.serve_api) matters: with Nagle's algorithm on, "
                   f"GET /v1/customers/{{id}} takes {nagle['median']:.1f} ms median (n = {nagle['n']}) vs {ov['ms']['http']['median']:.1f} ms "
                   "— headers and body go out as separate writes and the second waits for the client's delayed ACK.")
    if sum(ov["org_snapshot_refills"].values()):
        out.append(f"During the overhead loop the org snapshot was reloaded (CRM_AUTHZ_CACHE_SECONDS expired) in "
                   f"{sum(ov['org_snapshot_refills'].values())} of {ov['rounds'] * 2} API requests (in-process and HTTP); those samples are included.")
    out += approvals_findings(r["approvals"])
    out.append("Capacity units are estimates from item sizes (see bench/calls.py): moto answers ReturnConsumedCapacity "
               "with fixed constants, and the app does not request it.")
    return out


# ---- text ------------------------------------------------------------------------------------

def text(r: dict[str, Any]) -> str:
    m = r["meta"]
    L: list[str] = []
    add = L.append
    add("CRM benchmark — ARCHITECTURE.md §10 budgets as figures")
    add(f"machine: {m['platform']}, {m['cpus']} CPUs, Python {m['python']}; moto {m['moto']} server on loopback")
    add(f"run: {m['started']}, {m['total_seconds']:.0f} s in all (stack setup {m['setup_seconds']:.1f} s); "
        f"CRM_AUTHZ_CACHE_SECONDS={m['authz_cache_seconds']:g}")
    add("")

    cs = r["cold_start"]
    h, a, bf, nb = cs["health_first"], cs["authenticated_first"], cs["budget_figure"], cs["without_bytecode"]
    add(f"1. Cold start — fresh interpreter per run, CPU = time.process_time(); medians of {a['repetitions']} runs "
        f"({h['repetitions']} for health)")
    add(f"   import app                              {fmt_s(a['median_s']['import_cpu'])} CPU   {fmt_s(a['median_s']['import_wall'])} wall")
    add(f"   first request GET /v1/health            {fmt_s(h['median_s']['first_cpu'])} CPU   {fmt_s(h['median_s']['first_wall'])} wall")
    add(f"   first request GET /v1/customers (rep)   {fmt_s(a['median_s']['first_cpu'])} CPU   {fmt_s(a['median_s']['first_wall'])} wall"
        f"   (second: {fmt_s(a['median_s']['second_cpu'])} CPU)")
    add(f"   import + first authenticated request    {fmt_s(bf['total_cpu_s'])} CPU   {fmt_s(bf['total_wall_s'])} wall   budget ≤ {cs['budget_cpu_s']} s   "
        f"{verdict(bf['meets_budget'])}   (worst run {fmt_s(a['max_total_cpu_s'])})")
    add(f"   import + first health request           {fmt_s(h['median_s']['import_cpu'] + h['median_s']['first_cpu'])} CPU")
    add(f"   without any .pyc (1 run)                {fmt_s(nb['total_cpu_s'])} CPU   {verdict(nb['meets_budget'])}")
    add(f"   not counted: chalice.test.Client set-up {fmt_s(bf['harness_cpu_s_excluded'])} CPU (test harness)")
    add(f"   modules after import: {a['modules_after_import']}; heavy ones: {', '.join(a['heavy_after_import'])}")
    prof = cs["import_profile"]
    add(f"   python -X importtime, import app = {prof['total_ms']:g} ms; top 10 cumulative:")
    for e in prof["top_cumulative"]:
        add(f"     {e['cumulative_ms']:8.1f} ms  {'  ' * e['depth']}{e['module']}  (self {e['self_ms']:g} ms)")
    add("   self time by top-level package: " + ", ".join(f"{p['package']} {p['self_ms']:g} ms" for p in prof["self_by_package"]))
    add("   top self times: " + ", ".join(_self_entry(e) for e in prof["top_self"][:6]))
    add("")

    rows = r["round_trips"]
    reps = rows[0]["warm"]["repetitions"] if rows else 0
    add(f"2. DynamoDB round trips per request — in-process chalice.test.Client → moto server; warm = org snapshot cached "
        f"({reps} repetitions), first = org snapshot empty (1 request); est. RCU / WCU per request")
    for row in rows:
        w, f = row["warm"], row["first"]
        budget = f"budget {row['budget']}: {verdict(row['meets_budget'])}" if row["budget"] else "no numeric budget"
        add(f"   {row['endpoint']}  [{row['actor']}]")
        add(f"      warm  {w['round_trips']} RT  {ops_str(w['operations'])}"
            + rate_limit_str(w) + (f"  + {ops_str(w['other_aws_calls'])}" if w["other_aws_calls"] else "")
            + f"   est {units(w['est_rcu'], w['est_wcu'])}   {fmt_ms(w['wall_ms']['median'])} median"
            + f" (p95 {fmt_ms(w['wall_ms']['p95'])}, storage {fmt_ms(w['storage_ms_median'])})   {budget}")
        add(f"      first {f['round_trips']} RT  {ops_str(f['operations'])}   {fmt_ms(f['wall_ms'])}")
    add("")

    ls = r["lists"]
    add(f"3. List page ({ls['page_size']} newest) at two table sizes — {ls['sizes'][next(iter(ls['sizes']))]['viewers']['ceo']['repetitions']} "
        "repetitions each, warm org snapshot")
    for size, load in ls["load"].items():
        add(f"   load to ~{size}: wrote {load['written']} customers in {load['seconds']:.1f} s "
            f"({load['batch_write_calls']} BatchWriteItem calls, {load['items_per_second']} items/s)")
    for data in ls["sizes"].values():
        add(f"   {data['customers_in_tenant']} customers in the tenant:")
        for _user, v in data["viewers"].items():
            add(f"      {v['label']}: {v['round_trips']} RT ({ops_str(v['operations'])}), est {v['est_rcu']:g} RCU, "
                f"wall {fmt_ms(v['wall_ms']['median'])} median / {fmt_ms(v['wall_ms']['p95'])} p95 "
                f"(storage {fmt_ms(v['storage_ms']['median'])}, app {fmt_ms(v['app_ms']['median'])})")
    for _user, ratio in ls["ratios"].items():
        add(f"   ratio 10k / 1k, {ratio['label']}: round trips ×{ratio['round_trips']:g}, est RCU ×{ratio['est_rcu']:g}, "
            f"wall ×{ratio['wall_median']:g} (storage ×{ratio['storage_median']:g}, app ×{ratio['app_median']:g})   "
            f"{verdict(ratio['meets_budget'])} (same cost at both sizes)")
    add(f"   {ls['note']}")
    add("")

    ov = r["overhead"]
    ms = ov["ms"]
    add(f"4. API overhead, {ov['endpoint']} vs raw GetItem of the same item, same moto server — {ov['rounds']} interleaved "
        f"rounds after {ov['warmup_rounds']} warm-up rounds")
    labels = {"raw": "raw boto3 GetItem", "pynamodb": "records.get (PynamoDB)", "inproc": "in-process chalice.test.Client",
              "http": "HTTP keep-alive, local API server (TCP_NODELAY)", "health": "HTTP GET /v1/health", "verify": "auth.verify(token) alone",
              "ratelimit": "ratelimit.charge(tenant) alone (UpdateItem)"}
    for k, label in labels.items():
        add(f"   {label:50s} median {fmt_ms(ms[k]['median']):>9s}   p95 {fmt_ms(ms[k]['p95']):>9s}")
    rt = ov["ratios"]
    add(f"   ratio HTTP / raw: ×{rt['http_vs_raw_median']:g} median, ×{rt['http_vs_raw_p95']:g} p95   budget ≤ ×{ov['budget_ratio']:g}   "
        f"{verdict(ov['meets_budget'])}")
    add(f"   ratio in-process / raw: ×{rt['inproc_vs_raw_median']:g} median, ×{rt['inproc_vs_raw_p95']:g} p95   "
        f"{verdict(ov['in_process_meets_budget'])}")
    add(f"   ratio PynamoDB / raw: ×{rt['pynamodb_vs_raw_median']:g} median")
    add(f"   absolute overhead HTTP − raw: {ms['http']['median'] - ms['raw']['median']:+.2f} ms median; "
        f"org snapshot reloads during the loop: {sum(ov['org_snapshot_refills'].values())}")
    nagle = ov["http_with_nagle_ms"]
    add(f"   HTTP with TCP_NODELAY switched off (Nagle on, n = {nagle['n']}): median {fmt_ms(nagle['median'])}, p95 {fmt_ms(nagle['p95'])}"
        " — the figures above use TCP_NODELAY on the server side")
    add("")
    add(approvals_text(r["approvals"]))
    if r.get("lifecycle"):
        add(lifecycle_text(r["lifecycle"]))
    if r.get("deals"):
        add(deals_text(r["deals"]))
    if r.get("webhooks"):
        from .webhooks import text as webhooks_text

        add(webhooks_text(r["webhooks"]))
    if r.get("mail"):
        from .mail import text as mail_text

        add(mail_text(r["mail"]))
    if r.get("latency"):
        from .latency import text as latency_text

        add(latency_text(r["latency"]))
    add(imports_text(r.get("import") or {"status": NA_IMPORT}))
    add(search_text(r["search"]))
    if r.get("dashboard"):
        add(dashboard_text(r["dashboard"]))
    if r.get("exports"):
        add(exports_text(r["exports"]))
    add("")
    add("Findings")
    for f in r["findings"]:
        add(f"   - {f}")
    return "\n".join(L)


# ---- markdown ------------------------------------------------------------------------------

def markdown(r: dict[str, Any]) -> str:
    m, cs, ov, ls = r["meta"], r["cold_start"], r["overhead"], r["lists"]
    bf, _a, h = cs["budget_figure"], cs["authenticated_first"], cs["health_first"]
    rows = r["round_trips"]
    by = {row["endpoint"]: row for row in rows}
    create = next(row for row in rows if row["endpoint"].startswith("POST /v1/customers (name"))
    create_full = next(row for row in rows if row["endpoint"].startswith("POST /v1/customers (4"))
    get = by["GET /v1/customers/{id}"]
    ratios = ls["ratios"]
    sizes = list(ls["sizes"].values())

    L: list[str] = []
    add = L.append
    add("### Budgets (`make bench`)")
    add("")
    add(f"Measured on {m['platform']}, {m['cpus']} CPUs, Python {m['python']}, against a moto {m['moto']} server on "
        f"loopback; {m['started']}. Timings are medians unless stated; n = repetitions.")
    add("")
    add("| Budget (ARCHITECTURE §10) | Measured | n | Verdict |")
    add("|---|---|---|---|")
    add(f"| Cold start: import + first request ≤ {cs['budget_cpu_s']} s CPU | import {bf['import_cpu_s']:.3f} s + first "
        f"authenticated request {bf['first_request_cpu_s']:.3f} s = **{bf['total_cpu_s']:.3f} s CPU** "
        f"({bf['total_wall_s']:.3f} s wall); with GET /v1/health first: "
        f"{h['median_s']['import_cpu'] + h['median_s']['first_cpu']:.3f} s CPU | {bf['repetitions']} | {verdict(bf['meets_budget'])} |")
    bt = cs.get("by_record_types")
    if bt:
        add(f"| Cold start does not grow with the number of record types | import + first GET /v1/meta/records (every type "
            f"described) as super admin: {bt['few']['meta_records']['total_cpu']:.3f} s CPU with {bt['few']['types']} types → "
            f"{bt['many']['meta_records']['total_cpu']:.3f} s with {bt['many']['types']} (×{bt['meta_records_ratio_many_over_few']}); "
            f"first GET /v1/objects/<key>/records: {bt['few']['object_list']['total_cpu']:.3f} → "
            f"{bt['many']['object_list']['total_cpu']:.3f} s (×{bt['object_list_ratio_many_over_few']}) | {bf['repetitions']} | reported |")
    add(f"| Get = 1 round trip | GET /v1/customers/{{id}}: {get['warm']['round_trips']} ({ops_str(get['warm']['operations'])}), "
        f"est. {units(get['warm']['est_rcu'], get['warm']['est_wcu'])} RCU/WCU | {get['warm']['repetitions']} | "
        f"{verdict(get['meets_budget'])} |")
    add(f"| Create with audit = 1 transaction | name only: {create['warm']['round_trips']} ({ops_str(create['warm']['operations'])}); "
        f"with 4 dictionary fields: {create_full['warm']['round_trips']} ({ops_str(create_full['warm']['operations'])}) | "
        f"{create['warm']['repetitions']} | {verdict(create['meets_budget'])} / {verdict(create_full['meets_budget'])} |")
    c360 = by.get("GET /v1/customers/{id}/related (customer 360)")
    if c360:
        add(f"| Customer 360 = 1–2 round trips | GET /v1/customers/{{id}}/related: {c360['warm']['round_trips']} "
            f"({ops_str(c360['warm']['operations'])}) — the customer, then its family (gsi5) in one Query: contacts, follow-ups, "
            f"opportunities, quotes, contracts and custom objects under it, and its contracts' plans, payments and invoices, whatever "
            f"their number | {c360['warm']['repetitions']} | {verdict(c360['meets_budget'])} |")
    else:
        add(f"| Customer 360 = 1–2 round trips | {NA_360} | — | n/a |")
    obj_get = by.get("GET /v1/objects/{key}/records/{id} (custom object)")
    obj_post = by.get("POST /v1/objects/{key}/records (custom object)")
    if obj_get and obj_post:
        add(f"| A custom object costs what a customer costs | get {obj_get['warm']['round_trips']} "
            f"({ops_str(obj_get['warm']['operations'])}) vs {get['warm']['round_trips']}; create "
            f"{obj_post['warm']['round_trips']} ({ops_str(obj_post['warm']['operations'])}) vs {create['warm']['round_trips']}; "
            f"list 0 vs 0 (search index) | {obj_get['warm']['repetitions']} | "
            f"{verdict(bool(obj_get['meets_budget']) and bool(obj_post['meets_budget']))} |")
    for user, ratio in ratios.items():
        s0, s1 = sizes[0]["viewers"][user], sizes[1]["viewers"][user]
        add(f"| List page costs the same at 1k and 1M | {ratio['label']}: {s0['round_trips']} → {s1['round_trips']} round trips, "
            f"est. {s0['est_rcu']:g} → {s1['est_rcu']:g} RCU at {sizes[0]['customers_in_tenant']} → "
            f"{sizes[1]['customers_in_tenant']} customers (1M not feasible on moto); wall ×{ratio['wall_median']:g} "
            f"(search index: grows with the records in scope) | {s0['repetitions']} | {verdict(ratio['meets_budget'])} |")
    add(f"| API overhead over the raw storage call ≤ ×{ov['budget_ratio']:g} | GET /v1/customers/{{id}} over HTTP "
        f"{ov['ms']['http']['median']:.2f} ms vs raw GetItem {ov['ms']['raw']['median']:.2f} ms = "
        f"**×{ov['ratios']['http_vs_raw_median']:g}** (p95 ×{ov['ratios']['http_vs_raw_p95']:g}); in-process "
        f"×{ov['ratios']['inproc_vs_raw_median']:g}; of which the rate-limit write {ov['breakdown_ms_median']['rate_limit_write']:.2f} ms "
        f"(without it ×{ov['ratios']['http_without_rate_limit_vs_raw_median']:g}) | {ov['rounds']} | {verdict(ov['meets_budget'])} |")
    add(search_row(r["search"]))
    if r.get("dashboard"):
        add(dashboard_row(r["dashboard"]))
    if r.get("exports"):
        add(exports_row(r["exports"]))
    if r.get("lifecycle"):
        add(lifecycle_rows(r["lifecycle"]))
    if r.get("deals"):
        add(deals_rows(r["deals"]))
    if r.get("webhooks"):
        from .webhooks import rows as webhooks_rows

        add(webhooks_rows(r["webhooks"]))
    if r.get("mail"):
        from .mail import rows as mail_rows

        add(mail_rows(r["mail"]))
    if r.get("latency"):
        from .latency import row as latency_row

        add(latency_row(r["latency"]))
    add(imports_row(r.get("import") or {"status": NA_IMPORT}))
    add(approvals_row(r["approvals"]))
    if not bf["meets_budget"]:
        prof = cs["import_profile"]
        add("")
        add("Import time leaders (`python -X importtime`, self time): "
            + ", ".join(_self_entry(e) for e in prof["top_self"][:5]) + "; by package: "
            + ", ".join(f"{p['package']} {p['self_ms']:g} ms" for p in prof["self_by_package"][:5]) + ".")
    add("")
    add(f"#### DynamoDB round trips per request (warm: org snapshot cached, n = {rows[0]['warm']['repetitions']}; "
        "first: snapshot empty, n = 1)")
    add("")
    add("Round trips are the endpoint's own; \"+ rate limit\" is the conditional UpdateItem a container makes to its "
        "tenant's bucket when it takes a lease of tokens (at most once per 10 requests with the default limits; "
        "chalicelib/core/ratelimit.py).")
    add("")
    add("| Endpoint | As | Round trips (warm) | Operations (warm) | Est. RCU / WCU | First request | Wall / storage (median, moto) | Budget |")
    add("|---|---|---|---|---|---|---|---|")
    for row in rows:
        w, f = row["warm"], row["first"]
        other = rate_limit_str(w) + (f" + {ops_str(w['other_aws_calls'])}" if w["other_aws_calls"] else "")
        budget = f"{row['budget']}: {verdict(row['meets_budget'])}" if row["budget"] else "—"
        add(f"| {row['endpoint']} | {row['actor']} | {w['round_trips']} | {ops_str(w['operations'])}{other} | "
            f"{units(w['est_rcu'], w['est_wcu'])} | {f['round_trips']} ({ops_str(f['operations'])}) | "
            f"{fmt_ms(w['wall_ms']['median'])} / {fmt_ms(w['storage_ms_median'])} | {budget} |")
    add("")
    add(f"#### API overhead (GET /v1/customers/{{id}}, n = {ov['rounds']} interleaved rounds)")
    add("")
    add("| Path | Median | p95 |")
    add("|---|---|---|")
    labels = {"raw": "raw boto3 GetItem", "pynamodb": "records.get (PynamoDB)", "inproc": "in-process (chalice.test.Client)",
              "http": "HTTP keep-alive (local API server, TCP_NODELAY)", "health": "HTTP GET /v1/health", "verify": "token verification alone",
              "ratelimit": "rate-limit write alone (one conditional UpdateItem)"}
    for k, label in labels.items():
        add(f"| {label} | {ov['ms'][k]['median']:.2f} ms | {ov['ms'][k]['p95']:.2f} ms |")
    nagle = ov["http_with_nagle_ms"]
    add(f"| HTTP keep-alive with TCP_NODELAY switched off (Nagle on, n = {nagle['n']}) | {nagle['median']:.2f} ms | {nagle['p95']:.2f} ms |")
    add("")
    add("Capacity units are estimated from item sizes with DynamoDB's rules (moto returns fixed constants). "
        "Import is not built yet.")
    add("")
    add(approvals_markdown(r["approvals"]))
    add("")
    add(search_markdown(r["search"]))
    return "\n".join(L) + "\n"


# ---- customer lifecycle ---------------------------------------------------------------------
def _calls(m: dict[str, Any]) -> str:
    other = f" + {ops_str(m['other_aws_calls'])}" if m["other_aws_calls"] else ""
    return f"{m['round_trips']} ({ops_str(m['operations'])}){other}"


def customer_360_row(c: dict[str, Any]) -> str:
    big = c["related_200"]
    deals = c.get("contracts_20")
    twenty = "" if deals is None else (
        f"; 20 contracts with a plan and a payment each "
        f"({', '.join(f'{k} {v}' for k, v in deals['related_returned'].items() if v)} returned): **{_calls(deals)}**, p50 "
        f"{fmt_ms(deals['wall_ms']['median'])} / p95 {fmt_ms(deals['wall_ms']['p95'])} — the family index (gsi5) holds the "
        f"contracts' records too, so contracts add no Query")
    return (f"| Customer 360 ≤ 2 round trips, at demo size, with 200 related records and with 20 contracts | demo (华为技术有限公司): "
            f"{_calls(c['demo'])}, p50 {fmt_ms(c['demo']['wall_ms']['median'])}; 200 related "
            f"({', '.join(f'{k} {v}' for k, v in big['related_returned'].items())} returned): **{_calls(big)}**, p50 "
            f"{fmt_ms(big['wall_ms']['median'])} / p95 {fmt_ms(big['wall_ms']['p95'])}, of which outside the AWS calls "
            f"{fmt_ms(big['app_ms_median'])} (the rest is moto's index Query){twenty} | {big['wall_ms']['n']} | "
            f"{verdict(c['meets_budget'])} |")


def lifecycle_rows(lc: dict[str, Any]) -> str:
    c, p, cl = lc["customer_360"], lc["pool_timer"], lc["claims"]
    rows = [
        customer_360_row(c),
        f"| Pool timer: one customer's moment recomputed | with the follow-up that moves it: {_calls(p['followup'])}, p50 "
        f"{fmt_ms(p['followup']['wall_ms']['median'])}; background re-derivation after a rule change: "
        f"**{_calls(p['rederive_one'])}**, p50 {fmt_ms(p['rederive_one']['wall_ms']['median'])}; then, off the request path, "
        f"the table-stream consumer moves its schedules: {_calls(p['schedules_follow'])}, p50 "
        f"{fmt_ms(p['schedules_follow']['wall_ms']['median'])} | {p['rederive_one']['n']} | reported |",
        f"| Claim p95 under {cl['claimers']} concurrent claimers | alone: p50 {fmt_ms(cl['single_claimer_ms']['median'])}; "
        f"{cl['claimers']} at once, own customers: **p95 {fmt_ms(cl['spread']['ms']['p95'])}** (p50 "
        f"{fmt_ms(cl['spread']['ms']['median'])}, {cl['spread']['claims_per_second']} claims/s, statuses "
        f"{cl['spread']['statuses']}); all on one customer: p95 {fmt_ms(cl['contended']['ms']['p95'])}, winners per round "
        f"{cl['contended']['winners_per_round']} (one process: API server, moto and clients share the interpreter) | "
        f"{cl['spread']['claims']} + {cl['contended']['rounds']}×{cl['claimers']} | "
        f"{'exactly one winner' if cl['exactly_one_winner'] else 'MORE THAN ONE WINNER'} |",
    ]
    return "\n".join(rows)


def lifecycle_text(lc: dict[str, Any]) -> str:
    c, p, cl = lc["customer_360"], lc["pool_timer"], lc["claims"]
    lines = ["5b. Customer lifecycle"]
    for label, m in (("demo", c["demo"]), ("200 related", c["related_200"]),
                     *((("20 contracts", c["contracts_20"]),) if "contracts_20" in c else ())):
        lines.append(f"   customer 360, {label:12s} {_calls(m)}   p50 {fmt_ms(m['wall_ms']['median'])}  p95 {fmt_ms(m['wall_ms']['p95'])}"
                     f"  (app {fmt_ms(m['app_ms_median'])})"
                     f"   returned {m['related_returned']}")
    lines.append(f"   pool timer, follow-up that moves it   {_calls(p['followup'])}   p50 {fmt_ms(p['followup']['wall_ms']['median'])}")
    lines.append(f"   pool timer, re-derived after a rule change   {_calls(p['rederive_one'])}   "
                 f"p50 {fmt_ms(p['rederive_one']['wall_ms']['median'])}")
    lines.append(f"   pool timer, its schedules moved by the stream consumer   {_calls(p['schedules_follow'])}   "
                 f"p50 {fmt_ms(p['schedules_follow']['wall_ms']['median'])}")
    lines.append(f"   claims: alone p50 {fmt_ms(cl['single_claimer_ms']['median'])}; {cl['claimers']} concurrent claimers "
                 f"p50 {fmt_ms(cl['spread']['ms']['median'])} p95 {fmt_ms(cl['spread']['ms']['p95'])} "
                 f"({cl['spread']['claims_per_second']} claims/s, {cl['spread']['statuses']}); contended p95 "
                 f"{fmt_ms(cl['contended']['ms']['p95'])}, winners per round {cl['contended']['winners_per_round']}")
    return "\n".join(lines) + "\n"


# ---- deals ---------------------------------------------------------------------------------
def deals_rows(dl: dict[str, Any]) -> str:
    c, p = dl["contract"], dl["payments"]
    return "\n".join([
        f"| Contract submit → approved (reported) | the demo's 合同审批 flow, one supervisor step: submit p50 "
        f"{fmt_ms(c['submit_ms']['median'])}, approve p50 {fmt_ms(c['approve_ms']['median'])}, submit → execution ended "
        f"**p50 {fmt_ms(c['total_ms']['median'])}** (p95 {fmt_ms(c['total_ms']['p95'])}); **{c['transitions']} state "
        f"transitions** ({' → '.join(c['states'])}) | {c['runs']} | reported |",
        f"| {p['payers']} payments at once on one contract: p95 and zero over-receipts | {p['payers']} × {p['payment']:,} on a "
        f"{p['contract_amount']:,} contract over HTTP: **p95 {fmt_ms(p['ms']['p95'])}** (p50 {fmt_ms(p['ms']['median'])}); "
        f"answers {p['statuses']}; reserved after: {p['reserved']:,.0f} (= the accepted ones: {p['consistent']}) | {p['payers']} | "
        f"{'no over-receipt' if not p['over_receipts'] and p['consistent'] else 'OVER-RECEIPT'} |",
    ])


def deals_text(dl: dict[str, Any]) -> str:
    c, p = dl["contract"], dl["payments"]
    return (f"5c. Deals\n   contract submit p50 {fmt_ms(c['submit_ms']['median'])}, approve p50 {fmt_ms(c['approve_ms']['median'])}, "
            f"submit → ended p50 {fmt_ms(c['total_ms']['median'])}; {c['transitions']} transitions: {' → '.join(c['states'])}\n"
            f"   {p['payers']} payments at once: p50 {fmt_ms(p['ms']['median'])} p95 {fmt_ms(p['ms']['p95'])}, {p['statuses']}, "
            f"reserved {p['reserved']:,.0f} of {p['contract_amount']:,}\n")


# ---- approvals ---------------------------------------------------------------------------

def _usd(x: float) -> str:
    return f"${x:.4f}".rstrip("0").rstrip(".") if x < 1 else f"${x:,.2f}"


def _transitions(t: Any) -> str:
    """A constant count, or the distinct counts seen (should not happen)."""
    return str(t) if isinstance(t, int) else "/".join(map(str, t)) + " (varied)"


def _rt(step: dict[str, Any]) -> str:
    """'3 (GetItem, TransactWriteItems ×2) + 2 TOKEN reads'."""
    tr = step["token_reads"]
    reads = ""
    if tr["max"]:
        reads = f" + {tr['median']:g} TOKEN read{'s' if tr['median'] != 1 else ''}" + (f" (max {tr['max']})" if tr["max"] != tr["median"] else "")
    return f"{step['app_round_trips']} ({ops_str(step['app_operations'])}){reads}"


def _per_approval(shape: dict[str, Any]) -> int:
    t = shape["transitions_per_approval"]
    return t if isinstance(t, int) else max(t)


def approvals_text(a: dict[str, Any]) -> str:
    p = a["pricing"]
    lines = [f"5. Approvals on Step Functions (moto, execution on; {a['seconds']:.0f} s) — state transitions = StateEntered "
             f"events; cost at ${p['usd_per_1000_transitions']} per 1,000 transitions (Standard, us-east-1 list price), "
             f"{p['free_transitions_per_month']:,} free per month"]
    for sh in a["shapes"]:
        c = sh["cost"]
        lines.append(f"   {sh['label']}: {_transitions(sh['transitions_per_approval'])} transitions per approval = "
                     f"{_usd(c['usd_per_1000_approvals'])} per 1,000 approvals (free tier: ~{c['free_tier_approvals_per_month']:,}"
                     f" approvals/month); {sh['runs']} runs")
        for st in sh["steps"]:
            w, sy = st["wall_ms"], st["sync_execution_ms"]
            sync = ""
            if st["action"] != "submit" and sy["max"]:
                sync = (f", sync_execution {fmt_ms(sy['median'])} (waiting for the execution "
                        f"{fmt_ms(st['wait_for_execution_ms']['median'])} p50 / {fmt_ms(st['wait_for_execution_ms']['p95'])} p95)")
            elif st["action"] == "submit":
                sync = f", StartExecution {fmt_ms(st['start_execution_ms']['median'])}"
            lines.append(f"      {st['step']:34s} {_transitions(st['transitions']):>2s} transitions ({', '.join(st['states_entered']) or '—'}); "
                         f"wall {fmt_ms(w['median'])} p50 / {fmt_ms(w['p95'])} p95 (storage {fmt_ms(st['storage_ms_median'])}){sync}; "
                         f"DynamoDB {_rt(st)}")
    return "\n".join(lines)


def approvals_row(a: dict[str, Any]) -> str:
    parts = []
    for sh in a["shapes"]:
        steps = ", ".join(f"{_transitions(st['transitions'])}" for st in sh["steps"])
        parts.append(f"{sh['label']}: **{_transitions(sh['transitions_per_approval'])}** per approval ({steps} per request), "
                     f"{_usd(sh['cost']['usd_per_1000_approvals'])} per 1,000 approvals")
    runs = "/".join(str(sh["runs"]) for sh in a["shapes"])
    return ("| Approval: transitions per step reported | " + "; ".join(parts) + " (Step Functions Standard, "
            f"${a['pricing']['usd_per_1000_transitions']} per 1,000 transitions) | {runs} approvals | reported |")


def approvals_markdown(a: dict[str, Any]) -> str:
    p = a["pricing"]
    lines = ["#### Approvals on Step Functions (through the API on moto, execution on; n = approvals per flow)", "",
             "Each approval: a form bound to the flow, POST /v1/applications as rep1, then POST /v1/approvals/{id}/approve "
             "(or /reject) as each approver, in process (chalice.test.Client) against the moto server, which runs the "
             "execution of step_functions/approval.asl.json. Transitions = `...StateEntered` events each request added to "
             "the execution history. Cost assumes Step Functions Standard workflows at "
             f"**${p['usd_per_1000_transitions']} per 1,000 state transitions** (list price in us-east-1 and most regions); "
             f"the first {p['free_transitions_per_month']:,} transitions per month are free (free tier, per account), which the "
             "last column divides out.", "",
             "| Flow | n | Transitions per approval | Step Functions cost per 1,000 approvals | Free tier covers | "
             "Decision requests wall p50 / p95 | Decisions that move the instance to another step: wall p50, of which in `sync_execution` "
             "p50 (waiting for the execution p50 / p95) |",
             "|---|---|---|---|---|---|---|"]
    for sh in a["shapes"]:
        c, d, mv = sh["cost"], sh["decision_requests"], sh["moving_requests"]
        moving = (f"{fmt_ms(mv['wall_ms']['median'])}, of which {fmt_ms(mv['sync_execution_ms']['median'])} "
                  f"({fmt_ms(mv['wait_for_execution_ms']['median'])} / {fmt_ms(mv['wait_for_execution_ms']['p95'])}), n = {mv['n']}"
                  if mv else "—")
        lines.append(f"| {sh['label']} | {sh['runs']} | **{_transitions(sh['transitions_per_approval'])}** | "
                     f"{c['transitions_per_1000_approvals']:,} transitions = **{_usd(c['usd_per_1000_approvals'])}** | "
                     f"~{c['free_tier_approvals_per_month']:,} approvals/month | {fmt_ms(d['wall_ms']['median'])} / "
                     f"{fmt_ms(d['wall_ms']['p95'])} (n = {d['n']}) | {moving} |")
    lines += ["", "| Flow | Request | Transitions (states entered) | Wall p50 / p95 | Storage p50 | `sync_execution` p50: answer token / "
              "wait for the execution p50 / p95 | DynamoDB round trips (app + TOKEN reads while waiting) | Est. RCU / WCU | "
              "Other AWS calls | Calls by the execution |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for sh in a["shapes"]:
        for st in sh["steps"]:
            w = st["wall_ms"]
            if st["action"] == "submit":
                sync = f"StartExecution {fmt_ms(st['start_execution_ms']['median'])}"
            elif st["sync_execution_ms"]["max"]:
                sync = (f"{fmt_ms(st['answer_token_ms']['median'])} / {fmt_ms(st['wait_for_execution_ms']['median'])} / "
                        f"{fmt_ms(st['wait_for_execution_ms']['p95'])}")
            else:
                sync = "— (the step stays)"
            states = ", ".join(st["states_entered"]) or "—"
            lines.append(f"| {sh['key']} | {st['step']} | {_transitions(st['transitions'])} ({states}) | {fmt_ms(w['median'])} / "
                         f"{fmt_ms(w['p95'])} | {fmt_ms(st['storage_ms_median'])} | {sync} | {_rt(st)} | "
                         f"{units(st['est_rcu_median'], st['est_wcu_median'])} | {ops_str(st['other_aws_calls'])} | "
                         f"{ops_str(st['execution_dynamodb_calls'])} |")
    lines += ["", "Wall and storage times are moto's (devstack/moto_patches.py makes each TransactWriteItems snapshot only "
              "the items it touches, so a write no longer costs a copy of the whole table); "
              "the state-transition counts, round trips and the time spent waiting for the execution are the figures that carry "
              f"over. Every run starts from the same table ({a['table_items']['before']} items): the {a['items_deleted_after_runs']:,} "
              "items the approvals put were deleted after each one and moto's stream log cut back, so runs do not slow each "
              "other down. `sync_execution` "
              "(wrapped by the bench) reads the TOKEN item (consistent GetItem), answers it with SendTaskSuccess and, when the "
              "instance moved to another step, polls the TOKEN item (10 ms, then backing off to 200 ms) until the execution stored the next round's "
              f"token (at most CRM_APPROVAL_TOKEN_WAIT_SECONDS = {a['approval_token_wait_seconds']:g} s). "
              "\"Calls by the execution\" are the DynamoDB writes of the AwaitDecision task (made by Step Functions on AWS)."]
    return "\n".join(lines)


def approvals_findings(a: dict[str, Any]) -> list[str]:
    out: list[str] = []
    shapes = {sh["key"]: sh for sh in a["shapes"]}
    price = a["pricing"]["usd_per_1000_transitions"]
    by_kind: dict[str, set[Any]] = {"submit": set(), "moving": set(), "last": set(), "staying": set()}
    for sh in a["shapes"]:
        for st in sh["steps"]:
            kind = ("submit" if st["action"] == "submit" else "last" if "(last)" in st["step"] else
                    "moving" if st["sync_execution_ms"]["max"] else "staying")
            by_kind[kind].add(_transitions(st["transitions"]))
    costs = "; ".join(f"{sh['label'].split(' (')[0]} {_transitions(sh['transitions_per_approval'])} "
                      f"({_usd(sh['cost']['usd_per_1000_approvals'])})" for sh in a["shapes"])
    out.append(f"Approval state transitions: submit {'/'.join(sorted(by_kind['submit']))} (AwaitDecision), every decision that "
               f"moves the instance to another step {'/'.join(sorted(by_kind['moving']))} (Route, NextStep, AwaitDecision), the "
               f"final decision {'/'.join(sorted(by_kind['last']))} (Route, Approved), a 会签 vote that leaves the step open "
               f"{'/'.join(sorted(by_kind['staying'])) or '—'}. Per approval and per 1,000 approvals at ${price}/1,000: {costs}. "
               "A rejection back to a node costs a full extra pass over the steps it reopens.")
    moving = [sh["moving_requests"] for sh in a["shapes"] if sh["moving_requests"]]
    if moving:
        waits = [m["wait_for_execution_ms"]["median"] for m in moving]
        walls = [m["wall_ms"]["median"] for m in moving]
        out.append(f"A decision that moves the instance waits for the execution inside the request: "
                   f"{min(waits):.0f}–{max(waits):.0f} ms median on moto (SendTaskSuccess → Route → NextStep → AwaitDecision "
                   f"→ the TOKEN UpdateItem, polled by the request from every 10 ms, backing off) of {min(walls):.0f}–{max(walls):.0f} ms wall; "
                   "the final decision does not wait (it answers the token and returns). The rest of the wall time is DynamoDB.")
    two = shapes.get("two_step")
    if two:
        sub = two["steps"][0]
        out.append(f"POST /v1/applications (submit): {sub['app_round_trips']} DynamoDB round trips "
                   f"({ops_str(sub['app_operations'])}) + StartExecution: the draft application is created in its own "
                   "transaction before the submit transaction, the application and the form are read again in between and "
                   "after, and each notified approver costs one more transaction.")
    for sh in a["shapes"]:
        for st in sh["steps"]:
            if len(st["distinct_app_operation_sequences"]) > 1:
                out.append(f"Approvals, {sh['key']} / {st['step']}: the application's DynamoDB calls differed between runs: "
                           f"{st['distinct_app_operation_sequences']}.")
    notify = [st for sh in a["shapes"] for st in sh["steps"] if st["app_operations"].count("TransactWriteItems") > 2]
    if notify:
        st = max(notify, key=lambda s: s["app_operations"].count("TransactWriteItems"))
        out.append(f"Notifications are delivered one TransactWriteItems per recipient after the decision's transaction: "
                   f"\"{st['step']}\" makes {st['app_operations'].count('TransactWriteItems')} transactions "
                   f"({ops_str(st['app_operations'])}).")
    return out


# ---- search ------------------------------------------------------------------------------

def _search_engines(s: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(e, size, v) for e, d in s["engines"].items() for size, v in d["sizes"].items()]


def search_text(s: dict[str, Any]) -> str:
    lines = [f"7. Search (indexer batches of {s['batch']}, {s['repetitions_per_query']} runs per query)"]
    for e, size, v in _search_engines(s):
        lines.append(f"   {e:10s} {int(size):>7,} records: indexing {v['records_per_second']} records/s; text search p50 "
                     f"{fmt_ms(v['text_search_ms']['median'])} p95 {fmt_ms(v['text_search_ms']['p95'])}; lists + facets p50 "
                     f"{fmt_ms(v['list_and_facets_ms']['median'])} p95 {fmt_ms(v['list_and_facets_ms']['p95'])}")
    for e, size, v in _search_engines(s):
        if "duplicate_check" in v:
            d = v["duplicate_check"]["all_ms"]
            lines.append(f"   {e:10s} {int(size):>7,} records: duplicate check (查重, whole service call) p50 {fmt_ms(d['median'])} "
                         f"p95 {fmt_ms(d['p95'])}")
    b = s["budget"]
    lines.append(f"   budget: text search p95 ≤ 50 ms at {b['size']:,} on the embedded engine: {b['text_search_p95_ms']:.1f} ms "
                 f"{verdict(b['meets_budget'])}")
    if "duplicate_check_p95_ms" in b:
        lines.append(f"   budget: duplicate check p95 ≤ 50 ms at {b['size']:,} customers on the embedded engine: "
                     f"{b['duplicate_check_p95_ms']:.1f} ms {verdict(b['duplicate_check_meets_budget'])}")
    return "\n".join(lines)


def search_row(s: dict[str, Any]) -> str:
    b = s["budget"]
    row = (f"| Search p95 ≤ 50 ms at 100,000 records (embedded) | text search p95 **{b['text_search_p95_ms']:.1f} ms** at "
           f"{b['size']:,} records; lists with filters/facets p95 {b['list_and_facets_p95_ms']:.1f} ms | "
           f"{s['repetitions_per_query']} per query | {verdict(b['meets_budget'])} |")
    if "duplicate_check_p95_ms" in b:
        row += (f"\n| Duplicate check p95 ≤ 50 ms at 100,000 customers (embedded) | `duplicates.service.check` p95 "
                f"**{b['duplicate_check_p95_ms']:.1f} ms** at {b['size']:,} customers (rep, director, admin; match, unseen block, "
                f"no match) | {s['repetitions_per_query']} per case | {verdict(b['duplicate_check_meets_budget'])} |")
    return row


def search_markdown(s: dict[str, Any]) -> str:
    lines = [f"#### Search (records fed through `functions/indexer.py` in batches of {s['batch']}; "
             f"n = {s['repetitions_per_query']} per query)", "",
             "| Engine | Records | Indexing | Text search p50 / p95 | Lists + facets p50 / p95 | All queries p95 |",
             "|---|---|---|---|---|---|"]
    for e, size, v in _search_engines(s):
        lines.append(f"| {e} | {int(size):,} | {v['records_per_second']} records/s | {v['text_search_ms']['median']:.1f} / "
                     f"{v['text_search_ms']['p95']:.1f} ms | {v['list_and_facets_ms']['median']:.1f} / {v['list_and_facets_ms']['p95']:.1f} ms | "
                     f"{v['all_queries_ms']['p95']:.1f} ms |")
    lines += ["", "| Query (embedded, largest size) | p50 | p95 | hits |", "|---|---|---|---|"]
    big = str(s["budget"]["size"])
    for name, q in s["engines"]["embedded"]["sizes"][big]["queries"].items():
        lines.append(f"| {name} | {q['median']:.1f} ms | {q['p95']:.1f} ms | {q['total_hits']:,} |")
    dup = [(e, size, v["duplicate_check"]) for e, size, v in _search_engines(s) if "duplicate_check" in v]
    if dup:
        lines += ["", "| Duplicate check (查重: `duplicates.service.check`, default rules) | Records | p50 | p95 |", "|---|---|---|---|"]
        lines += [f"| {e} | {int(size):,} | {d['all_ms']['median']:.1f} ms | {d['all_ms']['p95']:.1f} ms |" for e, size, d in dup]
        lines += ["", "| Duplicate check case (embedded, largest size) | p50 | p95 | blocked | readable matches |", "|---|---|---|---|---|"]
        for name, q in s["engines"]["embedded"]["sizes"][big]["duplicate_check"]["cases"].items():
            lines.append(f"| {name} | {q['median']:.1f} ms | {q['p95']:.1f} ms | {q['blocked']} | {q['readable_matches']} |")
    if "opensearch" in s["engines"]:
        lines += ["", f"OpenSearch: {s['engines']['opensearch'].get('node', '')} on the same machine."]
    return "\n".join(lines)


# ---- exports -----------------------------------------------------------------------------
def exports_text(x: dict[str, Any]) -> str:
    lines = [f"8. Exports of customers ({x['engine']}, {x['viewer']}): wall time, rows/s, peak memory above the start"]
    for size, v in x["sizes"].items():
        parts = "; ".join(f"{fmt} {m['seconds']:.1f} s ({m['rows_per_second']:,} rows/s, CPU {m['cpu_seconds']:.1f} s, "
                          f"{m['file_mb']} MB, peak +{m['peak_rss_above_start_mb']} MB)" for fmt, m in v.items() if fmt in ("xlsx", "csv"))
        lines.append(f"   {int(size):,} records: {parts}")
    lines.append(f"   memory grows with the rows: {x['memory_grows_with_rows']}")
    return "\n".join(lines)


def exports_row(x: dict[str, Any]) -> str:
    size = max(x["sizes"], key=int)
    v = x["sizes"][size]
    return (f"| Exports stream (constant memory) | {int(size):,} customers: XLSX **{v['xlsx']['seconds']:.1f} s** "
            f"(peak +{v['xlsx']['peak_rss_above_start_mb']} MB), CSV **{v['csv']['seconds']:.1f} s** (peak "
            f"+{v['csv']['peak_rss_above_start_mb']} MB) | 1 | {verdict(not x['memory_grows_with_rows'])} |")


# ---- dashboard ---------------------------------------------------------------------------
WHOLE = "whole dashboard (this year)"


def dashboard_text(d: dict[str, Any]) -> str:
    docs = d["documents"]
    lines = [f"7. Dashboard of a director ({d['viewer']}) at {docs['CONTRACT']:,} contracts and {docs['PAYMENT']:,} payments:"]
    for e, v in d["engines"].items():
        parts = "; ".join(f"{name} p50 {fmt_ms(m['median'])} p95 {fmt_ms(m['p95'])} (CPU here p50 {fmt_ms(m['cpu_median'])})"
                          for name, m in v.items() if isinstance(m, dict) and "p95" in m)
        lines.append(f"   {e:10s} {parts} (1-minute load average {v.get('load_average_1m', '?')})")
    for e, b in d["budget"].items():
        lines.append(f"   budget: whole dashboard p95 ≤ 200 ms ({e}): {b['p95_ms']:.1f} ms {verdict(b['meets_budget'])}")
    return "\n".join(lines)


def dashboard_row(d: dict[str, Any]) -> str:
    docs = d["documents"]
    figures = "; ".join(f"{e} p95 **{v[WHOLE]['p95']:.1f} ms** (p50 {v[WHOLE]['median']:.1f} ms)" for e, v in d["engines"].items())
    ok = all(b["meets_budget"] for b in d["budget"].values())
    return (f"| Dashboard of a director ≤ 200 ms p95 at 100,000 contracts and payments | whole dashboard at {docs['CONTRACT']:,} "
            f"contracts and {docs['PAYMENT']:,} payments: {figures} | {d['repetitions']} | {verdict(ok)} |")
