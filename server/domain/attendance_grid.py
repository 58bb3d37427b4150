"""The project's monthly attendance grid (项目月考勤), computed without any I/O.

Definitions (domain.md, "Definitions the source leaves open"):
- A person attended (出勤) on a day when the platform holds at least one punch of that person on
  that project that site-local day; test-environment punches never count (the store leaves them out).
- Projects on 停工 still record punches, but the days stopped are left out of attendance; which
  days are stopped is project_status's rule (from the day it stopped up to the day work resumed,
  that day being a working day). Punches on stopped days stay visible in the grid, marked apart,
  and are not added to the day count.

Rows are the people on the project's roster at any time during the month (one row per person,
described by their latest entry that month), plus anyone who punched that month without such an
entry (kept visible rather than hidden; flagged `on_roster: False`).

The per-day headcount (domain.md "Today's presence", applied to each day of the month): 在场 = people
with a roster entry that began on or before the day and had not exited by it (exited that day = not
在场); 出勤 = of those, who punched that day. Future days have no figures; on a 停工 day 出勤 is not
counted (the day is left out of attendance), 在场 still is.
"""
from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from typing import Iterable

from . import project_status
from .site_clock import parse_month, site_day, site_day_bounds
from .rules import RuleError

ATTENDED = "attended"          # punched on a working day: counts
STOPPED_PUNCH = "stopped"      # punched on a 停工 day: shown, not counted
WEEKDAYS = "一二三四五六日"


@dataclasses.dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str, field: str = "month") -> "Month":
        year, month = parse_month(text, field)
        if not 2000 <= year <= 2100:
            raise RuleError(field, "月份超出范围 (2000-01 至 2100-12)")
        return cls(year, month)

    @classmethod
    def of(cls, day: dt.date) -> "Month":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shifted(self, months: int) -> "Month":
        """The month `months` later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    @property
    def length(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last(self) -> dt.date:
        return dt.date(self.year, self.month, self.length)

    def dates(self) -> list[dt.date]:
        return [dt.date(self.year, self.month, d) for d in range(1, self.length + 1)]

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) of the month in site time, for comparing with stored datetimes."""
        return site_day_bounds(self.first)[0], site_day_bounds(self.last)[1]


def _aware(value: dt.datetime) -> dt.datetime:
    # Stored datetimes come back as UTC; a naive one is taken as UTC too (what pymongo writes).
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _day_text(value) -> str | None:
    """A period bound or change date as "YYYY-MM-DD" (site day), whichever form it was stored in."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return site_day(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


def project_stop_periods(project: dict) -> list[dict]:
    """The project's 停工 periods in project_status's form [{"from": day, "to": day | None}].

    `stop_periods`, kept by project status changes, is used when present; a project without it
    falls back to its status history (entries dated by "date" or by a "from" datetime).
    """
    if project.get("stop_periods") is not None:
        periods = [{"from": _day_text(p.get("from")), "to": _day_text(p.get("to"))} for p in project["stop_periods"]]
        return [p for p in periods if p["from"]]
    history = [{"status": h.get("status"), "date": _day_text(h.get("date") or h.get("from"))}
               for h in project.get("status_history") or []]
    return project_status.stop_periods([h for h in history if h["date"]])


def stopped_days(project: dict, month: "Month") -> set[dt.date]:
    """The month's days on which the project was stopped (the resumption day is a working day)."""
    return set(project_status.stopped_days(project_stop_periods(project), month.first, month.last))


@dataclasses.dataclass
class RosterLine:
    """What a grid row says about a person: from their latest roster entry in the month."""
    worker_no: int
    unit_id: object = None
    team_id: object = None
    job: str = ""
    entry_date: dt.datetime | None = None
    exit_date: dt.datetime | None = None


def entries_in_month(entries: Iterable[dict], month: Month) -> dict[int, RosterLine]:
    """One line per person among the roster entries that overlap the month (latest entry wins)."""
    start, end = month.bounds()
    lines: dict[int, RosterLine] = {}
    for e in sorted(entries, key=lambda e: _aware(e["entry_date"])):
        entered = _aware(e["entry_date"])
        left = _aware(e["exit_date"]) if e.get("exit_date") else None
        if entered >= end or (left is not None and left < start):
            continue
        lines[e["worker_no"]] = RosterLine(e["worker_no"], e.get("unit_id"), e.get("team_id"), e.get("job", ""),
                                           entered, left)
    return lines


def build_grid(month: Month, roster: dict[int, RosterLine], punched: Iterable[tuple[int, str]],
               stopped: set[dt.date]) -> list[dict]:
    """Rows: worker_no, on_roster, marks (one per day: ATTENDED, STOPPED_PUNCH or None), total.

    `punched` holds (worker_no, "YYYY-MM-DD") pairs, one or more per punch; days outside the
    month are ignored. Rows keep the roster's order of worker numbers.
    """
    index = {d.isoformat(): i for i, d in enumerate(month.dates())}
    stopped_index = {index[d.isoformat()] for d in stopped if d.isoformat() in index}
    days_by_worker: dict[int, set[int]] = {}
    for worker_no, day in punched:
        i = index.get(day)
        if i is not None:
            days_by_worker.setdefault(worker_no, set()).add(i)
    rows = []
    for worker_no in sorted(set(roster) | set(days_by_worker)):
        marks: list[str | None] = [None] * month.length
        for i in days_by_worker.get(worker_no, ()):
            marks[i] = STOPPED_PUNCH if i in stopped_index else ATTENDED
        line = roster.get(worker_no) or RosterLine(worker_no)
        rows.append({"worker_no": worker_no, "on_roster": worker_no in roster, "line": line, "marks": marks,
                     "total": sum(1 for m in marks if m == ATTENDED)})
    return rows


def day_headcounts(month: Month, entries: Iterable[dict], punched: Iterable[tuple[int, str]],
                   stopped: set[dt.date], today: dt.date, worker_nos: set[int] | None = None) -> list[dict]:
    """Per day of the month {"present": n | None, "attended": n | None}; None for days after today and
    for 出勤 on stopped days. `worker_nos`, when given, limits both counts to those people (the rows a
    filtered grid shows)."""
    spans: dict[int, list[tuple[dt.date, dt.date | None]]] = {}
    for e in entries:
        if worker_nos is None or e["worker_no"] in worker_nos:
            spans.setdefault(e["worker_no"], []).append((site_day(_aware(e["entry_date"])),
                                                         site_day(_aware(e["exit_date"])) if e.get("exit_date") else None))
    punched_on: dict[str, set[int]] = {}
    for worker_no, day in punched:
        punched_on.setdefault(day, set()).add(worker_no)
    counts = []
    for day in month.dates():
        if day > today:
            counts.append({"present": None, "attended": None})
            continue
        present = {w for w, periods in spans.items()
                   if any(entered <= day and (left is None or left > day) for entered, left in periods)}
        attended = None if day in stopped else len(present & punched_on.get(day.isoformat(), set()))
        counts.append({"present": len(present), "attended": attended})
    return counts


def day_headers(month: Month, stopped: set[dt.date], today: dt.date) -> list[dict]:
    return [{"day": d.day, "date": d.isoformat(), "weekday": WEEKDAYS[d.weekday()], "stopped": d in stopped,
             "future": d > today} for d in month.dates()]


def mark_text(mark: str | None) -> str:
    """How a cell reads in the page and the Excel export."""
    return {ATTENDED: "√", STOPPED_PUNCH: "停"}.get(mark, "")


def headcount_text(day: dict, counts: dict, key: str) -> str | int:
    """A headcount cell as the page and the export show it: blank after today, 停 for 出勤 on a stopped day."""
    if counts[key] is not None:
        return counts[key]
    return "停" if key == "attended" and day["stopped"] and counts["present"] is not None else ""
