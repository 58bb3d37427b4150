"""Roster entries (项目人员花名册 / 进退场): entering people from the person library, exits, search.

Order is unit → team → person (项目指引 2.7.4): a person enters a team that is in the site, and a
manager job is taken only in the manager team of the unit whose type offers it (管理人员进场: pick
the supervising enterprise to get 总监理工程师). Every entry and exit stamps the project's roster
as changed (roster.mark_changed) so gateways forget their cached copy at once.

Queries filter on index prefixes only (project_id [+ exit_date], person_id): the embedded
server's planner scans the collection for anything else, so team, unit and name filters are
applied here, over one project's entries.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from ..domain import vocabulary
from ..domain.rules import Conflict, RuleError
from . import people as people_store
from ..domain.site_clock import site_today
from .db import utcnow
# Midnight site time of a day (today when None): how entry and exit dates are stored.
from .fields import at_site_midnight as day_start, check_visible
from .roster import CURRENT, mark_changed, person_entries_query

STATUSES = ("in_site", "exited", "all")


def check_not_future(field: str, value: dt.date | None, what: str) -> None:
    if value is not None and value > site_today():
        raise RuleError(field, f"{what}不能晚于今天")


def check_placement(team: dict | None, unit: dict | None, job: str) -> None:
    """The guide's rules for where a person may enter, raising the reason naming the field."""
    if team is None or team.get("exit_date") is not None:
        raise RuleError("team_id", "班组未进场,请先添加班组")
    if unit is None or unit.get("exit_date") is not None:
        raise RuleError("unit_id", "参建单位未进场,请先添加参建单位")
    job = (job or "").strip()
    if not job:
        raise RuleError("job", "请选择工种/岗位")
    if len(job) > 40:
        raise RuleError("job", "工种/岗位不能超过 40 个字符")
    check_visible(job, "job", "工种/岗位")
    if team["kind"] == vocabulary.MANAGER_TEAM_KIND:
        if job not in vocabulary.manager_jobs_for(unit["unit_type"]):
            offering = "、".join(vocabulary.unit_types_offering(job))
            hint = f",须选择{offering}的管理人员班组" if offering else ""
            raise RuleError("job", f"岗位 {job} 不属于 {team['name']}{hint}")
    elif vocabulary.is_manager_job(job):
        raise RuleError("job", f"管理岗位 {job} 须选择对应的管理人员班组")


def entry_document(*, project_id: int, person: dict, team: dict, job: str, entry_date: dt.date | None,
                   by: str = "") -> dict:
    return {"project_id": project_id, "person_id": person["_id"], "worker_no": person["worker_no"],
            "unit_id": team["unit_id"], "team_id": team["_id"], "job": job.strip(),
            "entry_date": day_start(entry_date), "exit_date": None, "created_at": utcnow(), "entered_by": by}


async def enter_person(db: AsyncDatabase, *, project_id: int, worker_no: int, team_id: ObjectId, job: str,
                       entry_date: dt.date | None = None, unit_id: ObjectId | None = None, by: str = "") -> dict:
    check_not_future("entry_date", entry_date, "进场日期")
    person = await db.people.find_one({"worker_no": worker_no}, {"_id": 1, "worker_no": 1})
    if person is None:
        raise RuleError("worker_no", f"人员库中不存在工人编号 {worker_no},请先采集或新增人员")
    team = await db.teams.find_one({"_id": team_id, "project_id": project_id})
    if team is not None and unit_id is not None and team["unit_id"] != unit_id:
        raise RuleError("team_id", "该班组不属于所选参建单位")
    unit = await db.units.find_one({"_id": team["unit_id"]}, {"unit_type": 1, "exit_date": 1}) if team else None
    check_placement(team, unit, job)
    if await db.roster.find_one({"project_id": project_id, "worker_no": worker_no, **CURRENT}, {"_id": 1}):
        raise Conflict("worker_no", f"工人编号 {worker_no} 已在本项目在场")
    entry = entry_document(project_id=project_id, person=person, team=team, job=job, entry_date=entry_date, by=by)
    entry["_id"] = (await db.roster.insert_one(entry)).inserted_id
    await mark_changed(db, [project_id])
    return entry


async def exit_person(db: AsyncDatabase, *, project_id: int, worker_no: int, exit_date: dt.date | None = None) -> bool:
    """Record the exit of a person in the site; False when the person is not in the site."""
    exited = await _exit(db, project_id, worker_no, exit_date)
    if exited:
        await mark_changed(db, [project_id])
    return exited


async def _exit(db: AsyncDatabase, project_id: int, worker_no: int, exit_date: dt.date | None) -> bool:
    check_not_future("exit_date", exit_date, "退场日期")
    entry = await db.roster.find_one({"project_id": project_id, "worker_no": worker_no, **CURRENT})
    if entry is None:
        return False
    when = day_start(exit_date)
    if when < entry["entry_date"]:
        raise RuleError("exit_date", "退场日期不能早于进场日期")
    await db.roster.update_one({"_id": entry["_id"]}, {"$set": {"exit_date": when}})
    return True


async def exit_many(db: AsyncDatabase, *, project_id: int, worker_nos: Iterable[int],
                    exit_date: dt.date | None = None) -> list[dict]:
    """批量退场: one result per worker number (ok, message), so nobody is skipped silently."""
    results = []
    for worker_no in worker_nos:
        try:
            ok = await _exit(db, project_id, worker_no, exit_date)
            results.append({"worker_no": worker_no, "ok": ok, "field": None if ok else "worker_nos",
                            "message": "已退场" if ok else "该人员不在场"})
        except RuleError as exc:
            results.append({"worker_no": worker_no, "ok": False, "field": exc.field, "message": exc.message})
    if any(r["ok"] for r in results):
        await mark_changed(db, [project_id])
    return results


async def placement_options(db: AsyncDatabase, project_id: int) -> list[dict]:
    """Units in the site → their teams in the site → the jobs each team offers (cascading selects)."""
    units = [u async for u in db.units.find({"project_id": project_id}).sort("_id", 1) if u.get("exit_date") is None]
    teams_by_unit: dict[ObjectId, list[dict]] = {}
    async for t in db.teams.find({"project_id": project_id}).sort("_id", 1):
        if t.get("exit_date") is None:
            teams_by_unit.setdefault(t["unit_id"], []).append(t)
    return [{"id": str(u["_id"]), "name": u.get("enterprise_name", ""), "unit_type": u["unit_type"],
             "teams": [{"id": str(t["_id"]), "name": t["name"], "kind": t["kind"],
                        "jobs": list(vocabulary.jobs_for_team_kind(t["kind"], u["unit_type"]))}
                       for t in teams_by_unit.get(u["_id"], [])]}
            for u in units]


async def names_of_places(db: AsyncDatabase, project_ids: set[int], unit_ids: set, team_ids: set) -> dict:
    """Names of projects, units and teams by id, for showing entries."""
    names: dict = {}
    async for p in db.projects.find({"_id": {"$in": sorted(project_ids)}}, {"name": 1}):
        names[("project", p["_id"])] = p["name"]
    async for u in db.units.find({"_id": {"$in": list(unit_ids)}}, {"enterprise_name": 1, "unit_type": 1}):
        names[("unit", u["_id"])] = u.get("enterprise_name", "")
        names[("unit_type", u["_id"])] = u.get("unit_type", "")
    async for t in db.teams.find({"_id": {"$in": list(team_ids)}}, {"name": 1}):
        names[("team", t["_id"])] = t["name"]
    return names


async def search(db: AsyncDatabase, project_id: int, *, q: str = "", unit_id: ObjectId | None = None,
                 team_id: ObjectId | None = None, status: str = "in_site", job: str = "",
                 skip: int = 0, limit: int | None = 50) -> tuple[list[dict], int]:
    """One project's roster, newest entry first, with person and place names; (rows, total)."""
    query: dict = {"project_id": project_id}
    if status == "in_site":
        query.update(CURRENT)
    entries = [e async for e in db.roster.find(query)]
    if status == "exited":
        entries = [e for e in entries if e.get("exit_date") is not None]
    if unit_id is not None:
        entries = [e for e in entries if e["unit_id"] == unit_id]
    if team_id is not None:
        entries = [e for e in entries if e["team_id"] == team_id]
    if job:
        entries = [e for e in entries if e["job"] == job]
    people = await people_store.by_worker_nos(db, (e["worker_no"] for e in entries),
                                              ("name", "id_number", "sex", "phone"))
    q = q.strip()
    if q:
        if q.isdigit() and len(q) < 18:
            entries = [e for e in entries if e["worker_no"] == int(q)]
        else:
            entries = [e for e in entries if q in people.get(e["worker_no"], {}).get("name", "")
                       or q.upper() == people.get(e["worker_no"], {}).get("id_number")]
    entries.sort(key=lambda e: (e["entry_date"], e["_id"]), reverse=True)
    total = len(entries)
    page = entries[skip:skip + limit] if limit is not None else entries[skip:]
    names = await names_of_places(db, {project_id}, {e["unit_id"] for e in page}, {e["team_id"] for e in page})
    rows = []
    for e in page:
        person = people.get(e["worker_no"], {})
        rows.append({**e, "name": person.get("name", ""), "id_number": person.get("id_number", ""),
                     "sex": person.get("sex", ""), "phone": person.get("phone", ""),
                     "unit_name": names.get(("unit", e["unit_id"]), ""),
                     "team_name": names.get(("team", e["team_id"]), "")})
    return rows, total


CAREER_ORDER = [("entry_date", -1)]


async def career(db: AsyncDatabase, person_id: ObjectId) -> list[dict]:
    """A person's entries on every project, newest first (the career index answers this exactly)."""
    entries = [e async for e in db.roster.find(person_entries_query(person_id)).sort(CAREER_ORDER)]
    names = await names_of_places(db, {e["project_id"] for e in entries}, {e["unit_id"] for e in entries},
                                  {e["team_id"] for e in entries})
    return [{**e, "project_name": names.get(("project", e["project_id"]), ""),
             "unit_name": names.get(("unit", e["unit_id"]), ""), "team_name": names.get(("team", e["team_id"]), "")}
            for e in entries]
