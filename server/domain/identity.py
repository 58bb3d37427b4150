"""Resident ID numbers (GB 11643) and unified social credit codes (GB 32100).

The arithmetic comes from python-stdnum; the decisions are the platform's. stdnum's
``cn.ric.validate`` refuses any number whose area code its table does not list for the birth
year, and that includes 港澳台居民居住证 numbers of people born before the code existed and every
area code that was retired or renamed. The domain rule is different: check character and birth
date refuse, the area code only warns (a worker must not be kept off a site by a stale table).

An area code is the place where the number was issued, and numbers are issued (or re-issued after a
move or a renamed district) long after birth: a 1990-born person of 蓬江区 (created 1994) holds a
valid 440703… number. So the warning is for a code that has not existed at any time since the birth
year (retired before it, or never listed), not for one created later.
"""
from __future__ import annotations

import datetime
import functools
import unicodedata
from dataclasses import dataclass

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from .site_clock import site_today

EARLIEST_BIRTH_YEAR = 1900

# 港澳台居民居住证 numbers: GB 11643 layout and check character, but a fixed area code that is
# not tied to a birth year (the permits exist only since 2018).
HMT_RESIDENCE_PERMIT_AREAS = frozenset({"810000", "820000", "830000"})

AREA_CODE_UNKNOWN = "area_code_unknown"

# Reasons go back to devices in a 30-byte UTF-8 field: at most 10 Chinese characters each.
_ID_REASONS = {
    "empty": "身份证号码为空",
    "length": "身份证号码长度错误",
    "format": "身份证号码格式错误",
    "checksum": "身份证校验位错误",
    "birth_date": "出生日期无效",
}
_USCC_REASONS = {
    "empty": "信用代码为空",
    "length": "信用代码长度错误",
    "format": "信用代码格式错误",
    "checksum": "信用代码校验位错误",
}


@dataclass(frozen=True)
class IdCheck:
    ok: bool
    number: str
    reason: str = ""
    code: str = ""
    warnings: tuple[str, ...] = ()
    birth_date: datetime.date | None = None
    sex: str | None = None


@dataclass(frozen=True)
class CreditCodeCheck:
    ok: bool
    code: str
    reason: str = ""
    error: str = ""


def _normalise(value: object) -> str:
    if value is None:
        return ""
    # NFKC folds full-width digits and 'ｘ' typed through a Chinese IME into ASCII.
    text = unicodedata.normalize("NFKC", str(value))
    return "".join(text.split()).upper()


def area_code_in_use(area: str, year: int) -> bool:
    """Whether stdnum's GB/T 2260 table lists this area code as in use in that year."""
    if area in HMT_RESIDENCE_PERMIT_AREAS:
        return True
    try:
        ric.get_birth_place(f"{area}{year:04d}01010000")
    # stdnum raises KeyError when only the province part of the code is in its table.
    except (ValidationError, KeyError, ValueError):
        return False
    return True


# python-stdnum finds a code by a linear search of its table (~30 % of the stand-in's time, and of a roster
# import's checks); China has a few thousand codes.
@functools.lru_cache(maxsize=8192)
def _area_periods(area: str) -> tuple[tuple[int | None, int | None], ...] | None:
    """(first year, last year) of each listing of the code in stdnum's cn/loc table, None for an
    open end; None when the table lists no county under the code. The table writes a county as
    "[1994-]蓬江区" or "[-2010]宣武区", several comma-separated when the code was reused, or a bare name
    when it has always been in use."""
    info = {k: v for _, props in numdb.get("cn/loc").info(area) for k, v in props.items()}
    if "county" not in info:
        return None
    periods: list[tuple[int | None, int | None]] = []
    for county in info["county"].split(","):
        if not county.startswith("["):
            periods.append((None, None))
            continue
        start, end = county[1:].split("]")[0].split("-")
        periods.append((int(start) if start else None, int(end) if end else None))
    return tuple(periods)


def area_code_existed_since(area: str, year: int) -> bool:
    """Whether the code has been in use at any time from that (birth) year on: the rule for
    flagging an ID number's area code (see the module's docstring)."""
    if area in HMT_RESIDENCE_PERMIT_AREAS:
        return True
    periods = _area_periods(area)
    return bool(periods) and any(end is None or end >= year for _, end in periods)


def check_id_number(value: str, *, today: datetime.date | None = None) -> IdCheck:
    """Check a resident ID (or 港澳台居民居住证) number; never raises."""
    number = _normalise(value)

    def refuse(code: str) -> IdCheck:
        # "empty" is a length failure for machines; only the wording differs for people.
        return IdCheck(False, number, _ID_REASONS[code], "length" if code == "empty" else code)

    if not number:
        return refuse("empty")
    if len(number) != 18:
        return refuse("length")
    if not (number[:17].isascii() and number[:17].isdigit()) or number[17] not in "0123456789X":
        return refuse("format")
    if ric.calc_check_digit(number) != number[17]:
        return refuse("checksum")
    try:
        birth = ric.get_birth_date(number)
    except ValidationError:
        return refuse("birth_date")
    if birth.year < EARLIEST_BIRTH_YEAR or birth > (today or site_today()):
        return refuse("birth_date")
    warnings = () if area_code_existed_since(number[:6], birth.year) else (AREA_CODE_UNKNOWN,)
    sex = "1" if int(number[16]) % 2 else "0"
    return IdCheck(True, number, warnings=warnings, birth_date=birth, sex=sex)


def current_warnings(number: str, stored: list[str]) -> list[str]:
    """A person's stored id_warnings as the rule reads today: an area warning stored under the
    earlier rule (code unknown for the birth year itself) is dropped when the code has existed since."""
    if AREA_CODE_UNKNOWN not in stored or AREA_CODE_UNKNOWN in check_id_number(number).warnings:
        return list(stored)
    return [w for w in stored if w != AREA_CODE_UNKNOWN]


def mask_id_number(value: str) -> str:
    """First 3 and last 4 characters kept, the rest '*', length preserved."""
    text = "" if value is None else str(value).strip()
    n = len(text)
    if n >= 11:
        head, tail = 3, 4
    else:
        # Short values are probably fragments of a number: reveal proportionally less.
        head = tail = n // 4
    return text[:head] + "*" * (n - head - tail) + text[n - tail:]


# GB 32100 allows letters in the first two places (e.g. N 农业, Y 其他 registering authorities);
# stdnum.cn.uscc accepts digits only there, so the format is checked here and only the check
# character arithmetic is stdnum's.
_USCC_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")


def check_credit_code(value: str) -> CreditCodeCheck:
    """Check a 统一社会信用代码 including its check character; never raises."""
    code = _normalise(value).replace("-", "")

    def refuse(error: str) -> CreditCodeCheck:
        return CreditCodeCheck(False, code, _USCC_REASONS[error], "length" if error == "empty" else error)

    if not code:
        return refuse("empty")
    if len(code) != 18:
        return refuse("length")
    if any(c not in _USCC_ALPHABET for c in code) or not code[2:8].isdigit():
        return refuse("format")
    if uscc.calc_check_digit(code) != code[17]:
        return refuse("checksum")
    return CreditCodeCheck(True, code)
