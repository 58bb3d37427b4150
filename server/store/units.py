"""Participating units (参建单位): an enterprise of the library on a project, with its type and 项目负责人.

Order is unit → team → person (项目指引 2.5–2.7): a unit is added from the enterprise library,
gets its manager team (管理人员班组) automatically by type, and leaves (退场) only after its teams
and people have left, on a date not before theirs. Deleting is for units entered by mistake:
only while nothing was ever recorded under it (no teams of its own, nobody ever entered).
"""
from __future__ import annotations

import collections
import datetime as dt

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from ..domain import vocabulary
from ..domain.contact import mask_mobile
from ..domain.identity import check_credit_code, mask_id_number
from ..domain.rules import Conflict, NotFound, RuleError
from ..domain.site_clock import site_day
from . import fields, roster, site_exit
from .db import utcnow

# 项目经理证件类型: numbers of the first two follow GB 11643 and are checked; the others are passports
# and travel permits whose numbers are only checked for shape.
ID_TYPES: tuple[str, ...] = ("居民身份证", "港澳台居民居住证", "护照", "港澳居民来往内地通行证",
                             "台湾居民来往大陆通行证", "外国人永久居留身份证")
GB11643_ID_TYPES = ("居民身份证", "港澳台居民居住证")
IN_SITE, LEFT = "在场", "退场"

MANAGER_FIELDS = ("manager_name", "manager_id_type", "manager_id_number", "manager_phone")


def _manager_details(body: dict, current: dict | None = None) -> dict:
    """项目经理名称 / 证件类型 / 证件号码 / 电话 from the body; checked against each other."""
    current = current or {}
    out: dict = {}
    name = fields.text(body, "manager_name", "项目经理名称", max_length=50)
    if name is not None:
        out["manager_name"] = name
    id_type = fields.choice(body, "manager_id_type", "项目经理证件类型", ID_TYPES)
    if id_type is not None:
        out["manager_id_type"] = id_type
    if current.get("manager_phone") and body.get("manager_phone") == mask_mobile(current["manager_phone"]):
        # Shown masked like the ID number below; sent back unchanged, it means "keep the phone".
        body = {k: v for k, v in body.items() if k != "manager_phone"}
    phone = fields.phone(body, "manager_phone", "项目经理电话")
    if phone is not None:
        out["manager_phone"] = phone
    body_number = body.get("manager_id_number")
    if current.get("manager_id_number") and body_number == mask_id_number(current["manager_id_number"]):
        # The edit form shows the number masked; sent back unchanged, it means "keep the number".
        body = {k: v for k, v in body.items() if k != "manager_id_number"}
    if "manager_id_number" in body or "manager_id_type" in body:
        kind = out.get("manager_id_type") or current.get("manager_id_type") or ""
        raw = body["manager_id_number"] if "manager_id_number" in body else current.get("manager_id_number", "")
        number_body = {"manager_id_number": raw}
        if kind in GB11643_ID_TYPES or (not kind and raw):
            number, _ = fields.id_number(number_body, "manager_id_number", "项目经理证件号码")
            if number and not kind:
                out["manager_id_type"] = GB11643_ID_TYPES[0]
        else:
            number = fields.text(number_body, "manager_id_number", "项目经理证件号码", max_length=30)
            if number and not number.replace("-", "").isalnum():
                raise RuleError("manager_id_number", "项目经理证件号码只能包含字母、数字和 -")
        out["manager_id_number"] = (number or "").upper()
    return out


def enterprise_code_query(credit_code: str) -> dict:
    return {"credit_code": credit_code}


def project_units_query(project_id: int) -> dict:
    return {"project_id": project_id}


def unit_teams_query(project_id: int, unit_id) -> dict:
    return {"project_id": project_id, "unit_id": unit_id}


def members_query(unit_id, *, current: bool = False) -> dict:
    """A unit's roster entries (ever, or current): the unit's dates, exit and delete checks, 在场人数."""
    return {"unit_id": unit_id, "exit_date": None} if current else {"unit_id": unit_id}


async def _enterprise_of(db: AsyncDatabase, body: dict) -> dict:
    """The enterprise chosen by id or, as the guide's dialog shows it, by 统一社会信用代码."""
    if body.get("enterprise_id") in (None, "") and body.get("credit_code") not in (None, ""):
        code = fields.text(body, "credit_code", "统一社会信用代码", max_length=40) or ""
        check = check_credit_code(code)
        if not check.ok:
            raise RuleError("credit_code", check.reason)
        enterprise = await db.enterprises.find_one(enterprise_code_query(check.code), {"name": 1})
        if enterprise is None:
            raise RuleError("credit_code", "企业库中没有该统一社会信用代码的企业，请先在企业库登记")
        return enterprise
    if body.get("enterprise_id") in (None, ""):
        # The page asks for the credit code; say so beside that box.
        field = "enterprise_id" if "enterprise_id" in body else "credit_code"
        raise RuleError(field, "参建单位必填：请选择企业库中的企业（统一社会信用代码）")
    enterprise_id = fields.object_id(body.get("enterprise_id"), "enterprise_id", "参建单位（企业）")
    enterprise = await db.enterprises.find_one({"_id": enterprise_id}, {"name": 1})
    if enterprise is None:
        raise RuleError("enterprise_id", "企业库中不存在该企业，请先在企业库登记")
    return enterprise


async def get(db: AsyncDatabase, project_id: int, unit_id: ObjectId) -> dict:
    unit = await db.units.find_one({"_id": unit_id})
    if unit is None or unit["project_id"] != project_id:
        raise NotFound("unit_id", "该项目没有这个参建单位")
    return unit


async def add(db: AsyncDatabase, project_id: int, body: dict, *, by: str = "system") -> dict:
    """添加参建单位 (2.5.2): from the enterprise library, with its type; its manager team is created with it."""
    project = await db.projects.find_one({"_id": project_id}, {"status": 1})
    if project is None:
        raise NotFound("project_id", "项目不存在")
    if project.get("status") == vocabulary.PROJECT_CANCELLED:
        raise Conflict("project_id", "项目已注销，不能添加参建单位")
    unit_type = vocabulary.normalise_unit_type(fields.text(body, "unit_type", "参建类型", required=True) or "")
    if unit_type is None:
        raise RuleError("unit_type", f"参建类型须为 {'、'.join(vocabulary.UNIT_TYPES)} 之一")
    enterprise = await _enterprise_of(db, body)
    enterprise_id = enterprise["_id"]
    entry = fields.day(body, "entry_date", "进场时间") or fields.at_site_midnight(None)
    async for other in db.units.find({"project_id": project_id, "enterprise_id": enterprise_id}):
        if other.get("exit_date") is None and other["unit_type"] == unit_type:
            raise Conflict("enterprise_id", f"{enterprise['name']} 已作为{unit_type}在场")
    now = utcnow()
    unit = {"project_id": project_id, "enterprise_id": enterprise_id, "enterprise_name": enterprise["name"],
            "unit_type": unit_type, "manager_name": "", "manager_id_type": "", "manager_id_number": "",
            "manager_phone": "", **_manager_details(body), "entry_date": entry, "exit_date": None,
            "created_at": now, "created_by": by}
    unit["_id"] = (await db.units.insert_one(unit)).inserted_id
    team_name = vocabulary.manager_team_for(unit_type)
    if team_name:
        await db.teams.insert_one({
            "project_id": project_id, "unit_id": unit["_id"], "name": team_name, "kind": vocabulary.MANAGER_TEAM_KIND,
            "immutable": True, "entry_date": entry, "exit_date": None, "created_at": now})
    return unit


async def _first_entry_below(db: AsyncDatabase, unit: dict) -> dt.datetime | None:
    """The earliest entry date of anything under the unit (its own teams, its people)."""
    dates = [t["entry_date"] async for t in db.teams.find(unit_teams_query(unit["project_id"], unit["_id"]),
                                                          {"entry_date": 1, "kind": 1})
             if t.get("entry_date") and t["kind"] != vocabulary.MANAGER_TEAM_KIND]
    first = await db.roster.find_one(members_query(unit["_id"]), {"entry_date": 1}, sort=[("entry_date", 1)])
    if first:
        dates.append(first["entry_date"])
    return min(dates, default=None)


async def update(db: AsyncDatabase, project_id: int, unit_id: ObjectId, body: dict) -> dict:
    """编辑 (2.5.1): 项目经理 details, 进场时间, and the type while nobody was ever entered under the unit."""
    unit = await get(db, project_id, unit_id)
    changes = _manager_details(body, unit)
    if "unit_type" in body:
        unit_type = vocabulary.normalise_unit_type(fields.text(body, "unit_type", "参建类型", required=True) or "")
        if unit_type is None:
            raise RuleError("unit_type", f"参建类型须为 {'、'.join(vocabulary.UNIT_TYPES)} 之一")
        if unit_type != unit["unit_type"]:
            if await db.roster.find_one(members_query(unit_id), {"_id": 1}):
                raise Conflict("unit_type", "该单位已有人员进场记录，参建类型不能修改")
            changes["unit_type"] = unit_type
    if "entry_date" in body:
        entry = fields.day(body, "entry_date", "进场时间", required=True)
        if unit.get("exit_date") and entry > unit["exit_date"]:
            raise RuleError("entry_date", "进场时间不能晚于退场时间")
        first_below = await _first_entry_below(db, unit)
        if first_below and entry > first_below:
            raise RuleError("entry_date", f"进场时间不能晚于其班组或人员的进场时间 {site_day(first_below)}")
        changes["entry_date"] = entry
    if not changes:
        return unit
    changes["updated_at"] = utcnow()
    await db.units.update_one({"_id": unit_id}, {"$set": changes})
    team_changes = {}
    if "unit_type" in changes:
        team_changes["name"] = vocabulary.manager_team_for(changes["unit_type"])
    if "entry_date" in changes:
        team_changes["entry_date"] = changes["entry_date"]
    if team_changes:
        # The manager team is the platform's: it follows its unit and is never edited by hand.
        await db.teams.update_many({"project_id": project_id, "unit_id": unit_id, "kind": vocabulary.MANAGER_TEAM_KIND},
                                   {"$set": team_changes})
    return {**unit, **changes}


async def exit_unit(db: AsyncDatabase, project_id: int, unit_id: ObjectId, body: dict) -> dict:
    """退场 (2.5.2): after its people and its own teams have left, on a date not before theirs."""
    unit = await get(db, project_id, unit_id)
    when = await site_exit.exit_date_for(db, unit, body, field="unit_id", noun="参建单位", member_key="unit_id")
    teams = [t async for t in db.teams.find(unit_teams_query(project_id, unit_id))]
    open_teams = [t["name"] for t in teams if t.get("exit_date") is None and t["kind"] != vocabulary.MANAGER_TEAM_KIND]
    if open_teams:
        raise Conflict("unit_id", f"该单位仍有班组在场：{'、'.join(open_teams)}，请先办理班组退场")
    last = max([t["exit_date"] for t in teams if t.get("exit_date")], default=None)
    last_person = await db.roster.find_one(members_query(unit_id), {"exit_date": 1}, sort=[("exit_date", -1)])
    if last_person and last_person.get("exit_date") and (last is None or last_person["exit_date"] > last):
        last = last_person["exit_date"]
    if last and when < last:
        raise RuleError("exit_date", f"退场时间不能早于其班组或人员的退场时间 {site_day(last)}")
    changes = {"exit_date": when, "updated_at": utcnow()}
    await db.units.update_one({"_id": unit_id}, {"$set": changes})
    await db.teams.update_many({"project_id": project_id, "unit_id": unit_id, "kind": vocabulary.MANAGER_TEAM_KIND},
                               {"$set": {"exit_date": when}})
    return {**unit, **changes}


async def delete(db: AsyncDatabase, project_id: int, unit_id: ObjectId) -> None:
    """删除: only a unit entered by mistake — no team of its own and nobody ever entered under it."""
    await get(db, project_id, unit_id)
    if await db.roster.find_one(members_query(unit_id), {"_id": 1}):
        raise Conflict("unit_id", "该单位已有人员进场记录，不能删除，请办理退场")
    own = [t["name"] async for t in db.teams.find(unit_teams_query(project_id, unit_id))
           if t["kind"] != vocabulary.MANAGER_TEAM_KIND]
    if own:
        raise Conflict("unit_id", f"该单位下还有班组：{'、'.join(own)}，请先删除班组")
    await db.teams.delete_many({"project_id": project_id, "unit_id": unit_id, "kind": vocabulary.MANAGER_TEAM_KIND})
    await db.units.delete_one({"_id": unit_id})


async def people_in_site(db: AsyncDatabase, project_id: int) -> tuple[collections.Counter, collections.Counter]:
    """在场人数 per unit and per team, from one read of the project's current roster."""
    by_unit, by_team = collections.Counter(), collections.Counter()
    async for entry in db.roster.find(roster.current_query(project_id), {"unit_id": 1, "team_id": 1}):
        by_unit[entry.get("unit_id")] += 1
        by_team[entry.get("team_id")] += 1
    return by_unit, by_team


def state(doc: dict) -> str:
    return LEFT if doc.get("exit_date") else IN_SITE


async def list_units(db: AsyncDatabase, project_id: int, *, unit_type: str = "", status: str = "",
                     keyword: str = "") -> list[dict]:
    """The project's units, oldest first, each with its credit code and people in site (`_people`)."""
    rows = [u async for u in db.units.find(project_units_query(project_id)).sort("_id", 1)
            if (not unit_type or u["unit_type"] == unit_type) and (not status or state(u) == status)
            and (not keyword or keyword in u.get("enterprise_name", ""))]
    codes = {e["_id"]: e["credit_code"] async for e in db.enterprises.find(
        {"_id": {"$in": [u["enterprise_id"] for u in rows]}}, {"credit_code": 1})}
    by_unit, _ = await people_in_site(db, project_id)
    for u in rows:
        u["_credit_code"] = codes.get(u["enterprise_id"], "")
        u["_people"] = by_unit.get(u["_id"], 0)
    return rows


def view(unit: dict, *, unmasked: bool = False) -> dict:
    """A unit as the API and pages show it; the 项目经理 ID number and phone masked unless asked and allowed."""
    number, phone = unit.get("manager_id_number", ""), unit.get("manager_phone", "")
    return {
        "id": str(unit["_id"]), "project_id": unit["project_id"], "enterprise_id": str(unit["enterprise_id"]),
        "enterprise_name": unit.get("enterprise_name", ""), "credit_code": unit.get("_credit_code", ""),
        "unit_type": unit["unit_type"], "manager_name": unit.get("manager_name", ""),
        "manager_id_type": unit.get("manager_id_type", ""),
        "manager_id_number": number if unmasked else mask_id_number(number),
        "manager_phone": phone if unmasked or not phone else mask_mobile(phone), "status": state(unit),
        "entry_date": site_day(unit.get("entry_date")), "exit_date": site_day(unit.get("exit_date")),
        "people_in_site": unit.get("_people", 0), "masked": not unmasked,
    }


async def detail(db: AsyncDatabase, project_id: int, unit_id: ObjectId) -> dict:
    """One unit with its credit code and people in site, ready for view()."""
    unit = await get(db, project_id, unit_id)
    enterprise = await db.enterprises.find_one({"_id": unit["enterprise_id"]}, {"credit_code": 1}) or {}
    unit["_credit_code"] = enterprise.get("credit_code", "")
    unit["_people"] = await db.roster.count_documents(members_query(unit_id, current=True))
    return unit
