"""Contact details people type into public forms: mainland mobile numbers and e-mail addresses.

Checks are strict enough to catch typing slips (the e-mail receives the review result, the guide
says "请正确填写") without pretending to prove an address exists. Masks keep enough to recognise
a number or address on a list while hiding the rest.
"""
from __future__ import annotations

import re

from .rules import RuleError

# Mainland mobile numbers: 11 digits, 1 then 3–9 (13x–19x), optionally typed with +86 / 86.
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
# One @, a local part of common characters, a domain with at least one dot and a letter TLD.
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}$")


def check_mobile(value: object, field: str) -> str:
    text = re.sub(r"[\s-]", "", value if isinstance(value, str) else "")
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not _MOBILE.match(text):
        raise RuleError(field, "手机号须为 11 位中国大陆手机号码（以 13–19 开头）")
    return text


def check_email(value: object, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > 254 or not _EMAIL.match(text) or ".." in text:
        raise RuleError(field, "邮箱格式不正确，请填写可以接收审核结果的邮箱，如 name@example.com")
    return text


def mask_mobile(mobile: str) -> str:
    return mobile[:3] + "****" + mobile[-4:] if len(mobile) == 11 else "*" * len(mobile)


def mask_address(address: str) -> str:
    # Keep the district so a supervisor can still see where someone is from.
    return address[:6] + "*" * max(0, len(address) - 6) if address else ""


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return (local[:1] + "***@" + domain) if domain else "***"
