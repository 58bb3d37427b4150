"""Attendance reads for the project's monthly grid and its punch detail (项目考勤).

Every punch query filters on leading fields of the punches index `project_day`
(project_id, date, test, worker_no) — project and a date range, or project, one day, test False
and optionally one worker — and tests/store/test_storage.py checks their plans. Test-environment punches (devices in
the 测试环境 of device access) never count as attendance.
"""
from __future__ import annotations

import datetime as dt

from pymongo.asynchronous.database import AsyncDatabase

from ..domain import attendance_grid as grid
from ..domain.rules import RuleError
from . import people as people_store, roster, teams as teams_store, units as units_store

# A detail query spans at most a month's worth of days; longer exports are asked month by month.
MAX_DETAIL_DAYS = 31


def month_query(project_id: int, month: grid.Month) -> dict:
    # Project and a date range only: the embedded planner scans the whole collection as soon as a
    # predicate follows a range, so `test` is sifted in the $group below instead of in the match.
    # The upper bound is exclusive ($lt the next month's first day): the embedded server's index
    # scan drops keys equal to an inclusive ($lte) bound when the index has further fields, which
    # silently lost the month's last day.
    following = month.last + dt.timedelta(days=1)
    return {"project_id": project_id, "date": {"$gte": month.first.isoformat(), "$lt": following.isoformat()}}


def day_query(project_id: int, day: dt.date, worker_no: int | None = None) -> dict:
    """One day's real punches: equality on every field of project_day, so the index answers it exactly."""
    query: dict = {"project_id": project_id, "date": day.isoformat(), "test": False}
    if worker_no is not None:
        query["worker_no"] = worker_no
    return query


def punched_days_pipeline(project_id: int, month: grid.Month) -> list[dict]:
    return [{"$match": month_query(project_id, month)},
            {"$group": {"_id": {"w": "$worker_no", "d": "$date"}, "real": {"$max": {"$cond": ["$test", 0, 1]}}}}]


async def punched_days(db: AsyncDatabase, project_id: int, month: grid.Month) -> list[tuple[int, str]]:
    """(worker_no, day) for every person and day with at least one non-test punch in the month."""
    pipeline = punched_days_pipeline(project_id, month)
    return [(d["_id"]["w"], d["_id"]["d"]) async for d in await db.punches.aggregate(pipeline) if d["real"]]


async def _names(db: AsyncDatabase, project_id: int) -> tuple[dict, dict]:
    units = {u["_id"]: u.get("enterprise_name", "") async for u in db.units.find(
        units_store.project_units_query(project_id), {"enterprise_name": 1})}
    teams = {t["_id"]: t.get("name", "") async for t in db.teams.find(teams_store.project_teams_query(project_id), {"name": 1})}
    return units, teams


def _matches(row: dict, *, unit_id: str, team_id: str, q: str) -> bool:
    line = row["line"]
    if unit_id and str(line.unit_id) != unit_id:
        return False
    if team_id and str(line.team_id) != team_id:
        return False
    if q and q not in row["name"] and q != str(row["worker_no"]):
        return False
    return True


async def month_grid(db: AsyncDatabase, project: dict, month: grid.Month, *, today: dt.date,
                     unit_id: str = "", team_id: str = "", q: str = "") -> dict:
    """The grid as the API, page and export show it; personal data unmasked here — views mask it."""
    pid = project["_id"]
    entries = [e async for e in db.roster.find(roster.project_entries_query(pid), {"worker_no": 1, "unit_id": 1, "team_id": 1,
                                                                     "job": 1, "entry_date": 1, "exit_date": 1})]
    lines = grid.entries_in_month(entries, month)
    stopped = grid.stopped_days(project, month)
    punched = await punched_days(db, pid, month)
    rows = grid.build_grid(month, lines, punched, stopped)
    people = await people_store.by_worker_nos(db, (r["worker_no"] for r in rows))
    units, teams = await _names(db, pid)
    for row in rows:
        person = people.get(row["worker_no"], {})
        line = row["line"]
        row.update(name=person.get("name", ""), id_number=person.get("id_number", ""),
                   unit_id=str(line.unit_id) if line.unit_id else "", unit=units.get(line.unit_id, ""),
                   team_id=str(line.team_id) if line.team_id else "", team=teams.get(line.team_id, ""),
                   job=line.job)
    shown = [r for r in rows if _matches(r, unit_id=unit_id, team_id=team_id, q=q)]
    filtered = bool(unit_id or team_id or q)
    headcounts = grid.day_headcounts(month, entries, punched, stopped, today,
                                     {r["worker_no"] for r in shown} if filtered else None)
    return {"project_id": pid, "month": str(month), "days": grid.day_headers(month, stopped, today),
            "headcounts": headcounts, "stopped_days": len(stopped), "rows": shown,
            "units": [{"id": str(k), "name": v} for k, v in units.items()],
            "teams": [{"id": str(k), "name": v} for k, v in teams.items()]}


def detail_range(first: dt.date, last: dt.date) -> None:
    if last < first:
        raise RuleError("to", "结束日期不能早于开始日期")
    if (last - first).days + 1 > MAX_DETAIL_DAYS:
        raise RuleError("to", f"考勤明细一次最多查询 {MAX_DETAIL_DAYS} 天")


async def punch_detail(db: AsyncDatabase, project_id: int, first: dt.date, last: dt.date, *,
                       worker_no: int | None = None, limit: int = 0,
                       projection: dict | None = None) -> tuple[list[dict], bool]:
    """Punches of the project in [first, last] (site days), oldest first, without photo bytes.

    One exact index query per day (at most MAX_DETAIL_DAYS). Returns (rows, truncated): at most
    `limit` rows when limit > 0.
    """
    detail_range(first, last)
    rows: list[dict] = []
    day = first
    while day <= last and not (limit and len(rows) > limit):
        cursor = db.punches.find(day_query(project_id, day, worker_no), projection or {"photo_id": 0}).sort(
            [("device_time", 1), ("worker_no", 1)])
        if limit:
            cursor = cursor.limit(limit + 1 - len(rows))
        rows.extend([d async for d in cursor])
        day += dt.timedelta(days=1)
    truncated = bool(limit) and len(rows) > limit
    return rows[:limit] if truncated else rows, truncated


async def person_days(db: AsyncDatabase, project_id: int, first: dt.date, last: dt.date, *,
                      worker_no: int | None = None, limit: int = 0) -> tuple[list[dict], bool]:
    """考勤明细 per person and day in [first, last]: {worker_no, date, first, last, count} — the first and
    last punch of the day by device time (首次/末次打卡, domain.md "Today's presence") and how many
    punches there were; by day, then worker number. Read from the same exact per-day index queries
    as punch_detail (a find with a small projection: aggregating raw punches is the embedded server's
    slow path). `limit` bounds the punches read; truncated says the last day may be incomplete."""
    punches, truncated = await punch_detail(db, project_id, first, last, worker_no=worker_no, limit=limit,
                                            projection={"worker_no": 1, "date": 1, "device_time": 1})
    days: dict[tuple[str, int], dict] = {}
    for p in punches:  # oldest first within each day, so the first seen is 首次 and the latest 末次
        day = days.setdefault((p["date"], p["worker_no"]), {"worker_no": p["worker_no"], "date": p["date"],
                                                            "first": p["device_time"], "count": 0})
        day.update(last=p["device_time"], count=day["count"] + 1)
    return [days[k] for k in sorted(days)], truncated


async def punch_photo(db: AsyncDatabase, punch_id: str) -> tuple[dict, bytes | None] | None:
    """(punch, photo bytes or None) or None when no such punch."""
    punch = await db.punches.find_one({"_id": punch_id}, {"project_id": 1, "worker_no": 1, "photo_id": 1})
    if punch is None:
        return None
    photo = await db.photos.find_one({"_id": punch.get("photo_id")}, {"data": 1}) if punch.get("photo_id") else None
    return punch, (bytes(photo["data"]) if photo else None)
