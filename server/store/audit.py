"""The audit log: who did what to what, and from where; written by the web process and the CLI."""
from __future__ import annotations

import datetime as dt

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.site_clock import site_day_bounds
from .db import utcnow


def entry(*, actor: str, action: str, target: dict | None = None, detail: dict | None = None) -> dict:
    """One audit record; the dashboards process writes it with its synchronous client."""
    return {"at": utcnow(), "actor": actor, "action": action, "target": target or {}, "detail": detail or {}}


async def record(db: AsyncDatabase, *, actor: str, action: str, target: dict | None = None,
                 detail: dict | None = None) -> None:
    await db.audit_log.insert_one(entry(actor=actor, action=action, target=target, detail=detail))


def search_query(*, actor: str | None = None, action: str | None = None, day_from: dt.date | None = None,
                 day_to: dt.date | None = None) -> tuple[dict, list]:
    """Newest first. Filters keep to actor, action and at so one index answers (schema.INDEXES)."""
    query: dict = {}
    if actor:
        query["actor"] = actor
    if action:
        query["action"] = action
    at: dict = {}
    if day_from:
        at["$gte"] = site_day_bounds(day_from)[0]
    if day_to:
        at["$lt"] = site_day_bounds(day_to)[1]
    if at:
        query["at"] = at
    return query, [("at", DESCENDING)]


async def search(db: AsyncDatabase, *, actor: str | None = None, action: str | None = None,
                 day_from: dt.date | None = None, day_to: dt.date | None = None, limit: int = 100) -> list[dict]:
    query, sort = search_query(actor=actor, action=action, day_from=day_from, day_to=day_to)
    cursor = db.audit_log.find(query, {"_id": 0}).sort(sort).limit(limit)
    return [doc async for doc in cursor]
