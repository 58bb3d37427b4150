"""Projects, enterprises, participating units, teams and roster entries, with the guide's ordering rules.

Order is unit → team → person (项目指引 2.7.4): an enterprise must be in the enterprise library
before it joins a project, a team must belong to a unit in the site, and a person enters a team
that is in the site. Each unit gets its manager team automatically; manager jobs come only from
the manager team of the unit whose type offers them.
"""
from __future__ import annotations

import datetime as dt

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ..domain import project_status, vocabulary
from ..domain.rules import RuleError  # noqa: F401  (re-exported: callers catch workforce.RuleError)
from . import enterprises, teams, units
from ..domain.site_clock import site_day
from .db import next_sequence, utcnow
# Entries and exits live in roster_entries (花名册); re-exported for existing callers.
from .roster_entries import enter_person, exit_person  # noqa: F401


async def create_project(db: AsyncDatabase, *, name: str, county: str, status: str = "在建",
                         category: str = "房屋建筑工程", permit_no: str = "", address: str = "",
                         project_id: int | None = None, status_date: dt.date | None = None,
                         actor: str = "", extra: dict | None = None) -> dict:
    """`extra`: further fields kept on the project (the declaration's supplier, applicant, ...)."""
    if county not in vocabulary.COUNTIES:
        raise RuleError("county", f"须为 {'、'.join(vocabulary.COUNTIES)} 之一")
    if status not in vocabulary.PROJECT_STATUSES:
        raise RuleError("status", f"须为 {'、'.join(vocabulary.PROJECT_STATUSES)} 之一")
    if not name.strip():
        raise RuleError("name", "项目名称不能为空")
    now = utcnow()
    # Dated changes feed project_status (allowed changes, 停工 periods left out of attendance rates).
    first = {"status": status, "from": now, "date": (status_date or site_day(now)).isoformat(),
             "by": actor, "reason": "登记"}
    doc = {**(extra or {}), "_id": project_id, "name": name.strip(),
           "county": county, "status": status, "category": category, "permit_no": permit_no, "address": address,
           "status_history": [first], "stop_periods": project_status.stop_periods([first]), "created_at": now}
    if project_id is not None:
        await db.projects.insert_one(doc)
        # Numbers given by hand (the demo city, imports) must never be handed out again by the counter.
        await db.counters.update_one({"_id": "project_no"}, {"$max": {"seq": project_id}}, upsert=True)
        return doc
    for _ in range(3):
        doc["_id"] = await next_sequence(db, "project_no")
        try:
            await db.projects.insert_one(doc)
            return doc
        except DuplicateKeyError:
            # A database whose projects were numbered by hand before the counter followed them: catch up.
            top = await db.projects.find_one({}, {"_id": 1}, sort=[("_id", -1)])
            await db.counters.update_one({"_id": "project_no"}, {"$max": {"seq": top["_id"]}}, upsert=True)
    raise RuntimeError("could not allocate a project number")


async def create_enterprise(db: AsyncDatabase, *, credit_code: str, name: str, short_name: str = "",
                            area: str = "", legal_representative: str = "", **more: object) -> dict:
    """Fixtures and imports: only name and credit code needed (enterprises.register has every field)."""
    body = {"credit_code": credit_code, "name": name, "short_name": short_name, "registered_area": area,
            "legal_representative": legal_representative, **more}
    return await enterprises.register(db, body, by="system", complete=False)


async def add_unit(db: AsyncDatabase, *, project_id: int, enterprise_id: ObjectId, unit_type: str,
                   entry_date: dt.date | None = None, manager_name: str = "", **more: object) -> dict:
    """A participating unit with its manager team (units.add: the rules and every field)."""
    body = {"enterprise_id": enterprise_id, "unit_type": unit_type, "manager_name": manager_name, **more}
    if entry_date is not None:
        body["entry_date"] = entry_date.isoformat()
    return await units.add(db, project_id, body)


async def add_team(db: AsyncDatabase, *, project_id: int, unit_id: ObjectId, name: str,
                   kind: str = "普通工人班组", entry_date: dt.date | None = None) -> dict:
    """A worker or other-staff team of a unit in the site (teams.add: the rules)."""
    body = {"unit_id": unit_id, "name": name, "kind": kind}
    if entry_date is not None:
        body["entry_date"] = entry_date.isoformat()
    return await teams.add(db, project_id, body)


async def manager_team(db: AsyncDatabase, unit_id: ObjectId) -> dict | None:
    return await db.teams.find_one({"unit_id": unit_id, "kind": "管理人员班组"})
