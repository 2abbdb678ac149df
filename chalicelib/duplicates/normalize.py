"""Duplicate keys (查重): what two values must share to count as the same company, person,
phone number or e-mail address. Pure functions, no I/O.

- company: NFKC (full-width -> half-width), lower case, every character that is not a
  letter or digit removed, then legal-form suffixes removed from the end, repeatedly:
  有限公司, 有限责任公司, 股份有限公司, 股份公司, 集团(有限公司), 公司 and Co., Ltd., Co.,Ltd,
  Ltd, Limited, Inc., Corp., Corporation, Company, LLC, PLC, GmbH, Group — Latin ones only
  as whole words (Costco keeps its "co"), or directly after Chinese characters (华为Co.,Ltd).
  华为技术有限公司 = 华为技术 = 华为 技术（有限公司）; ＨＵＡＷＥＩ = Huawei;
  "Huawei Technologies Co., Ltd." = "HUAWEI TECHNOLOGIES CO.,LTD" = "huawei technologies".
  A Chinese name and its English name are different keys (no dictionary could tell).
- person: NFKC, lower case, spaces and name dots (·・•) removed: 王 芳 = 王芳, 阿依古丽·买买提
  = 阿依古丽买买提.
- phone (mobiles and landlines alike, so a lead's mobile meets a customer's phone): digits
  only; +86 / 0086 / 86 before a mobile removed (+86 before a landline becomes its trunk 0);
  the area code of a landline kept; an extension (转 / 分机 / ext / x / # / a group after a
  complete landline) dropped. Fewer than 5 digits is no key.
- email: trimmed, lower case (NFKC first, so a full-width ＠ is an @).

`keys(declaration, values)` turns a record's values into its keys per kind, from the
record type's declaration (EntityDef.duplicates: field -> kind).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

KINDS = ("company", "person", "phone", "email")
INDEX_PREFIX = "dup_"  # index field of a kind: dup_company, dup_person, dup_phone, dup_email

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_NOT_WORD = re.compile(r"[^\w]|_", re.UNICODE)
# longest first: 股份有限公司 before 有限公司 before 公司
_ZH_SUFFIXES = ("股份有限公司", "有限责任公司", "集团有限公司", "集团公司", "有限公司", "股份公司", "集团", "公司")
_EN_SUFFIXES = frozenset({"co", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "company", "llc", "plc",
                          "gmbh", "group"})
_EN_AFTER_CJK = re.compile(rf"(?<=[{_CJK}])(?:{'|'.join(sorted(_EN_SUFFIXES, key=len, reverse=True))})$")
_PERSON_DROP = re.compile(r"[\s·・•‧.]+")
_EXTENSION = re.compile(r"(?:转|分机|ext\.?|extension|x|#|,|;).*$", re.IGNORECASE)
_MOBILE = re.compile(r"1[3-9]\d{9}")
_COUNTRY = re.compile(r"^\s*(?:\(\s*\+?86\s*\)|\+\s*86|0086)[\s-]*")


def _nfkc(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).lower()


def company(value: Any) -> str | None:
    """华为技术有限公司 -> 华为技术; "Huawei Technologies Co., Ltd." -> huaweitechnologies."""
    words = _NOT_WORD.sub(" ", _nfkc(value)).split()
    while len(words) > 1 and words[-1] in _EN_SUFFIXES:
        words.pop()
    key = "".join(words)
    changed = True
    while changed:
        changed = False
        for suffix in _ZH_SUFFIXES:
            if key.endswith(suffix):
                if len(key) > len(suffix):  # a name that is only a legal form keeps it
                    key, changed = key[:-len(suffix)], True
                break
        else:
            m = _EN_AFTER_CJK.search(key)
            if m:
                key, changed = key[:m.start()], True
    return key or None


def person(value: Any) -> str | None:
    """王 芳 -> 王芳; Ｗang Fang -> wangfang."""
    return _PERSON_DROP.sub("", _nfkc(value)) or None


def phone(value: Any) -> str | None:
    """+86 138-0013-8000 -> 13800138000; (0755) 8888-6666 转 123 -> 075588886666."""
    s = unicodedata.normalize("NFKC", str(value))
    s = _EXTENSION.sub("", s)
    international = bool(_COUNTRY.match(s))
    s = _COUNTRY.sub("", s)
    groups = re.findall(r"\d+", s)
    if not groups:
        return None
    digits = "".join(groups)
    if not international and len(digits) == 13 and digits.startswith("86") and _MOBILE.fullmatch(digits[2:]):
        digits = digits[2:]  # 8613800138000
    if _MOBILE.fullmatch(digits):
        return digits
    if international and not digits.startswith("0"):
        groups[0] = "0" + groups[0]  # +86 10 8888 6666: the area code gets its trunk 0 back
        digits = "0" + digits
    if digits.startswith("0"):
        digits = _landline(groups)
    return digits if len(digits) >= 5 else None


def _landline(groups: list[str]) -> str:
    """Area code + local number (7–8 digits); a group after that is an extension."""
    first = groups[0]
    if 10 <= len(first) <= 12:  # 01088886666-123: a complete number, then an extension
        return first
    if 3 <= len(first) <= 4:
        local = ""
        for g in groups[1:]:
            if len(local) >= 7:
                break  # 010-88886666-123
            local += g
        if 7 <= len(local) <= 8:
            return first + local
    return "".join(groups)


def email(value: Any) -> str | None:
    s = _nfkc(value).strip()
    if s.startswith("mailto:"):
        s = s[7:]
    return s or None


NORMALISERS = {"company": company, "person": person, "phone": phone, "email": email}


def key(kind: str, value: Any) -> str | None:
    """The key of one value (None: too little to compare)."""
    if value is None or isinstance(value, (dict, bool)):
        return None
    return NORMALISERS[kind](value)


def _each(value: Any) -> Iterable[Any]:
    return value if isinstance(value, (list, tuple, set)) else (value,)


def field_keys(declaration: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, set[str]]:
    """field -> the keys of its value(s), for the declared fields that have a value."""
    out: dict[str, set[str]] = {}
    for field, kind in declaration.items():
        found = {k for v in _each(values.get(field)) if v not in (None, "") and (k := key(kind, v))}
        if found:
            out[field] = found
    return out


def keys(declaration: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, set[str]]:
    """kind -> keys of a record's values (mobile and phone fields both give phone keys)."""
    out: dict[str, set[str]] = {}
    for field, found in field_keys(declaration, values).items():
        out.setdefault(declaration[field], set()).update(found)
    return out


def index_field(kind: str) -> str:
    return INDEX_PREFIX + kind


def index_values(declaration: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, list[str]]:
    """What a search document holds: dup_<kind> -> sorted keys (multi-valued keyword fields)."""
    return {index_field(kind): sorted(found) for kind, found in keys(declaration, values).items()}
