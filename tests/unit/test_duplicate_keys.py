"""Duplicate keys (查重) of Chinese business data: what counts as the same company, person,
phone number and e-mail address (chalicelib/duplicates/normalize.py)."""
from __future__ import annotations

import pytest

from chalicelib.duplicates import normalize as n


@pytest.mark.parametrize("names", [
    ("华为技术有限公司", "华为技术", "华为 技术 有限公司", "华为技术（有限公司）",
     "华为技术有限责任公司", "华为技术股份有限公司", "华为技术公司", "  华为技术有限公司  ", "华为技术Co.,Ltd"),
    ("ＨＵＡＷＥＩ", "Huawei", "HUAWEI", "huawei", "Huawei Inc.", "HUAWEI LIMITED", "Huawei Corp.", "Huawei Corporation",
     "Huawei LLC", "Huawei Co.", "huawei, inc"),
    ("Huawei Technologies Co., Ltd.", "HUAWEI TECHNOLOGIES CO.,LTD", "Huawei Technologies Co.,Ltd", "huawei technologies",
     "Huawei Technologies Co. Ltd", "Ｈｕａｗｅｉ　Ｔｅｃｈｎｏｌｏｇｉｅｓ　Ｃｏ．，Ｌｔｄ．", "Huawei-Technologies Company Limited",
     "HUAWEI TECHNOLOGIES CO LTD", "Huawei Technologies CO.,LTD."),
    ("中国平安保险（集团）股份有限公司", "中国平安保险(集团)股份有限公司", "中国平安保险集团", "中国平安保险"),
    ("阿里巴巴集团控股有限公司", "阿里巴巴集团控股"),
    ("上海ACME贸易有限公司", "上海 ＡＣＭＥ 贸易", "上海acme贸易公司"),
    ("深圳市腾讯计算机系统有限公司", "深圳市腾讯计算机系统"),
    ("北京字节跳动科技有限公司", "北京字节跳动科技 有限公司", "北京 字节跳动 科技"),
    ("Globex Corporation", "GLOBEX CORP", "Globex"),
])
def test_given_spellings_of_one_company_then_they_share_one_key(names):
    keys = {n.company(x) for x in names}
    assert len(keys) == 1, keys
    assert None not in keys


@pytest.mark.parametrize("a,b", [
    ("华为技术有限公司", "华为终端有限公司"),
    ("华为技术有限公司", "Huawei Technologies Co., Ltd."),  # scripts differ: no dictionary can tell
    ("Costco Wholesale", "Cost Wholesale"),  # a suffix counts only as a whole word
    ("Cisco Systems", "Cis Systems"),
    ("华为技术有限公司北京分公司", "华为技术有限公司"),  # a branch is a company of its own
    ("ACME Group", "ACME Groups"),
    ("深圳华强电子有限公司", "深圳华强电子科技有限公司"),
])
def test_given_different_companies_then_their_keys_differ(a, b):
    assert n.company(a) != n.company(b)


def test_given_a_name_that_is_only_a_legal_form_then_its_key_is_the_form_itself_and_blank_has_none():
    assert n.company("有限公司") == "有限公司"  # never stripped to nothing
    assert n.company("Ltd.") == "ltd"
    assert n.company("   ") is None and n.company("（）") is None
    assert n.company("Co., Ltd.") == "co"


@pytest.mark.parametrize("names", [
    ("王芳", "王 芳", "  王芳 ", "王　芳"),
    ("阿依古丽·买买提", "阿依古丽・买买提", "阿依古丽 买买提", "阿依古丽买买提"),
    ("Wang Fang", "wang fang", "WANG FANG", "Ｗａｎｇ　Ｆａｎｇ", "WangFang"),
    ("John A. Smith", "john a smith"),
])
def test_given_spellings_of_one_person_then_one_key(names):
    assert len({n.person(x) for x in names}) == 1


def test_given_different_people_then_different_keys():
    assert n.person("王芳") != n.person("王方")
    assert n.person("王芳") != n.person("王芳芳")
    assert n.person(" ") is None


@pytest.mark.parametrize("numbers,expected", [
    (("13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "+8613800138000", "0086 13800138000",
      "008613800138000", "8613800138000", "86 138 0013 8000", "(+86) 138-0013-8000", "１３８００１３８０００", "+86-138-0013-8000"),
     "13800138000"),
    (("010-88886666", "(010) 8888 6666", "010 88886666", "01088886666", "+86 10 8888 6666", "+86-10-88886666", "0086 10 88886666",
      "010-88886666-123", "010-88886666 转 123", "010-88886666转8001", "(010)88886666 ext. 12", "010-8888-6666 x 9",
      "010 8888 6666 #22", "01088886666-123", "０１０－８８８８６６６６"),
     "01088886666"),
    (("0755-8888 6666", "(0755)8888-6666 分机 123", "0755 88886666", "+86 755 8888 6666"), "075588886666"),
    (("021-6688 1234", "021 66881234"), "02166881234"),
    (("400-820-8820", "400 820 8820", "4008208820"), "4008208820"),
    (("95555",), "95555"),
])
def test_given_ways_to_write_one_number_then_one_key(numbers, expected):
    assert {n.phone(x) for x in numbers} == {expected}


def test_given_numbers_that_differ_then_keys_differ_and_junk_has_no_key():
    assert n.phone("13800138000") != n.phone("13800138001")
    assert n.phone("010-88886666") != n.phone("021-88886666")  # the area code is kept
    assert n.phone("88886666") != n.phone("010-88886666")  # a number without its area code cannot be completed
    assert n.phone("123") is None and n.phone("无") is None and n.phone("") is None


@pytest.mark.parametrize("mails", [
    ("Wang.Fang@Acme.com", " wang.fang@acme.com ", "WANG.FANG@ACME.COM", "wang.fang＠acme.com", "mailto:wang.fang@acme.com"),
])
def test_given_spellings_of_one_mail_address_then_one_key(mails):
    assert {n.email(x) for x in mails} == {"wang.fang@acme.com"}


def test_given_a_declaration_then_keys_per_kind_merge_mobile_and_phone_fields():
    declaration = {"name": "company", "mobile": "phone", "phone": "phone", "email": "email", "contact": "person"}
    values = {"name": "华为技术有限公司", "mobile": "+86 138 0013 8000", "phone": "010-88886666 转 8", "email": "A@B.cn",
              "contact": "王 芳", "remark": "ignored"}
    assert n.keys(declaration, values) == {"company": {"华为技术"}, "phone": {"13800138000", "01088886666"},
                                           "email": {"a@b.cn"}, "person": {"王芳"}}
    assert n.field_keys(declaration, {"mobile": "13800138000", "phone": "+8613800138000", "name": ""}) == {
        "mobile": {"13800138000"}, "phone": {"13800138000"}}
    assert n.index_values(declaration, values)["dup_phone"] == ["01088886666", "13800138000"]
    assert n.index_values(declaration, {"name": None, "phone": "12"}) == {}
