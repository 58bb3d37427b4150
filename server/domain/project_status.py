"""A project's status over time: which changes are allowed, and which days it was stopped (停工).

Pure rules, no I/O. A project's history is a list of changes, oldest first, each
{"status": ..., "date": "YYYY-MM-DD", ...}; the first entry is the status it was registered with.

Readings of the source (domain.md):
- 注销 (cancelled) is final: nothing follows it.
- 完工 (completed) comes from 在建 or 停工; after it only 注销 (a completed site does not reopen —
  new works are a new project with a new permit).
- 停工 ↔ 在建 as often as needed; each 停工 opens a stop period that the next change closes.
- A change is dated by the day it took effect; it may not be dated before the previous change,
  nor in the future (a status records what happened, not a plan).
- Stopped days are those from the day the project stopped up to, not including, the day it
  changed again: the day work resumes counts as a working day. Projects on 停工 still record
  punches but are left out of attendance and on-duty rates for those days.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

from .vocabulary import (PROJECT_CANCELLED, PROJECT_COMPLETED, PROJECT_STATUSES, PROJECT_SUSPENDED,
                   PROJECT_UNDER_CONSTRUCTION)
from . import site_clock
from .rules import Conflict, RuleError

ALLOWED: dict[str, tuple[str, ...]] = {
    PROJECT_UNDER_CONSTRUCTION: (PROJECT_SUSPENDED, PROJECT_COMPLETED, PROJECT_CANCELLED),
    PROJECT_SUSPENDED: (PROJECT_UNDER_CONSTRUCTION, PROJECT_COMPLETED, PROJECT_CANCELLED),
    PROJECT_COMPLETED: (PROJECT_CANCELLED,),
    PROJECT_CANCELLED: (),
}


def parse_day(value: str | dt.date, field: str = "date") -> dt.date:
    """A change date as stored (YYYY-MM-DD text) or already a date."""
    return value if isinstance(value, dt.date) else site_clock.parse_day(value, field)


def check_change(history: Sequence[dict], new_status: str, day: dt.date, today: dt.date) -> None:
    """Raise RuleError (bad value) or Conflict (not allowed now) unless the change may be recorded."""
    if new_status not in PROJECT_STATUSES:
        raise RuleError("status", f"须为 {'、'.join(PROJECT_STATUSES)} 之一")
    if day > today:
        raise RuleError("date", "变更日期不能晚于今天")
    if not history:
        return
    current = history[-1]["status"]
    if new_status == current:
        raise Conflict("status", f"项目已是{current}状态")
    if new_status not in ALLOWED.get(current, ()):
        if current == PROJECT_CANCELLED:
            raise Conflict("status", "项目已注销，不能再变更状态")
        raise Conflict("status", f"{current}的项目不能变更为{new_status}"
                                 f"（可变更为：{'、'.join(ALLOWED[current]) or '无'}）")
    previous = parse_day(history[-1]["date"])
    if day < previous:
        raise RuleError("date", f"变更日期不能早于上一次状态变更日期 {previous.isoformat()}")


def stop_periods(history: Iterable[dict]) -> list[dict]:
    """[{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD" | None}] — `to` is the first day no longer stopped."""
    periods: list[dict] = []
    for change in history:
        is_stop = change["status"] == PROJECT_SUSPENDED
        if periods and periods[-1]["to"] is None and not is_stop:
            periods[-1]["to"] = change["date"]
        elif is_stop and (not periods or periods[-1]["to"] is not None):
            periods.append({"from": change["date"], "to": None})
    return periods


def is_stopped(periods: Iterable[dict], day: dt.date) -> bool:
    text = day.isoformat()
    # ISO dates compare correctly as text.
    return any(p["from"] <= text and (p["to"] is None or text < p["to"]) for p in periods)


def stopped_days(periods: Iterable[dict], start: dt.date, end: dt.date) -> list[dt.date]:
    """The days in [start, end] (inclusive) on which the project was stopped."""
    periods = list(periods)
    days, day = [], start
    while day <= end:
        if is_stopped(periods, day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days
