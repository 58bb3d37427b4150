"""The monthly attendance grid as pure computation: months, 停工 days, roster lines, marks and totals."""
from __future__ import annotations

import datetime as dt

import pytest

from server.domain import attendance_grid as grid
from server.domain.rules import RuleError

TZ = dt.timezone(dt.timedelta(hours=8))


def at(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), TZ).astimezone(dt.timezone.utc)


def test_month_parsing_and_shape():
    month = grid.Month.parse("2024-02")
    assert (month.length, month.first, month.last, str(month)) == (29, dt.date(2024, 2, 1), dt.date(2024, 2, 29), "2024-02")
    assert grid.Month.parse("2026-11").length == 30
    for bad in ("2024-13", "2024-2", "24-02", "", "2024-00", "1999-12"):
        with pytest.raises(RuleError) as caught:
            grid.Month.parse(bad)
        assert caught.value.field == "month"


def test_stopped_days_from_stop_periods_resumption_day_works():
    month = grid.Month.parse("2026-03")
    project = {"stop_periods": [{"from": at("2026-02-25"), "to": at("2026-03-03")},
                                {"from": at("2026-03-30"), "to": None}]}
    days = grid.stopped_days(project, month)
    assert days == {dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 30), dt.date(2026, 3, 31)}


def test_stopped_days_from_stored_day_strings():
    # server/store/projects.py keeps periods as project_status computes them: site days as text.
    project = {"stop_periods": [{"from": "2026-03-10", "to": "2026-03-12"}, {"from": "2026-03-31", "to": None}]}
    assert grid.stopped_days(project, grid.Month.parse("2026-03")) == {
        dt.date(2026, 3, 10), dt.date(2026, 3, 11), dt.date(2026, 3, 31)}
    assert grid.stopped_days(project, grid.Month.parse("2026-04")) == set(grid.Month.parse("2026-04").dates())


def test_stopped_days_fall_back_to_status_history():
    month = grid.Month.parse("2026-03")
    project = {"status_history": [{"status": "在建", "from": at("2026-01-01")}, {"status": "停工", "from": at("2026-03-10")},
                                  {"status": "在建", "from": at("2026-03-12")}]}
    assert grid.stopped_days(project, month) == {dt.date(2026, 3, 10), dt.date(2026, 3, 11)}
    assert grid.stopped_days({"status_history": [{"status": "在建", "from": at("2026-01-01")}]}, month) == set()


def test_roster_lines_keep_people_present_during_the_month_latest_entry_wins():
    month = grid.Month.parse("2026-03")
    entries = [
        {"worker_no": 1, "entry_date": at("2026-01-01"), "exit_date": None, "job": "木工", "team_id": "a"},
        {"worker_no": 2, "entry_date": at("2026-01-01"), "exit_date": at("2026-02-28"), "job": "钢筋工"},  # left before
        {"worker_no": 3, "entry_date": at("2026-04-01"), "exit_date": None, "job": "钢筋工"},              # enters after
        {"worker_no": 4, "entry_date": at("2026-01-01"), "exit_date": at("2026-03-05"), "job": "普通工人", "team_id": "a"},
        {"worker_no": 4, "entry_date": at("2026-03-20"), "exit_date": None, "job": "砌筑工", "team_id": "b"},
        {"worker_no": 5, "entry_date": at("2026-03-31"), "exit_date": None, "job": "保安"},
    ]
    lines = grid.entries_in_month(entries, month)
    assert sorted(lines) == [1, 4, 5]
    assert (lines[4].job, lines[4].team_id) == ("砌筑工", "b")


def test_marks_totals_and_stopped_punches():
    month = grid.Month.parse("2026-03")
    lines = {1: grid.RosterLine(1, job="木工"), 2: grid.RosterLine(2, job="钢筋工")}
    punched = [(1, "2026-03-01"), (1, "2026-03-02"), (1, "2026-03-02"), (1, "2026-03-10"),
               (9, "2026-03-05"),            # punched without a roster line this month: still shown
               (2, "2026-02-28"), (2, "2026-04-01")]  # outside the month: ignored
    rows = grid.build_grid(month, lines, punched, stopped={dt.date(2026, 3, 10)})
    by_worker = {r["worker_no"]: r for r in rows}
    assert [r["worker_no"] for r in rows] == [1, 2, 9]
    one = by_worker[1]
    assert len(one["marks"]) == 31 and one["marks"][0] == one["marks"][1] == grid.ATTENDED
    assert one["marks"][9] == grid.STOPPED_PUNCH and one["total"] == 2
    assert by_worker[2]["total"] == 0 and set(by_worker[2]["marks"]) == {None}
    assert by_worker[9]["on_roster"] is False and by_worker[9]["total"] == 1
    assert [grid.mark_text(m) for m in one["marks"][:3]] == ["√", "√", ""] and grid.mark_text(grid.STOPPED_PUNCH) == "停"


def test_day_headers_mark_stopped_and_future_days():
    month = grid.Month.parse("2026-03")
    headers = grid.day_headers(month, {dt.date(2026, 3, 2)}, today=dt.date(2026, 3, 30))
    assert headers[0] == {"day": 1, "date": "2026-03-01", "weekday": "日", "stopped": False, "future": False}
    assert headers[1]["stopped"] is True and headers[30]["future"] is True and len(headers) == 31


def test_day_headcounts_present_attended_exit_day_future_and_stopped():
    month = grid.Month(2026, 3)
    entries = [{"worker_no": 1, "entry_date": at("2026-01-01")},
               {"worker_no": 2, "entry_date": at("2026-03-03"), "exit_date": at("2026-03-05")},
               # a second stay of the same person: present again from the 20th
               {"worker_no": 2, "entry_date": at("2026-03-20"), "exit_date": None},
               {"worker_no": 3, "entry_date": at("2026-04-01")}]
    punched = [(1, "2026-03-01"), (1, "2026-03-01"), (2, "2026-03-04"), (2, "2026-03-05"), (9, "2026-03-04"),
               (1, "2026-03-10")]
    counts = grid.day_headcounts(month, entries, punched, {dt.date(2026, 3, 10)}, today=dt.date(2026, 3, 25))
    present = [c["present"] for c in counts]
    assert present[:6] == [1, 1, 2, 2, 1, 1]          # entered on the 3rd; exited on the 5th = not 在场 that day
    assert present[19:25] == [2] * 6 and present[25:] == [None] * 6   # back on the 20th; no figures after today
    attended = [c["attended"] for c in counts]
    # Punches of people not 在场 (2 on its exit day, 9 never entered) are not 出勤; a stopped day has no 出勤.
    assert attended[:5] == [1, 0, 0, 1, 0] and attended[9] is None and counts[9]["present"] == 1
    only_two = grid.day_headcounts(month, entries, punched, set(), today=dt.date(2026, 3, 25), worker_nos={2})
    assert [c["present"] for c in only_two][:5] == [0, 0, 1, 1, 0]


def test_month_shift_and_label():
    assert grid.Month(2026, 1).shifted(-1) == grid.Month(2025, 12)
    assert grid.Month(2026, 12).shifted(1) == grid.Month(2027, 1)
    assert grid.Month(2026, 3).shifted(-36) == grid.Month(2023, 3)
    assert grid.Month(2026, 3).label == "2026年3月" and grid.Month(2025, 12) < grid.Month(2026, 1)
