"""Pure core behaviour: texts, languages, ids, masks (cursors: test_pagination.py)."""
from __future__ import annotations

import re

import pytest

from chalicelib.core import i18n, ids


def test_given_every_message_when_rendered_then_both_languages_exist_and_placeholders_match():
    for key, texts in i18n.MESSAGES.items():
        assert set(texts) == set(i18n.LOCALES), key
        zh, en = (set(re.findall(r"{(\w+)}", texts[loc])) for loc in i18n.LOCALES)
        assert zh == en, key


def test_given_every_error_code_used_in_code_when_looked_up_then_it_has_a_message():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2] / "chalicelib"
    codes = set()
    for path in root.rglob("*.py"):
        codes |= set(re.findall(r'(?:ValidationFailed|Conflict|Forbidden|Unauthenticated|NotFound|LimitExceeded|PreconditionRequired)\("([A-Z_]+)"', path.read_text()))
    assert codes, "no error codes found"
    missing = sorted(c for c in codes if c not in i18n.MESSAGES)
    assert not missing


def test_given_every_error_class_when_looked_up_then_its_code_has_a_message():
    from chalicelib.core import errors

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    codes = {cls.code for cls in [errors.DomainError, *subclasses(errors.DomainError)]}
    assert {"ROUTE_NOT_FOUND", "METHOD_NOT_ALLOWED", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"} <= codes
    assert sorted(c for c in codes if c not in i18n.MESSAGES) == []


@pytest.mark.parametrize("header,expected", [
    (None, "zh-CN"), ("en-US,en;q=0.9", "en"), ("zh-TW,zh;q=0.9,en;q=0.8", "zh-CN"), ("fr-FR", "zh-CN"),
    ("fr;q=1, en;q=0.5, zh;q=0.1", "en"), ("en;q=0.1, zh-CN;q=0.9", "zh-CN"), ("garbage;;q=x", "zh-CN"),
])
def test_given_accept_language_when_picking_then_best_supported_language(header, expected):
    assert i18n.pick_locale(header) == expected


def test_given_entity_param_when_rendering_then_entity_name_is_translated():
    assert i18n.text("NOT_FOUND", "zh-CN", entity="entity.customer") == "客户不存在或已删除"
    assert i18n.text("NOT_FOUND", "en", entity="entity.customer") == "Customer not found or deleted"


def test_given_ids_when_generated_then_unique_sortable_and_derived_ids_are_stable():
    a, b = ids.new_id(), ids.new_id()
    assert len(a) == 26 and a != b and re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", a)
    assert ids.derived_id(1000, "x") == ids.derived_id(1000, "x") != ids.derived_id(1000, "y")
    assert ids.derived_id(1000, "z") < ids.derived_id(2000, "a")


@pytest.mark.parametrize("password,ok", [
    ("Crm@2026!demo", True), ("Passw0rd!2026", True), ("short1!A", False), ("Long-enough1", True), ("Elevenchr1!", False), ("Sh0rt!", False), ("alllower1!", False),
    ("ALLUPPER1!", False), ("NoDigits!!", False), ("NoSymbol12", False), ("中文密码Aa1!很安全的", True),
])
def test_given_password_when_checked_then_policy_matches_cognito_pool(password, ok):
    from chalicelib.core import passwords

    if ok:
        assert passwords.check(password) == password
    else:
        with pytest.raises(ValueError, match="password needs"):
            passwords.check(password)


def test_given_a_password_cost_setting_then_only_local_and_test_stages_hash_below_the_production_cost():
    from chalicelib.core.settings import environment
    from chalicelib.ports import identity

    with environment(CRM_PASSWORD_COST="4", CRM_STAGE="test"):
        cheap = identity.hash_password("Passw0rd!2026")
        assert cheap.startswith("scrypt4$")
    with environment(CRM_PASSWORD_COST="4", CRM_STAGE="prod"):
        strong = identity.hash_password("Passw0rd!2026")
        assert strong.startswith("scrypt$")
        # each hash is checked at the cost it names, whatever the setting now
        assert identity.check_password("Passw0rd!2026", cheap) and identity.check_password("Passw0rd!2026", strong)
        assert not identity.check_password("Passw0rd?", cheap) and not identity.check_password("Passw0rd?", strong)
    salt = bytes(16)
    assert identity.hash_password("x", salt, 14) == identity.hash_password("x", salt, 14).replace("scrypt14$", "scrypt$")
    assert identity.hash_password("x", salt, 14) != identity.hash_password("x", salt, 4).replace("scrypt4$", "scrypt$")
    assert not identity.check_password("x", "bcrypt$00$00")


def test_given_the_code_then_no_error_detail_or_validator_carries_a_hand_written_text():
    """Details and validator errors are i18n keys rendered in the caller's language (errors.detail,
    errors.Problem): a literal text would reach one language's callers in the other."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2] / "chalicelib"
    found = []
    for path in root.rglob("*.py"):
        text = path.read_text()
        found += [f"{path.name}: {m}" for m in re.findall(r'"message":\s*f?"[^"]*"', text)]
        if path.name in ("schemas.py", "inputs.py", "passwords.py") or path.parent.name == "core":
            found += [f"{path.name}: {m}" for m in re.findall(r"raise ValueError\([^)]*\)", text)]
        found += [f"{path.name}: {m}" for m in re.findall(r'reason="[^"]*[\u4e00-\u9fff][^"]*"', text)]
    assert not found


def test_given_an_instant_at_the_edge_of_what_python_holds_when_checked_then_a_range_problem_not_an_overflow():
    from chalicelib.core import inputs
    from chalicelib.core.errors import Problem

    for text, key in (("0001-01-01T00:00:00+08:00", "field.date_min"), ("9999-12-31T23:59:59-08:00", "field.date_max"),
                      ("1899-12-31T23:59:59+00:00", "field.date_min")):
        with pytest.raises(Problem) as e:
            inputs.instant_text(text)
        assert e.value.key == key, text
    assert inputs.instant_text("2026-12-02T08:00:00+08:00") == "2026-12-02T00:00:00.000Z"


def test_given_html_when_read_as_text_then_scripts_go_blocks_break_lines_and_references_are_read_once():
    from chalicelib.core import htmltext

    html = "<head><title>t</title></head><p>价格 &amp;lt; 100</p><script>alert(1)</script><p>第二段<br>换行</p>"
    assert htmltext.html_to_text(html) == "价格 &lt; 100\n第二段\n换行"
    assert htmltext.one_line(html) == "价格 &lt; 100 第二段 换行"
    assert htmltext.one_line("<p>" + "长" * 200 + "</p>", limit=10) == "长" * 9 + "…"
