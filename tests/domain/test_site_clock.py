"""Site days and the one strict date parser."""
from __future__ import annotations

import datetime as dt
import pathlib
import re

import pytest

from server.domain import site_clock
from server.domain.rules import RuleError

UTC = dt.timezone.utc


@pytest.mark.parametrize("text", ["20260101", "2026-1-1", "2026-01-1", "2026-02-30", "2026-13-01", "2026-W01-1",
                                  "2026-001", "2026-01-01T00:00", " 2026-01-01", "2026-01-01 ", "２０２６-01-01", "", None, 20260101])
def test_parse_day_refuses_everything_but_a_real_yyyy_mm_dd(text):
    with pytest.raises(RuleError) as refused:
        site_clock.parse_day(text, "entry_date", "进场时间")
    assert refused.value.field == "entry_date" and refused.value.message.startswith("进场时间")


def test_parse_day_accepts_yyyy_mm_dd_and_says_why_it_refuses():
    assert site_clock.parse_day("2026-01-01") == dt.date(2026, 1, 1)
    assert site_clock.parse_day("2024-02-29") == dt.date(2024, 2, 29)
    with pytest.raises(RuleError, match="格式须为 YYYY-MM-DD"):
        site_clock.parse_day("20260101")
    with pytest.raises(RuleError, match="不是有效日期"):
        site_clock.parse_day("2026-02-30")


@pytest.mark.parametrize("text", ["202601", "2026-1", "2026-13", "2026-00", "2026-01-01", "2026/01", None])
def test_parse_month_refuses(text):
    with pytest.raises(RuleError):
        site_clock.parse_month(text)


def test_parse_month_accepts_yyyy_mm():
    assert site_clock.parse_month("2026-12") == (2026, 12)


def test_site_day_at_the_edges_of_a_site_day():
    # 2026-03-01 00:00:00 in 江门 is 2026-02-28 16:00 UTC; 23:59:59 the same evening is 15:59:59 UTC next day.
    assert site_clock.site_day(dt.datetime(2026, 2, 28, 16, 0, 0, tzinfo=UTC)) == dt.date(2026, 3, 1)
    assert site_clock.site_day(dt.datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC)) == dt.date(2026, 2, 28)
    assert site_clock.site_day(dt.datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC)) == dt.date(2026, 3, 1)
    assert site_clock.site_day(dt.datetime(2026, 3, 1, 23, 59, 59, tzinfo=site_clock.SITE_TZ)) == dt.date(2026, 3, 1)
    assert site_clock.site_day(dt.datetime(2026, 3, 2, 0, 0, 0, tzinfo=site_clock.SITE_TZ)) == dt.date(2026, 3, 2)
    # Naive datetimes are what pymongo writes: UTC.
    assert site_clock.site_day(dt.datetime(2026, 2, 28, 16, 0, 0)) == dt.date(2026, 3, 1)
    assert site_clock.site_day(None) is None


def test_day_bounds_cover_exactly_one_site_day():
    start, end = site_clock.site_day_bounds(dt.date(2026, 3, 1))
    assert start == dt.datetime(2026, 2, 28, 16, 0, tzinfo=UTC) and end - start == dt.timedelta(days=1)
    assert site_clock.site_day(start) == dt.date(2026, 3, 1)
    assert site_clock.site_day(end - dt.timedelta(seconds=1)) == dt.date(2026, 3, 1)
    assert site_clock.site_day(end) == dt.date(2026, 3, 2)
    assert site_clock.site_midnight(dt.date(2026, 3, 1)) == start


def test_site_today_is_the_site_calendar_day():
    before = dt.datetime.now(UTC)
    today = site_clock.site_today()
    after = dt.datetime.now(UTC)
    assert today in {site_clock.site_day(before), site_clock.site_day(after)}


def test_one_site_clock_and_one_date_parser_in_server():
    # Site time and typed dates are read in site_clock only; anything else would be a second,
    # differently strict copy (the API once accepted 20260101 and week dates through fromisoformat).
    server = pathlib.Path(__file__).resolve().parents[2] / "server"
    pattern = re.compile(r"fromisoformat|strptime|hours=8\)|def site_day\b|def site_today\b|SITE_TZ\s*=")
    found = [f"{p.relative_to(server)}:{n}: {line.strip()}"
             for p in sorted(server.rglob("*.py")) if p.name != "site_clock.py"
             for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, "\n".join(found)
