"""Teams (班组) of a project: worker teams and other-staff teams added by the project, manager teams by the platform.

项目指引 2.6: a team belongs to a unit in the site and enters no earlier than its unit; people can
enter only a team in the site. 管理人员班组 are generated per unit type and the project may not
edit, delete, enter or exit them (they follow their unit). Only a 普通工人班组 may change its kind,
and only to 其他人员班组. A team leaves after its people, on a date not before theirs; deleting is
for a team entered by mistake — nobody was ever entered in it.
"""
from __future__ import annotations

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from ..domain import vocabulary
from ..domain.rules import Conflict, NotFound, RuleError
from ..domain.site_clock import site_day
from . import fields, site_exit, units
from .db import utcnow

ADDABLE_KINDS = (vocabulary.WORKER_TEAM_KIND, vocabulary.OTHER_TEAM_KIND)
_MANAGER_REFUSAL = "管理人员班组由平台按参建单位类型自动生成，不能{}"


def project_teams_query(project_id: int, unit_id=None) -> dict:
    """A project's teams, or one unit's teams on it."""
    return {"project_id": project_id} if unit_id is None else units.unit_teams_query(project_id, unit_id)


def members_query(team_id, *, current: bool = False) -> dict:
    """A team's roster entries (ever, or current): the team's dates, exit and delete checks, 在职人数."""
    return {"team_id": team_id, "exit_date": None} if current else {"team_id": team_id}


async def get(db: AsyncDatabase, project_id: int, team_id: ObjectId) -> dict:
    team = await db.teams.find_one({"_id": team_id})
    if team is None or team["project_id"] != project_id:
        raise NotFound("team_id", "该项目没有这个班组")
    return team


def _refuse_manager_team(team: dict, action: str) -> None:
    if vocabulary.is_generated_team_kind(team["kind"]):
        raise Conflict("team_id", _MANAGER_REFUSAL.format(action))


def _name(body: dict, required: bool) -> str | None:
    return fields.text(body, "name", "班组名称", required=required, max_length=50)


async def _refuse_duplicate_name(db: AsyncDatabase, project_id: int, unit_id: ObjectId, name: str,
                                 except_id: ObjectId | None = None) -> None:
    async for other in db.teams.find(units.unit_teams_query(project_id, unit_id), {"name": 1, "exit_date": 1}):
        if other["_id"] != except_id and other.get("exit_date") is None and other["name"] == name:
            raise Conflict("name", f"该参建单位已有在场班组 {name}")


async def add(db: AsyncDatabase, project_id: int, body: dict, *, by: str = "system") -> dict:
    """添加班组 (2.6.2): a worker or other-staff team of a unit in the site."""
    if await db.projects.find_one({"_id": project_id}, {"_id": 1}) is None:
        raise NotFound("project_id", "项目不存在")
    name = _name(body, required=True)
    kind = fields.text(body, "kind", "班组人员可选类型") or vocabulary.WORKER_TEAM_KIND
    if vocabulary.is_generated_team_kind(kind):
        raise RuleError("kind", "管理人员班组由平台按参建单位类型自动生成，不能手工添加")
    if kind not in ADDABLE_KINDS:
        raise RuleError("kind", f"班组人员可选类型须为 {'、'.join(ADDABLE_KINDS)} 之一")
    unit_id = fields.object_id(body.get("unit_id"), "unit_id", "所属参建单位")
    unit = await db.units.find_one({"_id": unit_id})
    if unit is None or unit["project_id"] != project_id:
        raise RuleError("unit_id", "所属参建单位不是本项目的参建单位，请先添加参建单位")
    if unit.get("exit_date") is not None:
        raise Conflict("unit_id", "所属参建单位已退场，不能添加班组")
    entry = fields.day(body, "entry_date", "进场时间") or fields.at_site_midnight(None)
    if entry < unit["entry_date"]:
        raise RuleError("entry_date", f"进场时间不能早于所属参建单位的进场时间 {site_day(unit['entry_date'])}")
    await _refuse_duplicate_name(db, project_id, unit_id, name)
    team = {"project_id": project_id, "unit_id": unit_id, "name": name, "kind": kind, "immutable": False,
            "entry_date": entry, "exit_date": None, "created_at": utcnow(), "created_by": by}
    team["_id"] = (await db.teams.insert_one(team)).inserted_id
    return team


async def update(db: AsyncDatabase, project_id: int, team_id: ObjectId, body: dict) -> dict:
    """编辑: name, 进场时间, and 普通工人班组 → 其他人员班组 (the only change of kind the guide allows)."""
    team = await get(db, project_id, team_id)
    _refuse_manager_team(team, "修改")
    changes: dict = {}
    name = _name(body, required=True) if "name" in body else None
    if name is not None and name != team["name"]:
        await _refuse_duplicate_name(db, project_id, team["unit_id"], name, except_id=team_id)
        changes["name"] = name
    if "kind" in body:
        kind = fields.text(body, "kind", "班组人员可选类型", required=True)
        if kind != team["kind"]:
            if kind not in vocabulary.team_kind_changes(team["kind"]):
                raise RuleError("kind", "只有普通工人班组可以修改类型，且只能改为其他人员班组")
            if await db.roster.find_one(members_query(team_id, current=True), {"_id": 1}):
                raise Conflict("kind", "班组仍有人员在场，其工种与其他人员班组不符，请先办理人员退场")
            changes["kind"] = kind
    if "entry_date" in body:
        entry = fields.day(body, "entry_date", "进场时间", required=True)
        unit = await db.units.find_one({"_id": team["unit_id"]}, {"entry_date": 1})
        if unit and entry < unit["entry_date"]:
            raise RuleError("entry_date", f"进场时间不能早于所属参建单位的进场时间 {site_day(unit['entry_date'])}")
        if team.get("exit_date") and entry > team["exit_date"]:
            raise RuleError("entry_date", "进场时间不能晚于退场时间")
        first = await db.roster.find_one(members_query(team_id), {"entry_date": 1}, sort=[("entry_date", 1)])
        if first and entry > first["entry_date"]:
            raise RuleError("entry_date", f"进场时间不能晚于班组人员的进场时间 {site_day(first['entry_date'])}")
        changes["entry_date"] = entry
    if changes:
        changes["updated_at"] = utcnow()
        await db.teams.update_one({"_id": team_id}, {"$set": changes})
    return {**team, **changes}


async def exit_team(db: AsyncDatabase, project_id: int, team_id: ObjectId, body: dict) -> dict:
    """退场: refused while people of the team are in the site, or before the last of them left."""
    team = await get(db, project_id, team_id)
    _refuse_manager_team(team, "退场（随所属参建单位退场）")
    when = await site_exit.exit_date_for(db, team, body, field="team_id", noun="班组", member_key="team_id")
    last = await db.roster.find_one(members_query(team_id), {"exit_date": 1}, sort=[("exit_date", -1)])
    if last and last.get("exit_date") and when < last["exit_date"]:
        raise RuleError("exit_date", f"退场时间不能早于班组人员的退场时间 {site_day(last['exit_date'])}")
    changes = {"exit_date": when, "updated_at": utcnow()}
    await db.teams.update_one({"_id": team_id}, {"$set": changes})
    return {**team, **changes}


async def delete(db: AsyncDatabase, project_id: int, team_id: ObjectId) -> None:
    """删除: only a team nobody was ever entered in (a roster entry is history and keeps its team)."""
    team = await get(db, project_id, team_id)
    _refuse_manager_team(team, "删除")
    if await db.roster.find_one(members_query(team_id), {"_id": 1}):
        raise Conflict("team_id", "该班组已有人员进场记录，不能删除，请办理退场")
    await db.teams.delete_one({"_id": team_id})


async def list_teams(db: AsyncDatabase, project_id: int, *, unit_id: ObjectId | None = None, kind: str = "",
                     status: str = "", keyword: str = "") -> list[dict]:
    """The project's teams (manager teams first within each unit), with `_unit` and `_people` (在职人数)."""
    query = project_teams_query(project_id, unit_id)
    all_units = {u["_id"]: u async for u in db.units.find(units.project_units_query(project_id),
                                                         {"enterprise_name": 1, "unit_type": 1, "exit_date": 1})}
    _, by_team = await units.people_in_site(db, project_id)
    rows = []
    async for team in db.teams.find(query).sort("_id", 1):
        if (kind and team["kind"] != kind) or (status and units.state(team) != status) \
                or (keyword and keyword not in team["name"]):
            continue
        team["_unit"] = all_units.get(team["unit_id"], {})
        team["_people"] = by_team.get(team["_id"], 0)
        rows.append(team)
    order = {k: i for i, k in enumerate(vocabulary.TEAM_KINDS)}
    rows.sort(key=lambda t: (order.get(t["kind"], 9), t["_id"]))
    return rows


def view(team: dict) -> dict:
    """A team as the API and pages show it, with what the project may still do with it."""
    generated = vocabulary.is_generated_team_kind(team["kind"])
    in_site = team.get("exit_date") is None
    unit = team.get("_unit") or {}
    return {
        "id": str(team["_id"]), "project_id": team["project_id"], "unit_id": str(team["unit_id"]),
        "unit_name": unit.get("enterprise_name", ""), "unit_type": unit.get("unit_type", ""),
        "name": team["name"], "kind": team["kind"], "status": units.state(team),
        "entry_date": site_day(team.get("entry_date")), "exit_date": site_day(team.get("exit_date")),
        "people_in_site": team.get("_people", 0), "generated": generated,
        "may_edit": not generated, "may_exit": not generated and in_site,
        "may_delete": not generated,
    }


async def detail(db: AsyncDatabase, project_id: int, team_id: ObjectId) -> dict:
    """One team with its unit and 在职人数, ready for view()."""
    team = await get(db, project_id, team_id)
    team["_unit"] = await db.units.find_one({"_id": team["unit_id"]}, {"enterprise_name": 1, "unit_type": 1}) or {}
    team["_people"] = await db.roster.count_documents(members_query(team_id, current=True))
    return team
