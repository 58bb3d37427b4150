"""The audit log: who did what to what, and from where; written by the web process and the CLI."""
from __future__ import annotations

import datetime as dt
import heapq

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.audit_actions import DEVICE_ACTIONS, codes_matching
from ..domain.site_clock import site_day_bounds
from .db import utcnow


def entry(*, actor: str, action: str, target: dict | None = None, detail: dict | None = None) -> dict:
    """One audit record; the dashboards process writes it with its synchronous client."""
    return {"at": utcnow(), "actor": actor, "action": action, "target": target or {}, "detail": detail or {}}


async def record(db: AsyncDatabase, *, actor: str, action: str, target: dict | None = None,
                 detail: dict | None = None) -> None:
    await db.audit_log.insert_one(entry(actor=actor, action=action, target=target, detail=detail))


def _period(day_from: dt.date | None, day_to: dt.date | None) -> dict:
    at: dict = {}
    if day_from:
        at["$gte"] = site_day_bounds(day_from)[0]
    if day_to:
        at["$lt"] = site_day_bounds(day_to)[1]
    return at


SORT = [("at", DESCENDING)]


def search_queries(*, actor: str | None = None, action: str | None = None, day_from: dt.date | None = None,
                   day_to: dt.date | None = None, with_devices: bool = False) -> tuple[list[dict], list]:
    """The audit search as queries and their sort. `action` is a code or part of a Chinese name (登录 finds
    login, login_failure, logout); without it, devices' own entries are left out unless with_devices.
    Filters keep to actor, action and at so one index answers (schema.INDEXES): one query per named
    action, merged by `search`, since the embedded database plans `$in` + a range as a collection scan."""
    at = _period(day_from, day_to)
    base: dict = {"actor": actor} if actor else {}
    if at:
        base["at"] = at
    if action:
        return [{**base, "action": code} for code in codes_matching(action)], SORT
    # Without an action the devices' own entries are skipped while reading (search): a `$nin` on action
    # beside the range would make the embedded planner scan the whole log.
    return [base], SORT


async def search(db: AsyncDatabase, *, actor: str | None = None, action: str | None = None,
                 day_from: dt.date | None = None, day_to: dt.date | None = None, limit: int = 100,
                 with_devices: bool = False) -> list[dict]:
    """Newest first: the queries of search_queries, merged."""
    queries, sort = search_queries(actor=actor, action=action, day_from=day_from, day_to=day_to,
                                   with_devices=with_devices)
    skip_devices = not action and not with_devices
    found: list[dict] = []
    for query in queries:
        kept = 0
        async for doc in db.audit_log.find(query, {"_id": 0}).sort(sort):
            if skip_devices and doc["action"] in DEVICE_ACTIONS:
                continue
            found.append(doc)
            kept += 1
            if kept >= limit:
                break
    return heapq.nlargest(limit, found, key=lambda doc: doc["at"]) if len(queries) > 1 else found


async def count_device_entries(db: AsyncDatabase, *, day_from: dt.date | None = None,
                               day_to: dt.date | None = None) -> int:
    """How many entries devices wrote in the period: the page says how many it folded away."""
    at = _period(day_from, day_to)
    total = 0
    for code in DEVICE_ACTIONS:
        total += await db.audit_log.count_documents({"action": code, **({"at": at} if at else {})})
    return total
