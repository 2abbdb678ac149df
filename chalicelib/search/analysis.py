"""Text analysis shared by both engines, so that they find the same things.

- Text fields: NFKC (full-width -> half-width), lower case, then words of letters/digits
  for Latin scripts and CJK bigrams for Chinese/Japanese/Korean runs. At index time the
  single CJK characters are kept too (unigrams), so a 1-character query still finds; at
  query time a run of 2+ characters yields only its bigrams (华为技术 -> 华为 为技 技术), so
  a 2-character query such as 华为, 合同 or 王芳 matches exactly those records that contain
  it. OpenSearch does the same with standard tokenizer + cjk_width + lowercase +
  cjk_bigram (output_unigrams at index time only).
- Prefix fields (mobile, phone, email): lower case, everything but letters, digits and CJK
  removed, the whole value is one term; it matches any prefix of 2+ characters (edge
  n-grams in OpenSearch, a prefix query on the term in the embedded engine).
"""
from __future__ import annotations

import re
import unicodedata

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")
_NOT_PREFIX_CHAR = re.compile(rf"[^0-9a-z{_CJK}]+")
MAX_PREFIX = 30


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _words(text: str) -> list[str]:
    return _TOKEN.findall(normalize(text))


def index_tokens(text: str) -> list[str]:
    """Terms stored for a text value (bigrams + unigrams for CJK, words otherwise)."""
    out: list[str] = []
    for w in _words(text):
        if _IS_CJK.match(w):
            out.extend(w)
            out.extend(w[i:i + 2] for i in range(len(w) - 1))
        else:
            out.append(w)
    return out


def query_tokens(text: str) -> list[str]:
    """Terms a query must all match (bigrams for CJK runs, a lone CJK char as itself)."""
    out: list[str] = []
    for w in _words(text):
        if _IS_CJK.match(w) and len(w) > 1:
            out.extend(w[i:i + 2] for i in range(len(w) - 1))
        else:
            out.append(w)
    return list(dict.fromkeys(out))


def prefix_term(value: str) -> str:
    """The single term of a prefix field: 138-0000-1234 -> 13800001234, Wang.Fang@x.com -> wangfangxcom."""
    return _NOT_PREFIX_CHAR.sub("", normalize(value))[:MAX_PREFIX]
