"""The one rule set for a person read from an ID card, typed into the portal or given in an Excel row.

852 enrolment, 人员库新增 and the roster import all build a person through `check_person_card`, so
the same input is refused for the same reason everywhere. Every reason fits the 30-byte UTF-8
reason field of the 852 reply (at most 10 Chinese characters), so a device shows it whole.
"""
from __future__ import annotations

from dataclasses import dataclass

from .contact import check_mobile
from .identity import check_id_number
from .nations import nation_code, normalize_nation
from .rules import RuleError

NAME_MAX = 30
ADDRESS_MAX = 100

# What a person document may take from a card or a form besides the ID number; ID-card fields keep
# the names 852 uses, so a later enrolment on a device refreshes the same fields.
PERSON_FIELDS = ("name", "sex", "nation", "birth_date", "address", "phone")

# Devices send the codes; people type the words.
_SEX_WORDS = {"男": "1", "1": "1", "女": "0", "0": "0"}

NAME_MISSING = "姓名必填"
NAME_TOO_LONG = f"姓名不能超过{NAME_MAX}个字"
SEX_INVALID = "性别须为男(1)或女(0)"
NATION_INVALID = "民族不在民族字典中"
ADDRESS_TOO_LONG = f"住址不能超过{ADDRESS_MAX}个字"

SEX_DIFFERS = "sex_differs_from_id"
BIRTH_DATE_DIFFERS = "birth_date_differs_from_id"


@dataclass(frozen=True)
class PersonCard:
    id_number: str
    fields: dict
    warnings: tuple[str, ...]


def check_person_card(raw: dict, *, require_name: bool = True) -> PersonCard:
    """Check what a card, a form or a row gives; raises RuleError naming the field.

    The ID number's check character and birth date are hard rules; an unknown area code is kept as
    a warning to review (domain.md). Sex and birth date follow from the number; a different value
    given is recorded as a warning, never silently taken.
    """
    check = check_id_number(str(raw.get("id_number") or ""))
    if not check.ok:
        raise RuleError("id_number", check.reason)
    warnings = list(check.warnings)
    fields: dict = {"birth_date": check.birth_date.strftime("%Y%m%d"), "sex": check.sex}
    name = " ".join(str(raw.get("name") or "").split())
    if not name:
        if require_name:
            raise RuleError("name", NAME_MISSING)
    elif len(name) > NAME_MAX:
        raise RuleError("name", NAME_TOO_LONG)
    else:
        fields["name"] = name
    sex = str(raw.get("sex") or "").strip()
    if sex:
        if sex not in _SEX_WORDS:
            raise RuleError("sex", SEX_INVALID)
        if _SEX_WORDS[sex] != check.sex:
            warnings.append(SEX_DIFFERS)
    birth = str(raw.get("birth_date") or "").strip().replace("-", "")
    if birth and birth != fields["birth_date"]:
        warnings.append(BIRTH_DATE_DIFFERS)
    nation = str(raw.get("nation") or "").strip()
    if nation:
        code = normalize_nation(nation) or nation_code(nation)
        if code is None:
            raise RuleError("nation", NATION_INVALID)
        fields["nation"] = code
    address = " ".join(str(raw.get("address") or "").split())
    if len(address) > ADDRESS_MAX:
        raise RuleError("address", ADDRESS_TOO_LONG)
    if address:
        fields["address"] = address
    phone = str(raw.get("phone") or "").strip()
    if phone:
        fields["phone"] = check_mobile(phone, "phone")
    return PersonCard(check.number, fields, tuple(warnings))
