"""Queries on the attendance rollups, as plain dicts: the async stores and the synchronous dashboard
data module build their reads here, so both ask the same thing the same way.

Date ranges end with `$lt` the following day, never `$lte` the last: the embedded server's index
scan drops keys equal to an inclusive bound on a middle field of a compound index, which silently
lost a range's last day (tests/dashboards/test_data.py keeps a day equal to a range's upper bound).
"""
from __future__ import annotations

import datetime as dt

from ..domain.site_clock import parse_day

PERSON_DAYS = "att_person_days"
PROJECT_DAYS = "att_project_days"
PROJECT_MONTHS = "att_project_months"   # per project × month, from the project-days (rollup_months.py)
ROSTERS = "att_rosters"   # per project: every roster entry's [entry day, exit day), for 在职人数 on any day
STATE = "rollup_state"
TAIL_STATE_ID = "punch_tail"


def day_text(day: dt.date | str) -> str:
    return day if isinstance(day, str) else day.isoformat()


def _next(day: dt.date | str) -> str:
    day = parse_day(day) if isinstance(day, str) else day
    return (day + dt.timedelta(days=1)).isoformat()


def days(first: dt.date | str, last: dt.date | str) -> dict:
    """[first, last] inclusive, written as [first, last + 1 day)."""
    return {"$gte": day_text(first), "$lt": _next(last)}


def on_day(day: dt.date | str) -> dict:
    """Every project's (or person's) rollup of one day: `date` leads the by_day indexes."""
    return {"date": day_text(day)}


def between(first: dt.date | str, last: dt.date | str) -> dict:
    return {"date": days(first, last)}


def project_between(project_id: int, first: dt.date | str, last: dt.date | str) -> dict:
    """One project's days: (project_id, date, ...) index, range on the middle field."""
    return {"project_id": project_id, "date": days(first, last)}


def of_project(project_id: int) -> dict:
    """Every stored day of one project (a change of who holds its posts refolds them)."""
    return {"project_id": project_id}


def since(first: dt.date | str | None) -> dict:
    return {} if first is None else {"date": {"$gte": day_text(first)}}


def changed_since(moment: dt.datetime) -> dict:
    """Project-days written since a moment (their updated_at index): what the month rollup refolds."""
    return {"updated_at": {"$gte": moment}}


def months(first: str, last: str) -> dict:
    """Month documents of months [first, last] ("YYYY-MM"), written as [first, the month after last)."""
    year, month = int(last[:4]), int(last[5:7])
    following = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    return {"month": {"$gte": first, "$lt": following}}


def dated_after(day: dt.date | str) -> dict:
    return {"date": {"$gt": day_text(day)}}


def dated_before(day: dt.date | str) -> dict:
    return {"date": {"$lt": day_text(day)}}


def punches_received_since(moment: dt.datetime | None) -> dict:
    """The raw punches a tail that lost its change stream folds again (received_at index)."""
    return {} if moment is None else {"received_at": {"$gte": moment}}


def punches_received_between(start: dt.datetime, end: dt.datetime | None) -> dict:
    """Punches received in [start, end) (end None: from start on), on the received_at index: the embedded
    server gathers a query's every match before it answers the first, so a long window read in slices
    has its first punches at hand after a slice's work instead of the whole window's."""
    return {"received_at": {"$gte": start, **({"$lt": end} if end is not None else {})}}


# What a page reads of a project-day: never the people set unless it counts distinct people.
PROJECT_DAY_FIGURES = {"project_id": 1, "date": 1, "managers": 1, "stopped": 1}
PROJECT_DAY_WITH_PEOPLE = {**PROJECT_DAY_FIGURES, "workers": 1}
