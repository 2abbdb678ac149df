"""The password policy: one definition for the API's validation and the Cognito pools
(infra/ reads MIN_LENGTH), so a password the API accepts is one Cognito accepts."""
from __future__ import annotations

import re

MIN_LENGTH = 8
MAX_LENGTH = 128
# Cognito's special characters, plus the space
SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- "


def check(password: str) -> str:
    """Raise ValueError (bilingual) unless the password meets the policy."""
    problems = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(f"{MIN_LENGTH}-{MAX_LENGTH} 个字符 / characters")
    if not re.search(r"[a-z]", password):
        problems.append("小写字母 / a lower-case letter")
    if not re.search(r"[A-Z]", password):
        problems.append("大写字母 / an upper-case letter")
    if not re.search(r"\d", password):
        problems.append("数字 / a digit")
    if not any(c in SYMBOLS for c in password):
        problems.append("符号 / a symbol")
    if problems:
        raise ValueError("密码需要包含 / the password needs: " + "; ".join(problems))
    return password
