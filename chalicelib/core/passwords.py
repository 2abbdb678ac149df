"""The password policy: one definition for the API's validation and the Cognito pools
(infra/ reads MIN_LENGTH), so a password the API accepts is one Cognito accepts."""
from __future__ import annotations

import re

from .errors import Problem

MIN_LENGTH = 12
MAX_LENGTH = 128
# Cognito's special characters, plus the space
SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- "


def check(password: str) -> str:
    """Raise Problem (field.password, listing what is missing) unless the password meets the policy."""
    problems = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append("password.length")
    if not re.search(r"[a-z]", password):
        problems.append("password.lower")
    if not re.search(r"[A-Z]", password):
        problems.append("password.upper")
    if not re.search(r"\d", password):
        problems.append("password.digit")
    if not any(c in SYMBOLS for c in password):
        problems.append("password.symbol")
    if problems:
        raise Problem("field.password", "format", needs=problems)
    return password
