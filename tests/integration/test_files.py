"""Files and attachments through the API, with real presigned uploads and downloads.

moto's `mock_aws` intercepts plain HTTP requests to S3 URLs as well as botocore calls, so the
test sends the bytes with `requests` to the presigned URL exactly as a browser would. moto
checks neither the signature nor the length nor the checksum of that PUT (AWS refuses a
mismatch at upload time); confirmation still catches it, because the SHA-256 that counts is
the one S3 computes when the API copies the upload to its final key.
"""
from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, unquote, urlparse

import requests

from chalicelib.core.settings import environment

PDF = b"%PDF-1.7\n" + "季度框架合同".encode() * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _ask(api, token, body: bytes, name="合同.pdf", content_type="application/pdf", sha256: str | None = None, size=None):
    return api.call("POST", "/v1/files", token, {"name": name, "content_type": content_type, "size": len(body) if size is None else size,
                                                 "sha256": sha256 or hashlib.sha256(body).hexdigest()})


def _put(ticket: dict, body: bytes) -> None:
    r = requests.put(ticket["url"], data=body, headers=ticket["headers"], timeout=10)
    assert r.status_code == 200, r.text


def _customer(api, token, name="华为技术有限公司") -> dict:
    r = api.call("POST", "/v1/customers", token, {"name": name})
    assert r.status_code == 201, r.data
    return r.data


# ---- uploading ----------------------------------------------------------------------------------

def test_given_a_rep_when_uploading_through_the_presigned_url_then_confirmed_files_download_as_uploaded(api, sales_team):
    rep, tenant = sales_team["tokens"]["rep1"], sales_team["id"]
    b64 = base64.b64encode(hashlib.sha256(PDF).digest()).decode()
    r = _ask(api, rep, PDF, name="C:\\扫描\\季度合同.pdf", sha256=b64)  # base64 is accepted as well as hex
    assert r.status_code == 201, r.data
    f, ticket = r.data, r.data["upload"]
    assert f["status"] == "pending" and f["name"] == "季度合同.pdf" and f["sha256"] == hashlib.sha256(PDF).hexdigest()
    # the URL writes one tenant-scoped pending key and signs the length, the type and the checksum
    url = urlparse(ticket["url"])
    assert url.path.endswith(f"/pending/tenants/{tenant}/files/{f['id']}")
    signed = set(parse_qs(url.query)["X-Amz-SignedHeaders"][0].split(";"))
    assert {"content-length", "content-type", "x-amz-checksum-sha256"} <= signed
    assert ticket["method"] == "PUT" and ticket["headers"] == {"Content-Type": "application/pdf", "x-amz-checksum-sha256": b64}

    early = api.call("POST", f"/v1/files/{f['id']}/confirm", rep)
    assert early.status_code == 422 and early.data["code"] == "FILE_NOT_UPLOADED"
    _put(ticket, PDF)
    done = api.call("POST", f"/v1/files/{f['id']}/confirm", rep)
    assert done.status_code == 200 and done.data["status"] == "uploaded" and done.data["uploaded_at"]
    assert api.call("POST", f"/v1/files/{f['id']}/confirm", rep).data["status"] == "uploaded"  # twice is harmless

    dl = api.call("GET", f"/v1/files/{f['id']}/download", rep)
    assert dl.status_code == 200, dl.data
    assert unquote(urlparse(dl.data["url"]).path).endswith(f"/tenants/{tenant}/files/{f['id']}/季度合同.pdf")
    got = requests.get(dl.data["url"], timeout=10)
    assert got.status_code == 200 and got.content == PDF
    assert "filename*=UTF-8''%E5%AD%A3%E5%BA%A6" in got.headers["Content-Disposition"]
    mine = api.call("GET", "/v1/files", rep).data["items"]
    assert [(m["id"], m["status"]) for m in mine] == [(f["id"], "uploaded")]


def test_given_bytes_that_do_not_match_the_declared_sha256_when_confirmed_then_refused_until_the_right_bytes_arrive(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    f = _ask(api, rep, b"original").data
    _put(f["upload"], b"tampered")  # same length, other content (AWS would refuse this PUT: BadDigest)
    r = api.call("POST", f"/v1/files/{f['id']}/confirm", rep, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.data["code"] == "FILE_CHECKSUM_MISMATCH" and "SHA-256" in r.data["message"]
    assert api.call("GET", f"/v1/files/{f['id']}", rep).data["status"] == "pending"
    unconfirmed = api.call("GET", f"/v1/files/{f['id']}/download", rep)
    assert unconfirmed.status_code == 409 and unconfirmed.data["code"] == "FILE_NOT_CONFIRMED"
    c = _customer(api, rep)
    assert api.call("POST", f"/v1/customers/{c['id']}/attachments", rep, {"file_id": f["id"]}).status_code == 404

    _put(f["upload"], b"original")
    assert api.call("POST", f"/v1/files/{f['id']}/confirm", rep).data["status"] == "uploaded"
    assert requests.get(api.call("GET", f"/v1/files/{f['id']}/download", rep).data["url"], timeout=10).content == b"original"


def test_given_an_upload_of_another_size_when_confirmed_then_the_sizes_are_named(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    f = _ask(api, rep, b"0123456789").data
    _put(f["upload"], b"01234")
    r = api.call("POST", f"/v1/files/{f['id']}/confirm", rep)
    assert r.status_code == 422 and r.data["code"] == "FILE_SIZE_MISMATCH"
    assert "5" in r.data["message"] and "10" in r.data["message"]


def test_given_limits_when_asking_for_an_upload_then_type_size_and_checksum_are_refused_by_field(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/files", rep, {"name": "page.html", "content_type": "text/html", "size": 50 * 1024 * 1024 + 1,
                                            "sha256": "z" * 64}, headers={"Accept-Language": "en"})
    assert r.status_code == 422
    by_field = {d["field"]: d["message"] for d in r.data["details"]}
    assert set(by_field) == {"content_type", "size", "sha256"}
    assert by_field["size"] == "Files may not be larger than 50 MB"
    assert _ask(api, rep, b"", size=0).status_code == 422
    with environment(CRM_FILE_MAX_BYTES="1024", CRM_FILE_CONTENT_TYPES="text/plain"):
        small = _ask(api, rep, b"x" * 2048, name="a.txt", content_type="text/plain")
        assert small.status_code == 422 and [d["field"] for d in small.data["details"]] == ["size"]
        assert _ask(api, rep, PDF).data["details"][0]["field"] == "content_type"
        assert _ask(api, rep, b"x" * 1024, name="a.txt", content_type="text/plain").status_code == 201


# ---- who may use and read a file ----------------------------------------------------------------

def test_given_another_tenants_file_when_used_anywhere_then_it_is_not_found(api, sales_team, make_tenant, upload):
    other = make_tenant()
    theirs = upload(other["admin"], PDF)
    rep = sales_team["tokens"]["rep1"]
    mine = upload(rep, PDF)
    for method, path in (("GET", ""), ("GET", "/download"), ("POST", "/confirm")):
        r = api.call(method, f"/v1/files/{theirs['id']}{path}", rep)
        assert r.status_code == 404 and theirs["name"] not in str(r.data), (path, r.data)
        assert api.call(method, f"/v1/files/{mine['id']}{path}", other["admin"]).status_code == 404
    c = _customer(api, rep)
    attach = api.call("POST", f"/v1/customers/{c['id']}/attachments", rep, {"file_id": theirs["id"]})
    assert attach.status_code == 404 and attach.data["code"] == "NOT_FOUND"
    api.call("POST", "/v1/objects", sales_team["admin"], ARCHIVE)
    as_value = api.call("POST", "/v1/objects/archive/records", rep, {"title": "x", "scan": [theirs["id"]]})
    assert as_value.status_code == 422
    assert [(d["field"], d["type"]) for d in as_value.data["details"]] == [("scan", "not_found")]
    # and the other tenant's admin cannot reach this tenant's attachment through the record either
    api.call("POST", f"/v1/customers/{c['id']}/attachments", rep, {"file_id": mine["id"]})
    assert api.call("GET", f"/v1/customers/{c['id']}/attachments", other["admin"]).status_code == 404
    assert api.call("DELETE", f"/v1/customers/{c['id']}/attachments/{mine['id']}", other["admin"]).status_code == 404


def test_given_a_colleagues_file_when_a_rep_attaches_or_uses_it_then_refused_and_only_readers_of_its_records_see_it(
        api, sales_team, upload):
    t = sales_team["tokens"]
    f = upload(t["rep1"], PDF)
    c1, c2 = _customer(api, t["rep1"]), _customer(api, t["rep2"], "上海ACME贸易")
    assert api.call("POST", f"/v1/customers/{c2['id']}/attachments", t["rep2"], {"file_id": f["id"]}).status_code == 404
    assert api.call("GET", f"/v1/files/{f['id']}", t["rep2"]).status_code == 404
    assert api.call("GET", f"/v1/files/{f['id']}", t["manager"]).status_code == 404  # on no record yet
    assert api.call("POST", f"/v1/customers/{c1['id']}/attachments", t["rep1"], {"file_id": f["id"]}).status_code == 201
    # now readers of the customer may read and download it: the manager (subordinates) and the agent (department)
    for who in ("manager", "agent"):
        assert api.call("GET", f"/v1/files/{f['id']}", t[who]).status_code == 200, who
        assert requests.get(api.call("GET", f"/v1/files/{f['id']}/download", t[who]).data["url"], timeout=10).content == PDF
    assert api.call("GET", f"/v1/files/{f['id']}/download", t["rep2"]).status_code == 404  # cannot read the customer
    # reading a record is not changing it: the agent cannot attach or remove, the other rep cannot even list
    own = upload(t["agent"], PNG, name="名片.png", content_type="image/png")
    assert api.call("POST", f"/v1/customers/{c1['id']}/attachments", t["agent"], {"file_id": own["id"]}).status_code == 403
    assert api.call("DELETE", f"/v1/customers/{c1['id']}/attachments/{f['id']}", t["agent"]).status_code == 403
    assert api.call("GET", f"/v1/customers/{c1['id']}/attachments", t["rep2"]).status_code == 404  # as a missing record


# ---- attachments of records --------------------------------------------------------------------

def test_given_attachments_when_added_listed_and_removed_then_the_operation_log_shows_attach_and_detach(api, sales_team, upload):
    rep = sales_team["tokens"]["rep1"]
    c = _customer(api, rep)
    contract, card = upload(rep, PDF), upload(rep, PNG, name="名片.png", content_type="image/png")
    base = f"/v1/customers/{c['id']}/attachments"
    first = api.call("POST", base, rep, {"file_id": contract["id"]})
    assert first.status_code == 201 and first.data["name"] == "合同.pdf" and first.data["download_url"]
    assert api.call("POST", base, rep, {"file_id": card["id"]}).status_code == 201
    again = api.call("POST", base, rep, {"file_id": contract["id"]})
    assert again.status_code == 409 and again.data["code"] == "FILE_ALREADY_ATTACHED"
    listed = api.call("GET", base, sales_team["tokens"]["manager"]).data["items"]
    assert [(a["file_id"], a["name"], a["size"]) for a in listed] == [(card["id"], "名片.png", len(PNG)),
                                                                      (contract["id"], "合同.pdf", len(PDF))]
    assert requests.get(listed[1]["download_url"], timeout=10).content == PDF
    assert api.call("GET", f"{base}?limit=1", rep).data["next_cursor"]

    assert api.call("DELETE", f"{base}/{contract['id']}", rep).status_code == 204
    assert [a["file_id"] for a in api.call("GET", base, rep).data["items"]] == [card["id"]]
    assert api.call("DELETE", f"{base}/{contract['id']}", rep).status_code == 404
    log = api.call("GET", f"/v1/records/customer/{c['id']}/logs", rep).data["items"]
    trail = [(e["action"], e["note"]) for e in log if e["action"] in ("attach", "detach")]
    assert trail == [("detach", "合同.pdf"), ("attach", "名片.png"), ("attach", "合同.pdf")]  # newest first
    assert log[0]["changes"] == [{"field": "attachments", "before": {"id": contract["id"], "name": "合同.pdf"}, "after": None}]
    # the record's version is untouched: attachments are a collection beside it, not a field of it
    assert api.call("GET", f"/v1/customers/{c['id']}", rep).data["version"] == c["version"]
    # a record in the recycle bin takes no attachments
    gone = api.call("DELETE", f"/v1/customers/{c['id']}", sales_team["admin"], headers={"If-Match": f'"{c["version"]}"'})
    assert gone.status_code == 204
    admins = upload(sales_team["admin"], PDF)
    assert api.call("POST", base, sales_team["admin"], {"file_id": admins["id"]}).status_code == 404


# ---- file fields of custom objects --------------------------------------------------------------

ARCHIVE = {
    "key": "archive", "label": "客户档案", "label_en": "Customer archive", "title_field": "title",
    "fields": [
        {"key": "title", "label": "标题", "type": "text", "required": True},
        {"key": "scan", "label": "扫描件", "type": "file"},
        {"key": "photo", "label": "照片", "type": "image"},
        {"key": "pages", "label": "附页", "type": "table", "columns": [
            {"key": "page", "label": "页", "type": "file", "required": True}]},
    ],
    "grants": {"sales_rep": {"actions": ["create", "update", "list", "read"], "scope": "self"},
               "sales_manager": {"actions": ["create", "update", "list", "read"], "scope": "self_and_subordinates"}},
}


def test_given_a_custom_object_with_file_fields_when_records_hold_files_then_only_confirmed_own_uploads_are_taken(
        api, sales_team, upload):
    t = sales_team["tokens"]
    assert api.call("POST", "/v1/objects", sales_team["admin"], ARCHIVE).status_code == 201
    scan, photo, page = upload(t["rep1"], PDF), upload(t["rep1"], PNG, name="门头.png", content_type="image/png"), \
        upload(t["rep1"], b"page 2", name="p2.pdf")
    pending = upload(t["rep1"], b"later", confirm=False)
    colleagues = upload(t["rep2"], PDF)

    bad = api.call("POST", "/v1/objects/archive/records", t["rep1"], {
        "title": "华为档案", "scan": [pending["id"]], "photo": [scan["id"]], "pages": [{"page": colleagues["id"]}]})
    assert bad.status_code == 422
    assert sorted((d["field"], d["type"]) for d in bad.data["details"]) == [
        ("pages.0.page", "not_found"), ("photo", "type"), ("scan", "not_found")]
    r = api.call("POST", "/v1/objects/archive/records", t["rep1"], {
        "title": "华为档案", "scan": {"id": scan["id"]}, "photo": [photo["id"]], "pages": [{"page": [page["id"]]}]})
    assert r.status_code == 201, r.data
    rec = r.data
    assert rec["scan"] == [{"id": scan["id"], "name": "合同.pdf", "size": len(PDF), "content_type": "application/pdf",
                            "sha256": hashlib.sha256(PDF).hexdigest()}]
    assert rec["pages"][0]["page"][0]["id"] == page["id"]
    # whoever may read the record may download its files; others may not
    for fid in (scan["id"], page["id"]):
        assert api.call("GET", f"/v1/files/{fid}/download", t["manager"]).status_code == 200
        assert api.call("GET", f"/v1/files/{fid}/download", t["rep2"]).status_code == 404
    # the manager edits the record: the rep's files it holds stay; a file must otherwise be the manager's own
    path = f"/v1/objects/archive/records/{rec['id']}"
    mine = upload(t["manager"], PDF, name="批注.pdf")
    kept = api.call("PATCH", path, t["manager"], {"scan": [*rec["scan"], {"id": mine["id"]}]}, headers={"If-Match": '"1"'})
    assert kept.status_code == 200, kept.data
    assert [f["id"] for f in kept.data["scan"]] == [scan["id"], mine["id"]]
    stolen = api.call("PATCH", path, t["manager"], {"photo": [colleagues["id"]]}, headers={"If-Match": '"2"'})
    assert stolen.status_code == 422 and stolen.data["details"][0]["field"] == "photo"
    # a file taken out of the record is no longer shared through it
    assert api.call("PATCH", path, t["rep1"], {"scan": [{"id": mine["id"]}]}, headers={"If-Match": '"2"'}).status_code == 200
    assert api.call("GET", f"/v1/files/{scan['id']}", t["manager"]).status_code == 404
    assert api.call("GET", f"/v1/files/{mine['id']}", t["rep1"]).status_code == 200

    # attachments of a custom object's record: the same rules under the object's routes
    base = f"{path}/attachments"
    extra = upload(t["rep1"], b"minutes", name="纪要.pdf")
    assert api.call("POST", base, t["rep1"], {"file_id": extra["id"]}).status_code == 201
    assert api.call("POST", base, t["rep2"], {"file_id": colleagues["id"]}).status_code == 404  # not their record: as a missing one
    assert [a["name"] for a in api.call("GET", base, t["manager"]).data["items"]] == ["纪要.pdf"]
    assert api.call("DELETE", f"{base}/{extra['id']}", t["rep1"]).status_code == 204
    log = api.call("GET", f"/v1/records/obj_archive/{rec['id']}/logs", t["rep1"]).data["items"]
    assert [e["action"] for e in log][:2] == ["detach", "attach"]


# ---- forms -----------------------------------------------------------------------------------------

def test_given_a_form_with_attachments_when_an_application_holds_files_then_its_approvers_may_download_them(api, oa, upload):
    admin = oa["admin"]
    form = api.call("POST", "/v1/forms", admin, {"name": "费用报销", "fields": [
        {"key": "amount", "label": "金额", "field_type": "money", "required": True},
        {"key": "receipts", "label": "票据", "field_type": "attachment"}]}).data
    flow = api.call("POST", "/v1/approval-flows", admin, {"name": "报销审批", "business_type": f"form:{form['id']}", "enabled": True,
                                                          "nodes": [{"id": "a", "name": "经理", "approvers": {
                                                              "type": "users", "user_ids": [oa["ids"]["manager"]]}}]}).data
    api.call("PATCH", f"/v1/forms/{form['id']}", admin, {"flow_id": flow["id"]}, headers={"If-Match": f'"{form["version"]}"'})
    receipt, theirs = upload(oa["tokens"]["rep"], PDF, name="发票.pdf"), upload(oa["tokens"]["rep2"], PDF)
    refused = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "data": {
        "amount": 120, "receipts": [{"id": theirs["id"]}]}})
    assert refused.status_code == 422 and refused.data["details"][0]["field"] == "receipts"
    legacy = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "data": {
        "amount": 120, "receipts": [{"name": "发票.pdf", "key": "tenants/x/any.pdf"}]}})
    assert legacy.status_code == 422  # an object key is not a file
    app = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "data": {
        "amount": 120, "receipts": [{"id": receipt["id"]}]}})
    assert app.status_code == 201, app.data
    assert app.data["data"]["receipts"] == [{"id": receipt["id"], "name": "发票.pdf", "size": len(PDF),
                                             "content_type": "application/pdf", "sha256": hashlib.sha256(PDF).hexdigest()}]
    assert api.call("GET", f"/v1/files/{receipt['id']}/download", oa["tokens"]["manager"]).status_code == 200
    assert api.call("GET", f"/v1/files/{receipt['id']}/download", oa["tokens"]["rep2"]).status_code == 404
