"""Project status rules: allowed changes, dating, and which days a project was stopped (停工)."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from server.domain import project_status as ps
from server.domain.rules import Conflict, RuleError

D = dt.date.fromisoformat
TODAY = D("2026-06-30")


def change(status: str, day: str) -> dict:
    return {"status": status, "date": day}


def test_allowed_changes_and_cancelled_is_final():
    history = [change("在建", "2026-01-01")]
    for target in ("停工", "完工", "注销"):
        ps.check_change(history, target, D("2026-02-01"), TODAY)
    with pytest.raises(Conflict, match="已是在建"):
        ps.check_change(history, "在建", D("2026-02-01"), TODAY)
    done = history + [change("完工", "2026-03-01")]
    with pytest.raises(Conflict, match="完工的项目不能变更为在建"):
        ps.check_change(done, "在建", D("2026-04-01"), TODAY)
    with pytest.raises(Conflict, match="完工的项目不能变更为停工"):
        ps.check_change(done, "停工", D("2026-04-01"), TODAY)
    ps.check_change(done, "注销", D("2026-04-01"), TODAY)
    cancelled = done + [change("注销", "2026-04-01")]
    for target in ("在建", "停工", "完工"):
        with pytest.raises(Conflict, match="已注销"):
            ps.check_change(cancelled, target, D("2026-05-01"), TODAY)
    stopped = [change("停工", "2026-01-01")]
    ps.check_change(stopped, "完工", D("2026-01-05"), TODAY)
    ps.check_change(stopped, "在建", D("2026-01-05"), TODAY)


def test_dates_may_not_go_backwards_nor_into_the_future():
    history = [change("在建", "2026-01-01"), change("停工", "2026-03-01")]
    with pytest.raises(RuleError, match="不能早于.*2026-03-01") as exc:
        ps.check_change(history, "在建", D("2026-02-28"), TODAY)
    assert exc.value.field == "date" and exc.value.status == 400
    ps.check_change(history, "在建", D("2026-03-01"), TODAY)  # the same day is fine
    with pytest.raises(RuleError, match="不能晚于今天"):
        ps.check_change(history, "在建", TODAY + dt.timedelta(days=1), TODAY)
    with pytest.raises(RuleError, match="须为") as exc:
        ps.check_change(history, "暂停", D("2026-03-02"), TODAY)
    assert exc.value.field == "status"
    with pytest.raises(RuleError, match="YYYY-MM-DD"):
        ps.parse_day("2026-3-1")


def test_stop_periods_open_and_close_and_resume_day_counts_as_working():
    history = [change("在建", "2026-01-01"), change("停工", "2026-02-10"), change("在建", "2026-02-20"),
               change("停工", "2026-05-01")]
    periods = ps.stop_periods(history)
    assert periods == [{"from": "2026-02-10", "to": "2026-02-20"}, {"from": "2026-05-01", "to": None}]
    assert not ps.is_stopped(periods, D("2026-02-09"))
    assert ps.is_stopped(periods, D("2026-02-10")) and ps.is_stopped(periods, D("2026-02-19"))
    assert not ps.is_stopped(periods, D("2026-02-20"))
    assert ps.is_stopped(periods, D("2027-01-01"))  # still stopped
    days = ps.stopped_days(periods, D("2026-02-18"), D("2026-02-21"))
    assert days == [D("2026-02-18"), D("2026-02-19")]
    # Completed straight from 停工 closes the period; a project registered 停工 starts stopped.
    assert ps.stop_periods([change("停工", "2026-01-01"), change("完工", "2026-01-03")]) == [
        {"from": "2026-01-01", "to": "2026-01-03"}]
    assert ps.stop_periods([change("在建", "2026-01-01")]) == []


@given(st.lists(st.sampled_from(["在建", "停工"]), min_size=1, max_size=12))
def test_stopped_days_are_exactly_the_days_whose_latest_change_is_a_stop(statuses):
    # Property: day by day, "stopped" equals "the last change on or before that day was 停工".
    start = D("2026-01-01")
    history = [change(s, (start + dt.timedelta(days=3 * i)).isoformat()) for i, s in enumerate(statuses)]
    periods = ps.stop_periods(history)
    for offset in range(3 * len(statuses) + 3):
        day = start + dt.timedelta(days=offset)
        latest = [h["status"] for h in history if h["date"] <= day.isoformat()][-1]
        assert ps.is_stopped(periods, day) == (latest == "停工"), (day, history)
