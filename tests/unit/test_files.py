"""Pure rules of files: the names keys are made of, the SHA-256 forms a client may send, and
where file values sit in a record's values (detail tables included)."""
from __future__ import annotations

import base64
import hashlib

import pytest

from chalicelib.engine.fieldtypes import FieldSpec as F
from chalicelib.engine.fieldtypes import stored_files
from chalicelib.files.service import _sha256, file_ids, ref_id
from chalicelib.ports.files import file_key, pending_key, safe_name


@pytest.mark.parametrize("name,expected", [
    ("合同.pdf", "合同.pdf"),
    ("2026 Q1 报价 (终版).xlsx", "2026_Q1_报价_终版_.xlsx"),
    ("../../etc/passwd", "etc_passwd"),
    ("...", "file"),
    ("a" * 150 + ".docx", "a" * 95 + ".docx"),
])
def test_given_a_users_file_name_when_made_a_key_then_only_letters_digits_dot_dash_underscore_remain(name, expected):
    assert safe_name(name) == expected


def test_given_a_tenant_and_file_when_keyed_then_pending_and_final_keys_are_tenant_scoped():
    assert pending_key("acme", "F1") == "pending/tenants/acme/files/F1"
    assert file_key("acme", "F1", "报价 单.pdf") == "tenants/acme/files/F1/报价_单.pdf"
    with pytest.raises(ValueError):
        file_key("a/b", "F1", "x.pdf")


def test_given_a_sha256_in_hex_or_base64_when_read_then_both_forms_are_known_and_anything_else_is_not():
    digest = hashlib.sha256(b"x").digest()
    both = (digest.hex(), base64.b64encode(digest).decode())
    assert _sha256(digest.hex().upper()) == both
    assert _sha256(base64.b64encode(digest).decode()) == both
    assert _sha256("z" * 64) is None
    assert _sha256(base64.b64encode(b"short").decode()) is None
    assert _sha256("not base64 at all!!!!!!!!!!!!!!!!!!!!!!!!!!") is None


def test_given_record_values_when_files_are_collected_then_file_image_and_table_cells_count_and_nothing_else():
    specs = (F("title", "text"), F("scan", "file"), F("photo", "image"),
             F("rows", "table", columns=(F("page", "file"), F("note", "text"))))
    values = {"title": "f9", "scan": [{"id": "f1", "name": "a.pdf"}], "photo": [{"id": "f2"}],
              "rows": [{"page": [{"id": "f3"}], "note": "f4"}, {"note": "x"}]}
    assert file_ids(stored_files(specs, values)) == {"f1", "f2", "f3"}
    assert ref_id({"id": "f1"}) == ref_id("f1") == "f1" and ref_id({"key": "x"}) is None and ref_id(3) is None
