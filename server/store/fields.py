"""Reading typed values out of a request's fields, refusing with a Chinese reason that names the field.

Store functions take the JSON body as a dict (pages, API and the demo seeder all go through them),
so the checks live here once instead of in each handler. Every reader raises RuleError(field, ...)
for a value of the wrong type or shape: a fuzzer's `{"name": 5}` is a 400, never a server error.
Dates are kept as site midnight (UTC+8) datetimes, as the roster and attendance stores expect.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from bson import ObjectId

from ..domain.identity import check_id_number
from ..domain.rules import RuleError
from ..domain.site_clock import parse_day, site_midnight, site_today
from ..domain.visible_text import check_visible  # noqa: F401 — the store's text helpers and callers use it

_PHONE = re.compile(r"^[0-9+\-() ]{5,30}$")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$")
_POSTCODE = re.compile(r"^[0-9]{6}$")


def text(body: dict, name: str, label: str, *, required: bool = False, max_length: int = 100) -> str | None:
    """Stripped text; None when absent (so PATCH can tell "not sent" from "cleared")."""
    if name not in body:
        if required:
            raise RuleError(name, f"{label}必填")
        return None
    value = body[name]
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RuleError(name, f"{label}须为文本")
    value = value.strip()
    if required and not value:
        raise RuleError(name, f"{label}必填")
    if len(value) > max_length:
        raise RuleError(name, f"{label}不能超过 {max_length} 个字符")
    check_visible(value, name, label)
    return value


# Line breaks are the one invisible character a field may need: free text typed into a textarea.
def matching(body: dict, name: str, label: str, pattern: re.Pattern, hint: str, **kw) -> str | None:
    value = text(body, name, label, **kw)
    if value and not pattern.match(value):
        raise RuleError(name, f"{label}格式错误，{hint}")
    return value


def phone(body: dict, name: str, label: str, **kw) -> str | None:
    return matching(body, name, label, _PHONE, "须为数字，可含 + - ( ) 空格", max_length=30, **kw)


def mobile(body: dict, name: str, label: str, **kw) -> str | None:
    return matching(body, name, label, _MOBILE, "须为 11 位手机号码", max_length=11, **kw)


def email(body: dict, name: str, label: str, **kw) -> str | None:
    return matching(body, name, label, _EMAIL, "如 name@example.com", max_length=254, **kw)


def postcode(body: dict, name: str, label: str, **kw) -> str | None:
    return matching(body, name, label, _POSTCODE, "须为 6 位数字", max_length=6, **kw)


def choice(body: dict, name: str, label: str, options: tuple[str, ...], **kw) -> str | None:
    value = text(body, name, label, **kw)
    if value and value not in options:
        raise RuleError(name, f"{label}须为 {'、'.join(options)} 之一")
    return value


def amount(body: dict, name: str, label: str, *, maximum: int = 10**9) -> float | None:
    """A non-negative amount with at most 4 decimals (万元 to the yuan); "" or null clears it."""
    if name not in body:
        return None
    value = body[name]
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RuleError(name, f"{label}须为数字")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise RuleError(name, f"{label}须为数字") from None
    if not number.is_finite() or number < 0 or number > maximum:
        raise RuleError(name, f"{label}须在 0 到 {maximum} 之间")
    if number != number.quantize(Decimal("0.0001")):
        raise RuleError(name, f"{label}最多保留 4 位小数")
    return float(number)


def day(body: dict, name: str, label: str, *, required: bool = False, not_after_today: bool = True) -> dt.datetime | None:
    """A YYYY-MM-DD date as site midnight; None when absent or empty and not required."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise RuleError(name, f"{label}必填")
        return None
    date = parse_day(value, name, label)
    if date.year < 1900:
        raise RuleError(name, f"{label}不能早于 1900 年")
    if not_after_today and date > site_today():
        raise RuleError(name, f"{label}不能晚于今天")
    return at_site_midnight(date)


def at_site_midnight(date: dt.date | None) -> dt.datetime:
    """A day as stored (site midnight); today when none is given."""
    return site_midnight(date or site_today())


def id_number(body: dict, name: str, label: str) -> tuple[str | None, tuple[str, ...]]:
    """A resident ID number checked by GB 11643 (check character, birth date); (number, warnings)."""
    value = text(body, name, label, max_length=40)
    if not value:
        return value, ()
    check = check_id_number(value)
    if not check.ok:
        raise RuleError(name, f"{label}无效：{check.reason}")
    return check.number, check.warnings


_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def object_id(value: object, name: str, label: str) -> ObjectId:
    """A record id sent as its 24-hex-digit string (or already an ObjectId, from internal callers)."""
    if isinstance(value, ObjectId):
        return value
    if value is None or value == "":
        raise RuleError(name, f"{label}必填")
    if not isinstance(value, str) or not _OBJECT_ID.match(value):
        raise RuleError(name, f"{label}无效")
    return ObjectId(value)


def parse_object_id(value: str) -> ObjectId | None:
    """An id from a URL; None when malformed (the caller answers 404, as for an unknown id)."""
    return ObjectId(value) if isinstance(value, str) and _OBJECT_ID.match(value) else None
