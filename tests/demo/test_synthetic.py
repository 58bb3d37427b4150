"""Synthetic data is valid, plausible and reproducible from a seed."""
from __future__ import annotations

import datetime
import io
import random
import re

import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

from server import synthetic
from server.domain.identity import check_credit_code, check_id_number
from server.domain.jobs import COUNTIES, UNIT_TYPES

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@given(seeds, st.sampled_from(sorted(synthetic.JIANGMEN_AREA_CODES)), st.sampled_from(["0", "1", None]))
def test_id_number_fields(seed, area, sex):
    number = synthetic.id_number(random.Random(seed), area=area, birth_year_range=(1970, 1980), sex=sex)
    check = check_id_number(number)
    assert check.ok
    assert number.startswith(area)
    assert 1970 <= check.birth_date.year <= 1980
    if sex is not None:
        assert check.sex == sex


def test_id_number_default_area_and_range():
    rng = random.Random(3)
    numbers = [synthetic.id_number(rng) for _ in range(300)]
    assert all(n.startswith("440703") for n in numbers)
    assert all(1960 <= int(n[6:10]) <= 2004 for n in numbers)
    assert {n[16] for n in numbers} == set("0123456789")


def test_random_areas_mix_locals_and_migrants_and_mostly_without_warnings():
    rng = random.Random(4)
    checks = [check_id_number(synthetic.id_number(rng, area=None)) for _ in range(500)]
    areas = {c.number[:6] for c in checks}
    assert areas & set(synthetic.JIANGMEN_AREA_CODES) and areas & set(synthetic.MIGRANT_AREA_CODES)
    assert sum(bool(c.warnings) for c in checks) < 0.4 * len(checks)


def test_birth_date_never_in_the_future():
    rng = random.Random(5)
    this_year = datetime.date.today().year
    for _ in range(200):
        assert check_id_number(synthetic.id_number(rng, birth_year_range=(this_year, this_year))).ok


def test_same_seed_same_data():
    def sample(seed):
        rng = random.Random(seed)
        return (synthetic.id_number(rng, area=None), synthetic.chinese_name(rng), synthetic.credit_code(rng),
                synthetic.enterprise_name(rng, "新会区"), synthetic.phone(rng), synthetic.address(rng, "开平市"),
                synthetic.jpeg_photo(rng, target_bytes=6000))
    assert sample(11) == sample(11)
    assert sample(11) != sample(12)


@given(seeds)
def test_chinese_name(seed):
    name = synthetic.chinese_name(random.Random(seed))
    assert 2 <= len(name) <= 3
    assert all("\u4e00" <= c <= "\u9fff" for c in name)


@given(seeds, st.sampled_from(sorted(synthetic.JIANGMEN_AREA_CODES)))
def test_credit_code_valid(seed, region):
    code = synthetic.credit_code(random.Random(seed), region=region)
    assert check_credit_code(code).ok and code.startswith("91" + region)


@given(seeds, st.sampled_from(COUNTIES), st.sampled_from(list(UNIT_TYPES) + [None]))
def test_enterprise_name(seed, county, unit_type):
    name = synthetic.enterprise_name(random.Random(seed), county, unit_type=unit_type)
    assert name.endswith("有限公司")
    assert name.startswith(("广东", "江门市", county))


def test_enterprise_name_example_shape():
    names = {synthetic.enterprise_name(random.Random(s), "蓬江区") for s in range(50)}
    assert any(re.fullmatch(r"江门市蓬江区..建(筑|设)工程有限公司", n) for n in names)


@given(seeds)
def test_phone(seed):
    assert re.fullmatch(r"1[3-9]\d{9}", synthetic.phone(random.Random(seed)))


@given(seeds, st.sampled_from(COUNTIES))
def test_address(seed, county):
    text = synthetic.address(random.Random(seed), county)
    assert text.startswith("广东省江门市") and text.endswith("号")
    if county != "市辖区":
        assert county in text


def test_address_unknown_county():
    with pytest.raises(ValueError):
        synthetic.address(random.Random(1), "越秀区")


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(min_value=2_500, max_value=60_000))
def test_jpeg_photo_size_band_and_decodable(seed, target):
    data = synthetic.jpeg_photo(random.Random(seed), target_bytes=target)
    assert 0.85 * target <= len(data) <= 1.15 * target
    img = decode(data)
    assert img.format == "JPEG" and img.size == (240, 320)


@pytest.mark.parametrize("target, size", [(150_000, (240, 320)), (4_000, (102, 126)), (20_000, (480, 640))])
def test_jpeg_photo_extremes(target, size):
    data = synthetic.jpeg_photo(random.Random(1), target_bytes=target, size=size)
    assert 0.85 * target <= len(data) <= 1.15 * target
    assert decode(data).size == size


def test_jpeg_photo_impossible_target():
    with pytest.raises(ValueError):
        synthetic.jpeg_photo(random.Random(1), target_bytes=500)


def test_jpeg_photo_consumes_one_draw():
    a, b = random.Random(9), random.Random(9)
    synthetic.jpeg_photo(a)
    b.getrandbits(64)
    assert a.random() == b.random()


def test_photo_pool():
    pool = synthetic.photo_pool(random.Random(2), 5, 8_000)
    assert len(pool) == 5 and len(set(pool)) == 5
    for data in pool:
        assert 6_800 <= len(data) <= 9_200
        decode(data)
