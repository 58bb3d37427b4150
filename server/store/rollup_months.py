"""The month rollup (att_project_months), derived from the project-days: one document per project ×
month holding, per day, what the month pages and the trends read.

Why: the embedded server reads ~11,000 documents a second, so a month page reading every
project-day of a city's month (600 × 31) took well over a second; it reads 600 month documents instead.

Document (`_id` "<project>|YYYY-MM"):
    {project_id, month: "YYYY-MM",
     people:   {"YYYY-MM-DD": people punched that day},
     managers: {post: {"YYYY-MM-DD": [workers entered in the post who punched]}},
     stopped:  {"YYYY-MM-DD": bool}, updated_at}
Keyed by post first, so a page asking for one post projects `managers.<post>` alone.

Kept current by an `updated_at` watermark on att_project_days (every write there stamps it): the
rollup_fold job calls `refresh` after its tail pass, `realname rollups rebuild` calls `rebuild`
after rebuilding the project-days. A pass re-reads a margin before its watermark (a project-day
stamped just before our last read may have landed after it); setting a day to what its project-day
says is idempotent, so reading a day twice changes nothing.
"""
from __future__ import annotations

import datetime as dt

from pymongo import ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from ..domain import vocabulary
from . import rollup_queries as q
from .db import utcnow

MONTHS = q.PROJECT_MONTHS
STATE_ID = "months"
# A fold's project-day write is stamped before it lands; a bulk write of a rebuilt day takes seconds.
WATERMARK_MARGIN = dt.timedelta(minutes=2)
WRITE_BATCH = 500
_POSTS = frozenset(vocabulary.MANAGER_JOBS)

# The project-day as the month document needs it: the people set's size is taken by the server.
_DAY_FIELDS = {"project_id": 1, "date": 1, "managers": 1, "stopped": 1, "updated_at": 1,
               "people": {"$size": {"$ifNull": ["$workers", []]}}}


def month_id(project_id: int, month: str) -> str:
    return f"{project_id}|{month}"


def _day_fields(day: dict) -> dict:
    """What one project-day sets in its month document (every manager job, absent ones as None)."""
    managers = {post: sorted(workers) for post, workers in (day.get("managers") or {}).items()
                if post in _POSTS and workers}
    date = day["date"]
    fields = {f"people.{date}": day["people"], f"stopped.{date}": bool(day.get("stopped"))}
    fields.update({f"managers.{post}.{date}": managers.get(post) for post in sorted(_POSTS)})
    return fields


def _update(days: list[dict]) -> dict:
    """$set the days' figures, $unset the posts nobody in them punched (a manager since refiled)."""
    fields: dict = {}
    for day in days:
        fields.update(_day_fields(day))
    unset = {k: "" for k, v in fields.items() if v is None}
    update: dict = {"$set": {**{k: v for k, v in fields.items() if v is not None}, "updated_at": utcnow()},
                    "$setOnInsert": {"project_id": days[0]["project_id"], "month": days[0]["date"][:7]}}
    if unset:
        update["$unset"] = unset
    return update


def month_document(project_id: int, month: str, days: list[dict]) -> dict:
    """The month document its project-days make (what `_update` applied to nothing yields)."""
    doc: dict = {"_id": month_id(project_id, month), "project_id": project_id, "month": month, "people": {},
                 "managers": {}, "stopped": {}, "updated_at": utcnow()}
    for day in days:
        for key, value in _day_fields(day).items():
            if value is None:
                continue
            target = doc
            *path, last = key.split(".")
            for part in path:
                target = target.setdefault(part, {})
            target[last] = value
    return doc


def _by_month(days: list[dict]) -> dict[tuple[int, str], list[dict]]:
    grouped: dict[tuple[int, str], list[dict]] = {}
    for day in days:
        grouped.setdefault((day["project_id"], day["date"][:7]), []).append(day)
    return grouped


def days_pipeline(match: dict) -> list[dict]:
    return [{"$match": match}, {"$project": _DAY_FIELDS}]


async def _read_days(db: AsyncDatabase, match: dict) -> list[dict]:
    cursor = await db[q.PROJECT_DAYS].aggregate(days_pipeline(match))
    return [d async for d in cursor]


async def _bulk(collection, ops: list) -> None:
    for start in range(0, len(ops), WRITE_BATCH):
        await collection.bulk_write(ops[start:start + WRITE_BATCH], ordered=False)


async def _save_watermark(db: AsyncDatabase, latest: dt.datetime | None) -> None:
    update: dict = {"$set": {"refreshed_at": utcnow()}}
    if latest is not None:
        update["$max"] = {"watermark": latest}
    await db[q.STATE].update_one({"_id": STATE_ID}, update, upsert=True)


async def refresh(db: AsyncDatabase) -> int:
    """Carry the project-days written since the watermark into their month documents; returns the
    project-days read. With no watermark yet, every month is made from scratch (`rebuild`)."""
    state = await db[q.STATE].find_one({"_id": STATE_ID}) or {}
    if state.get("watermark") is None:
        return await rebuild(db)
    days = await _read_days(db, q.changed_since(state["watermark"] - WATERMARK_MARGIN))
    ops = [UpdateOne({"_id": month_id(pid, month)}, _update(group), upsert=True)
           for (pid, month), group in sorted(_by_month(days).items())]
    await _bulk(db[MONTHS], ops)
    await _save_watermark(db, max((d["updated_at"] for d in days if d.get("updated_at")), default=None))
    return len(days)


async def rebuild(db: AsyncDatabase, first: dt.date | None = None) -> int:
    """Make the month documents from `first`'s month on (every month when None) from the project-days
    as they stand: a rebuild of the project-days deletes days, which no watermark can see."""
    month_from = q.day_text(first)[:7] if first else None
    started = utcnow()
    days = await _read_days(db, q.since(f"{month_from}-01" if month_from else None))
    await db[MONTHS].delete_many({"month": {"$gte": month_from}} if month_from else {})
    ops = [ReplaceOne({"_id": month_id(pid, month)}, month_document(pid, month, group), upsert=True)
           for (pid, month), group in sorted(_by_month(days).items())]
    await _bulk(db[MONTHS], ops)
    latest = max((d["updated_at"] for d in days if d.get("updated_at")), default=None)
    # Nothing read: start watching from now (less the margin the next pass subtracts anyway).
    await _save_watermark(db, latest or started)
    return len(days)
