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

from ..domain import jobs
from ..domain.identity import check_credit_code
from ..domain.rules import RuleError  # noqa: F401  (re-exported: callers catch workforce.RuleError)
from .db import SITE_TZ, next_sequence, utcnow


def _day(value: dt.date | None) -> dt.datetime:
    value = value or dt.datetime.now(SITE_TZ).date()
    return dt.datetime.combine(value, dt.time(), SITE_TZ)


async def create_project(db: AsyncDatabase, *, name: str, county: str, status: str = "在建",
                         category: str = "房屋建筑工程", permit_no: str = "", address: str = "",
                         project_id: int | None = None) -> dict:
    if county not in jobs.COUNTIES:
        raise RuleError("county", f"须为 {'、'.join(jobs.COUNTIES)} 之一")
    if status not in jobs.PROJECT_STATUSES:
        raise RuleError("status", f"须为 {'、'.join(jobs.PROJECT_STATUSES)} 之一")
    if not name.strip():
        raise RuleError("name", "项目名称不能为空")
    now = utcnow()
    doc = {"_id": project_id or await next_sequence(db, "project_no"), "name": name.strip(), "county": county,
           "status": status, "category": category, "permit_no": permit_no, "address": address,
           "status_history": [{"status": status, "from": now}], "created_at": now}
    await db.projects.insert_one(doc)
    return doc


async def create_enterprise(db: AsyncDatabase, *, credit_code: str, name: str, short_name: str = "",
                            area: str = "", legal_representative: str = "") -> dict:
    check = check_credit_code(credit_code)
    if not check.ok:
        raise RuleError("credit_code", check.reason)
    doc = {"credit_code": check.code, "name": name.strip(), "short_name": short_name, "area": area,
           "legal_representative": legal_representative, "created_at": utcnow()}
    try:
        await db.enterprises.insert_one(doc)
    except DuplicateKeyError:
        raise RuleError("credit_code", "统一社会信用代码已存在") from None
    return doc


async def add_unit(db: AsyncDatabase, *, project_id: int, enterprise_id: ObjectId, unit_type: str,
                   entry_date: dt.date | None = None, manager_name: str = "") -> dict:
    if unit_type not in jobs.UNIT_TYPES:
        raise RuleError("unit_type", f"参建类型须为 {'、'.join(jobs.UNIT_TYPES)} 之一")
    if await db.projects.find_one({"_id": project_id}, {"_id": 1}) is None:
        raise RuleError("project_id", "项目不存在")
    enterprise = await db.enterprises.find_one({"_id": enterprise_id}, {"name": 1})
    if enterprise is None:
        raise RuleError("enterprise_id", "企业库中不存在该企业,请先在企业库登记")
    now = utcnow()
    unit = {"project_id": project_id, "enterprise_id": enterprise_id, "enterprise_name": enterprise["name"],
            "unit_type": unit_type, "manager_name": manager_name, "entry_date": _day(entry_date),
            "exit_date": None, "created_at": now}
    unit["_id"] = (await db.units.insert_one(unit)).inserted_id
    manager_team = jobs.manager_team_for(unit_type)
    if manager_team:
        await db.teams.insert_one({
            "project_id": project_id, "unit_id": unit["_id"], "name": manager_team, "kind": "管理人员班组",
            "immutable": True, "entry_date": unit["entry_date"], "exit_date": None, "created_at": now})
    return unit


async def add_team(db: AsyncDatabase, *, project_id: int, unit_id: ObjectId, name: str,
                   kind: str = "普通工人班组", entry_date: dt.date | None = None) -> dict:
    if kind == "管理人员班组":
        raise RuleError("kind", "管理人员班组由平台按参建单位类型自动生成,不能手工添加")
    if kind not in jobs.TEAM_KINDS:
        raise RuleError("kind", f"班组类型须为 {'、'.join(jobs.TEAM_KINDS)} 之一")
    unit = await db.units.find_one({"_id": unit_id, "project_id": project_id})
    if unit is None or unit.get("exit_date") is not None:
        raise RuleError("unit_id", "参建单位未进场,请先添加参建单位")
    team = {"project_id": project_id, "unit_id": unit_id, "name": name.strip(), "kind": kind, "immutable": False,
            "entry_date": _day(entry_date), "exit_date": None, "created_at": utcnow()}
    team["_id"] = (await db.teams.insert_one(team)).inserted_id
    return team


async def enter_person(db: AsyncDatabase, *, project_id: int, worker_no: int, team_id: ObjectId, job: str,
                       entry_date: dt.date | None = None) -> dict:
    person = await db.people.find_one({"worker_no": worker_no}, {"_id": 1})
    if person is None:
        raise RuleError("worker_no", "人员库中不存在该人员,请先采集")
    team = await db.teams.find_one({"_id": team_id, "project_id": project_id})
    if team is None or team.get("exit_date") is not None:
        raise RuleError("team_id", "班组未进场,请先添加班组")
    unit = await db.units.find_one({"_id": team["unit_id"]}, {"unit_type": 1})
    if team["kind"] == "管理人员班组":
        if job not in jobs.manager_jobs_for(unit["unit_type"]):
            raise RuleError("job", f"岗位 {job} 不属于 {team['name']}")
    elif jobs.is_manager_job(job):
        raise RuleError("job", f"管理岗位 {job} 须选择对应的管理人员班组")
    if await db.roster.find_one({"project_id": project_id, "worker_no": worker_no, "exit_date": None}, {"_id": 1}):
        raise RuleError("worker_no", "该人员已在本项目在场")
    entry = {"project_id": project_id, "person_id": person["_id"], "worker_no": worker_no,
             "unit_id": team["unit_id"], "team_id": team_id, "job": job, "entry_date": _day(entry_date),
             "exit_date": None, "created_at": utcnow()}
    entry["_id"] = (await db.roster.insert_one(entry)).inserted_id
    return entry


async def exit_person(db: AsyncDatabase, *, project_id: int, worker_no: int, exit_date: dt.date | None = None) -> bool:
    entry = await db.roster.find_one({"project_id": project_id, "worker_no": worker_no, "exit_date": None})
    if entry is None:
        return False
    when = _day(exit_date)
    if when < entry["entry_date"]:
        raise RuleError("exit_date", "退场日期不能早于进场日期")
    await db.roster.update_one({"_id": entry["_id"]}, {"$set": {"exit_date": when}})
    return True


async def manager_team(db: AsyncDatabase, unit_id: ObjectId) -> dict | None:
    return await db.teams.find_one({"unit_id": unit_id, "kind": "管理人员班组"})
