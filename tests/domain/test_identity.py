"""ID numbers and credit codes: hard rules refuse with a short Chinese reason, the area code only warns."""
from __future__ import annotations

import datetime
import random

import pytest
from hypothesis import given, settings, strategies as st
from stdnum.cn import ric, uscc

from server import synthetic
from server.domain.identity import (
    AREA_CODE_UNKNOWN, CreditCodeCheck, IdCheck, area_code_existed_since, area_code_in_use, check_credit_code,
    check_id_number, current_warnings, mask_id_number,
)

seeds = st.integers(min_value=0, max_value=2**32 - 1)
areas = st.sampled_from(sorted(synthetic.JIANGMEN_AREA_CODES) + sorted(synthetic.MIGRANT_AREA_CODES) + [None])


def with_check(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def test_known_good_number():
    check = check_id_number("360426199101010071")
    assert check == IdCheck(True, "360426199101010071", birth_date=datetime.date(1991, 1, 1), sex="1")


def test_normalises_lower_case_x_full_width_and_spaces():
    number = next(n for n in (with_check(f"440703198501010{i:02d}") for i in range(100)) if n.endswith("X"))
    messy = "  " + number[:6] + " " + number[6:-1].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "x\n"
    check = check_id_number(messy)
    assert check.ok and check.number == number


@pytest.mark.parametrize("value, code, reason", [
    ("", "length", "身份证号码为空"),
    ("   ", "length", "身份证号码为空"),
    ("44070319850101", "length", "身份证号码长度错误"),
    ("4407031985010100211", "length", "身份证号码长度错误"),
    ("44070319850101A021", "format", "身份证号码格式错误"),
    ("44070319850101002Y", "format", "身份证号码格式错误"),
])
def test_refusals(value, code, reason):
    check = check_id_number(value)
    assert (check.ok, check.code, check.reason) == (False, code, reason)
    assert check.birth_date is None and check.sex is None


def test_none_is_refused_not_raised():
    assert check_id_number(None).code == "length"  # type: ignore[arg-type]


def test_reasons_fit_the_device_field():
    failing = ["", "1", "44070319850101A021", with_check("44070319850230002"),
               with_check("44070319850101002")[:-1] + "Z"]
    for value in failing:
        assert len(check_id_number(value).reason.encode("utf-8")) <= 30
    for value in ["", "1", "91440106056569255N"[:-1] + "I", "91440106056569255M"]:
        assert len(check_credit_code(value).reason.encode("utf-8")) <= 30


@given(seeds, areas)
def test_every_generated_number_passes(seed, area):
    number = synthetic.id_number(random.Random(seed), area=area)
    check = check_id_number(number)
    assert check.ok, check
    assert check.number == number
    assert check.birth_date == datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert check.sex == str(int(number[16]) % 2)


@given(seeds, st.integers(0, 17), st.integers(1, 10))
def test_any_single_character_change_fails(seed, position, shift):
    number = synthetic.id_number(random.Random(seed), area=None)
    alphabet = "0123456789X" if position == 17 else "0123456789"
    old = alphabet.index(number[position])
    changed = number[:position] + alphabet[(old + shift) % len(alphabet)] + number[position + 1:]
    if changed == number:
        return
    check = check_id_number(changed)
    assert not check.ok
    assert check.code in ("checksum", "birth_date")


@given(st.dates(datetime.date(1900, 1, 1), datetime.date(2020, 12, 31)), st.integers(0, 999))
def test_unknown_area_code_only_warns(born, order):
    number = with_check(f"990101{born:%Y%m%d}{order:03d}")
    check = check_id_number(number, today=datetime.date(2024, 1, 1))
    assert check.ok and check.warnings == (AREA_CODE_UNKNOWN,)


def test_stdnum_itself_refuses_what_we_accept():
    # The reason identity.py does not call ric.validate: a stale table would keep workers off site.
    number = with_check("44070319800101001")  # 蓬江区 was created in 1994
    assert not ric.is_valid(number)
    check = check_id_number(number)
    # Issued after 1994 to someone born in 1980: a valid number, no area warning (issue 10).
    assert check.ok and check.warnings == ()


def test_pengjiang_number_of_a_person_born_in_1990_is_not_flagged():
    check = check_id_number(with_check("44070319900315002"))
    assert check.ok and check.warnings == ()


@pytest.mark.parametrize("area, year, existed", [
    ("440703", 1993, True),    # 蓬江区 [1994-]: created the year after birth
    ("440703", 1994, True),    # created in the birth year
    ("440703", 2020, True),
    ("440702", 1994, True),    # 江门城区 [1984-1994]: retired in the birth year, so in use that year
    ("440702", 1995, False),   # retired the year before birth
    ("440702", 1980, True),    # born before the code was created, issued while it existed
    ("110104", 2010, True),    # 宣武区 [-2010]
    ("110104", 2011, False),
    ("110101", 1950, True),    # 东城区: a bare name, always in use
    ("810000", 1950, True), ("820000", 1930, True), ("830000", 2018, True),  # residence permits
    ("990101", 1950, False),   # never listed
    ("449999", 1990, False),   # only the province part is listed
])
def test_area_code_existed_since_birth(area, year, existed):
    assert area_code_existed_since(area, year) is existed


def test_code_retired_before_birth_is_flagged():
    check = check_id_number(with_check("44070219960101001"), today=datetime.date(2024, 1, 1))
    assert check.ok and check.warnings == (AREA_CODE_UNKNOWN,)


def test_province_only_area_code_warns_instead_of_crashing():
    # stdnum's get_birth_place raises KeyError here rather than a ValidationError.
    check = check_id_number(with_check("44999919800101001"))
    assert check.ok and check.warnings == (AREA_CODE_UNKNOWN,)


def test_area_code_in_use():
    assert area_code_in_use("440703", 2000)
    assert not area_code_in_use("440703", 1990)
    assert area_code_in_use("440702", 1990)
    assert area_code_in_use("810000", 1950)
    assert not area_code_in_use("990101", 2000)


@given(st.sampled_from(["810000", "820000", "830000"]),
       st.dates(datetime.date(1930, 1, 1), datetime.date(2018, 12, 31)), st.integers(0, 999))
def test_hong_kong_macao_taiwan_residence_permits_pass(area, born, order):
    number = with_check(f"{area}{born:%Y%m%d}{order:03d}")
    check = check_id_number(number)
    assert check.ok and check.warnings == ()


def test_hmt_permit_with_wrong_check_character_fails():
    number = with_check("81000019900101001")
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert check_id_number(wrong).code == "checksum"


def test_future_birth_date_fails():
    today = datetime.date(2024, 6, 1)
    assert check_id_number(with_check("44070320240601001"), today=today).ok
    check = check_id_number(with_check("44070320240602001"), today=today)
    assert (check.ok, check.code, check.reason) == (False, "birth_date", "出生日期无效")


def test_default_today_refuses_next_year():
    next_year = datetime.date.today().year + 1
    assert check_id_number(with_check(f"440703{next_year}0101001")).code == "birth_date"


@pytest.mark.parametrize("date", ["18991231", "19850230", "19851301", "19850000", "00000000"])
def test_impossible_or_too_old_birth_date_fails(date):
    check = check_id_number(with_check(f"440703{date}001"))
    assert (check.ok, check.code) == (False, "birth_date")


def test_1900_is_accepted():
    assert check_id_number(with_check("44070319000101001")).ok


@given(st.text(max_size=40))
def test_never_raises(value):
    check = check_id_number(value)
    assert isinstance(check, IdCheck)
    assert check.ok or check.code in ("length", "format", "checksum", "birth_date")


# --- masking -----------------------------------------------------------------------------------

def test_mask_example():
    assert mask_id_number("44070319850101002X") == "440***********002X"


@pytest.mark.parametrize("value, masked", [("", ""), ("1", "*"), ("1234", "1**4"), ("12345678", "12****78")])
def test_mask_short_values(value, masked):
    assert mask_id_number(value) == masked


def test_mask_none_is_empty():
    assert mask_id_number(None) == ""  # type: ignore[arg-type]


@given(st.text(max_size=40))
def test_mask_reveals_at_most_seven_characters(value):
    masked = mask_id_number(value)
    assert len(masked) == len(value.strip())
    assert all(m in ("*", c) for c, m in zip(value.strip(), masked))
    assert sum(1 for m in masked if m != "*") <= 7


# --- credit codes ------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["91440106056569255N", "91510105MA6CCH6P3Q", "91110000600037341L"])
def test_real_credit_codes_pass(code):
    assert check_credit_code(code) == CreditCodeCheck(True, code)


def test_credit_code_normalised():
    assert check_credit_code(" 91510105ma6cch6p3q ").code == "91510105MA6CCH6P3Q"


def test_letters_allowed_where_gb32100_allows_them():
    # stdnum insists on digits in places 1–2; GB 32100 has registering authorities A, N and Y.
    head = "N2440703MA0000001"
    code = head + uscc.calc_check_digit(head)
    assert not uscc.is_valid(code)
    assert check_credit_code(code).ok


@pytest.mark.parametrize("value, error", [
    ("", "length"),
    ("9144010605656925", "length"),
    ("91440106056569255I", "format"),   # I is not in the alphabet
    ("91A40106056569255N", "format"),   # region code must be digits
    ("91440106056569255M", "checksum"),
])
def test_credit_code_refusals(value, error):
    check = check_credit_code(value)
    assert not check.ok and check.error == error and check.reason


@given(seeds, st.sampled_from(sorted(synthetic.JIANGMEN_AREA_CODES) + ["510105", "110108"]))
def test_every_generated_credit_code_passes(seed, region):
    code = synthetic.credit_code(random.Random(seed), region=region)
    assert code[2:8] == region
    assert check_credit_code(code).ok


@given(seeds, st.integers(0, 17), st.integers(1, 30))
def test_any_single_credit_code_change_fails(seed, position, shift):
    code = synthetic.credit_code(random.Random(seed))
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    changed = code[:position] + alphabet[(alphabet.index(code[position]) + shift) % 31] + code[position + 1:]
    check = check_credit_code(changed)
    assert not check.ok and check.error in ("checksum", "format")


@given(st.text(max_size=40))
@settings(max_examples=50)
def test_credit_code_never_raises(value):
    assert isinstance(check_credit_code(value), CreditCodeCheck)


def test_area_warnings_stored_under_the_earlier_rule_are_read_with_todays():
    pengjiang_1990 = with_check("44070319900315002")
    assert current_warnings(pengjiang_1990, ["area_code_unknown", "sex_differs_from_id"]) == ["sex_differs_from_id"]
    retired = with_check("44070219960101001")
    assert current_warnings(retired, ["area_code_unknown"]) == ["area_code_unknown"]
    assert current_warnings(pengjiang_1990, []) == []
