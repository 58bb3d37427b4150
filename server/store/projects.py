"""The project library (项目库): register, edit, status changes, 场所码 and location, and the list.

The same field rules serve the public declaration (项目申报) and the supervisors' direct
registration (登记新项目), so a project reads the same whichever way it arrived.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable

from pymongo.asynchronous.database import AsyncDatabase

from .. import access
from ..domain import project_status, vocabulary
from ..domain.contact import check_mobile, mask_email, mask_mobile
from ..domain.rules import Conflict, NotFound, RuleError
from ..province import signing
from . import accounts, attendance, devices, fields, workforce
from .roster import CURRENT
from ..domain.site_clock import site_day, site_today
from .db import utcnow

# name → (Chinese label, longest length); the label leads every refusal so the user knows the field.
TEXT_FIELDS: dict[str, tuple[str, int]] = {
    "name": ("项目名称", 100), "supplier": ("服务商", 100), "permit_no": ("施工许可证", 40),
    "address": ("项目地点", 200), "builder": ("建设单位", 100), "description": ("项目概况", 1000),
}
REQUIRED_ON_CREATE = ("name", "supplier", "category", "status", "county")
EDITABLE = ("name", "supplier", "category", "permit_no", "address", "county", "planned_start", "builder",
            "description")
# 施工许可证 numbers are digits (the source: 440701202210170101), some with letters or dashes.
_PERMIT = re.compile(r"^[0-9A-Za-z-]{4,40}$")
# Mainland China, with a margin (73°33′E–135°05′E, 3°51′N–53°33′N).
LONGITUDE, LATITUDE = (73.5, 135.1), (3.8, 53.6)
_VENUE_CODE = re.compile(r"^[0-9A-Za-z_-]{4,64}$")


def _text(raw: dict, name: str, *, required: bool) -> str:
    label, longest = TEXT_FIELDS[name]
    return fields.text(raw, name, label, required=required, max_length=longest) or ""


def _choice(raw: dict, name: str, label: str, choices: tuple[str, ...]) -> str:
    return fields.choice(raw, name, label, choices, required=True) or ""


def clean_fields(raw: dict, names: Iterable[str], *, required: Iterable[str] = ()) -> dict:
    """Checked, trimmed values of the named project fields present in raw (all of `required` must be)."""
    required = set(required)
    out: dict[str, Any] = {}
    for name in names:
        if name not in raw and name not in required:
            continue
        if name in TEXT_FIELDS:
            out[name] = _text(raw, name, required=name in required)
        # A choice that is sent must be one of its values: a project never has an empty category or county.
        elif name == "category":
            out[name] = _choice(raw, name, "项目分类", vocabulary.PROJECT_CATEGORIES)
        elif name == "status":
            # A new project starts 在建 or 停工 (a declaration of a finished or cancelled works makes no sense).
            out[name] = _choice(raw, name, "项目状态", vocabulary.PROJECT_STATUSES[:2])
        elif name == "county":
            out[name] = _choice(raw, name, "项目所在地", vocabulary.COUNTIES)
        elif name == "planned_start":
            value = raw.get(name) or ""
            out[name] = project_status.parse_day(value, name).isoformat() if value else ""
        else:
            raise RuleError(name, "不能修改该字段")
    if out.get("permit_no") and not _PERMIT.match(out["permit_no"]):
        raise RuleError("permit_no", "施工许可证编号只能包含数字、字母和 -，4–40 位")
    return out


async def register(db: AsyncDatabase, raw: dict, *, actor: str, county_scope: str | None = None,
                   extra: dict | None = None) -> dict:
    """A new project in the library, from a supervisor's form or an approved declaration."""
    fields = clean_fields(raw, REQUIRED_ON_CREATE + EDITABLE, required=REQUIRED_ON_CREATE)
    if county_scope and fields["county"] != county_scope:
        raise RuleError("county", f"只能登记{county_scope}的项目")
    core = {k: fields.pop(k) for k in ("name", "county", "status", "category", "permit_no", "address") if k in fields}
    return await workforce.create_project(db, **core, actor=actor, extra={**fields, **(extra or {})})


async def get(db: AsyncDatabase, project_id: int) -> dict:
    project = await db.projects.find_one({"_id": project_id})
    if project is None:
        raise NotFound("project_id", f"项目 {project_id} 不存在")
    return project


async def name_of(db: AsyncDatabase, project_id: int) -> str:
    """The project's name, or "" when it is gone (a device's whitelist still answers)."""
    project = await db.projects.find_one({"_id": project_id}, {"name": 1})
    return project["name"] if project else ""


async def editable(db: AsyncDatabase, project_id: int) -> dict:
    """The project, unless it is cancelled: a 注销 project is kept as it was, read-only."""
    project = await get(db, project_id)
    if project["status"] == vocabulary.PROJECT_CANCELLED:
        raise Conflict("status", "项目已注销，不能再修改")
    return project


async def update(db: AsyncDatabase, project_id: int, raw: dict, *, may_move_county: bool) -> dict:
    unknown = sorted(set(raw) - set(EDITABLE))
    if unknown:
        raise RuleError(unknown[0], "不能在此修改该字段（状态、场所码、定位各有自己的操作）")
    changes = clean_fields(raw, EDITABLE, required=[k for k in ("name", "supplier") if k in raw])
    if "county" in changes and not may_move_county:
        raise RuleError("county", "项目所在地只能由市级监管修改")
    if not changes:
        raise RuleError("name", "没有要修改的内容")
    project = await editable(db, project_id)
    changes["updated_at"] = utcnow()
    await db.projects.update_one({"_id": project_id}, {"$set": changes})
    return {**project, **changes}


async def change_status(db: AsyncDatabase, project_id: int, *, status: str, day: dt.date, reason: str,
                        actor: str) -> dict:
    project = await get(db, project_id)
    history = [_dated(h) for h in project.get("status_history") or []]
    project_status.check_change(history, status, day, site_today())
    change = {"status": status, "date": day.isoformat(), "reason": reason, "by": actor, "at": utcnow()}
    new_history = history + [change]
    # Only if nobody changed the status meanwhile: two changes at once must not both pass the check.
    changes = {"status": status, "stop_periods": project_status.stop_periods(new_history), "updated_at": utcnow()}
    result = await db.projects.update_one(
        {"_id": project_id, "status": project["status"], "status_history": {"$size": len(history)}},
        {"$push": {"status_history": change}, "$set": changes})
    if result.matched_count == 0:
        raise Conflict("status", "项目状态刚被他人修改，请刷新后重试")
    return {**project, **changes, "status_history": [*project.get("status_history", []), change]}


def _dated(change: dict) -> dict:
    # Projects registered before changes were dated carry only the moment ("from"): its site day.
    if change.get("date") or not change.get("from"):
        return change
    return {**change, "date": site_day(change["from"]).isoformat()}


async def register_venue_code(db: AsyncDatabase, project_id: int, raw: dict, *, actor: str) -> dict:
    """场所码登记: the code ID from 粤省事, with the optional place name and its administrator."""
    code = raw.get("venue_code")
    if not isinstance(code, str) or not code.strip():
        raise RuleError("venue_code", "场所码必填")
    code = code.strip()
    if not _VENUE_CODE.match(code):
        raise RuleError("venue_code", "场所码 ID 只能包含字母、数字、_ 和 -，4–64 位")
    venue = {"code": code, "registered_at": utcnow(), "by": actor}
    for name, label in (("venue_name", "场所名称"), ("admin_name", "管理员姓名")):
        venue[name] = fields.text(raw, name, label, max_length=100) or ""
    mobile = raw.get("admin_mobile") or ""
    venue["admin_mobile"] = check_mobile(mobile, "admin_mobile") if mobile else ""
    day = raw.get("date") or ""
    venue["date"] = project_status.parse_day(day, "date").isoformat() if day else site_today().isoformat()
    project = await editable(db, project_id)
    changes = {"venue_code": code, "venue_code_date": venue["date"], "venue": venue, "updated_at": utcnow()}
    await db.projects.update_one({"_id": project_id}, {"$set": changes})
    return {**project, **changes}


_APPID = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")
_PLATFORM_CODE = re.compile(r"^[0-9A-Za-z-]{1,40}$")
_SECRET = re.compile(r"^[\x21-\x7e]{%d,128}$" % signing.KEY_BYTES)


async def set_province_credentials(db: AsyncDatabase, project_id: int, raw: dict, *, actor: str) -> dict:
    """省厅对接参数: the appid and appsecret the provincial platform issued for this project, and the
    project's code there (its 施工许可证号 when not given). The secret is kept for signing and never
    shown again (the view says only that one is set); the upload pipeline sends this project from
    its next pass."""
    appid = fields.matching(raw, "appid", "省厅 appid", _APPID, "只能包含字母、数字、_ . -，1–64 位", required=True)
    secret = raw.get("appsecret")
    if not isinstance(secret, str) or not secret:
        raise RuleError("appsecret", "省厅 appsecret 必填")
    if not _SECRET.match(secret):
        raise RuleError("appsecret", f"省厅 appsecret 须为 {signing.KEY_BYTES}–128 位可见字符（不含空格）")
    project = await editable(db, project_id)
    code = fields.matching(raw, "project_code", "省厅项目编码", _PLATFORM_CODE, "只能包含字母、数字和 -，1–40 位") \
        or project.get("permit_no") or str(project_id)
    province = {"appid": appid, "appsecret": secret, "project_code": code, "set_at": utcnow(), "by": actor}
    changes = {"province": province, "updated_at": utcnow()}
    await db.projects.update_one({"_id": project_id}, {"$set": changes})
    return {**project, **changes}


def province_view(project: dict) -> dict | None:
    """What anyone is shown of the credentials: never the secret."""
    province = project.get("province")
    if not province:
        return None
    return {"appid": province.get("appid", ""), "project_code": province.get("project_code", ""),
            "secret_set": bool(province.get("appsecret")), "set_at": province.get("set_at"), "by": province.get("by", "")}


def _coordinate(raw: dict, name: str, label: str, bounds: tuple[float, float]) -> float:
    value = raw.get(name)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise RuleError(name, f"{label}须为数字（度，如 113.081901）")
    if not bounds[0] <= value <= bounds[1]:
        raise RuleError(name, f"{label}须在中国境内（{bounds[0]}–{bounds[1]}）")
    return round(float(value), 6)


async def set_location(db: AsyncDatabase, project_id: int, raw: dict, *, actor: str) -> dict:
    location = {"longitude": _coordinate(raw, "longitude", "经度", LONGITUDE),
                "latitude": _coordinate(raw, "latitude", "纬度", LATITUDE), "set_at": utcnow(), "by": actor}
    project = await editable(db, project_id)
    changes = {"location": location, "updated_at": utcnow()}
    await db.projects.update_one({"_id": project_id}, {"$set": changes})
    return {**project, **changes}


async def issue_account(db: AsyncDatabase, project_id: int) -> tuple[str, str]:
    """A new project account (发账号): xm<number>, then xm<number>-2, -3 ... for further staff.

    Returns (username, initial password); the password is shown once by the caller and kept
    nowhere (only its hash), and must be changed at first login.
    """
    await editable(db, project_id)
    base = f"xm{project_id:06d}"
    for n in range(1, 100):
        username = base if n == 1 else f"{base}-{n}"
        if await accounts.by_username(db, username) is not None:
            continue
        try:
            account, password = await accounts.create_account(db, username=username, role="project",
                                                              project_id=project_id, must_change_password=True)
        except accounts.AccountError as exc:
            if "已存在" in exc.message:
                continue  # taken meanwhile by another issue
            raise
        return account["username"], password
    raise Conflict("project_id", "该项目的账号数量已达上限")


# --- the library list ----------------------------------------------------------------------------

UNIT_COLUMNS = {"general_contractor": vocabulary.GENERAL_CONTRACTOR, "builder_unit": vocabulary.BUILDER,
                "supervising_unit": vocabulary.SUPERVISOR}


async def unit_names(db: AsyncDatabase, project_ids: list[int]) -> dict[int, dict[str, str]]:
    """Per project, the enterprise names of its general contractor, builder and supervising unit."""
    wanted = {v: k for k, v in UNIT_COLUMNS.items()}
    out: dict[int, dict[str, list[str]]] = {}
    async for unit in db.units.find({"project_id": {"$in": project_ids}},
                                    {"project_id": 1, "unit_type": 1, "enterprise_name": 1, "exit_date": 1}):
        key = wanted.get(unit.get("unit_type"))
        if key and unit.get("exit_date") is None:
            out.setdefault(unit["project_id"], {}).setdefault(key, []).append(unit.get("enterprise_name", ""))
    return {pid: {k: "、".join(v) for k, v in cols.items()} for pid, cols in out.items()}


async def scoped(db: AsyncDatabase, principal: access.Principal, project_id: int,
                 projection: dict | None = None) -> dict | None:
    """The project when it exists and the principal may see it; None otherwise, so that callers
    answer an out-of-scope project exactly like a missing one."""
    query = access.restrict(access.project_filter(principal), _id=project_id)
    return await db.projects.find_one(query, projection) if query is not None else None


async def visible_ids(db: AsyncDatabase, principal: access.Principal, project_ids: Iterable[int | None]) -> set[int]:
    """Those of the projects that exist and that the principal may see."""
    ids = sorted({p for p in project_ids if p is not None})
    query = access.restrict(access.project_filter(principal), _id={"$in": ids})
    return {p["_id"] async for p in db.projects.find(query, {"_id": 1})} if query is not None and ids else set()
def list_count_queries(day: dt.date) -> dict[str, tuple[str, list[dict]]]:
    """The project list's figures per project: (collection, pipeline) for current workers, devices in
    service and real punches today. Test-environment punches are left out (they are 联调 data)."""
    def per_project(match: dict) -> list[dict]:
        return [{"$match": match}, {"$group": {"_id": "$project_id", "n": {"$sum": 1}}}]
    return {"workers": ("roster", per_project(dict(CURRENT))),
            "devices": ("devices", per_project(dict(devices.ACTIVE))),
            "punches_today": ("punches", per_project({"date": day.isoformat(), "test": False}))}


async def list_counts(db: AsyncDatabase, day: dt.date) -> dict[str, dict[int, int]]:
    """name → {project_id: n} for each of list_count_queries."""
    counts = {}
    for name, (collection, pipeline) in list_count_queries(day).items():
        counts[name] = {d["_id"]: d["n"] async for d in await db[collection].aggregate(pipeline)}
    return counts


def search_query(scope: dict, *, county: str = "", status: str = "", q: str = "") -> dict | None:
    """The projects of a scope (access.project_filter) narrowed by county, status and a name part
    (or, for digits, the project number too); None when the scope and the county exclude each other."""
    query = access.restrict(scope, county=county) if county else dict(scope)
    if query is None:
        return None
    if status:
        query["status"] = status
    if q:
        by_name = {"name": {"$regex": re.escape(q)}}
        query = {"$and": [query, {"$or": [by_name, {"_id": int(q)}]} if q.isdigit() and len(q) < 12 else by_name]}
    return query


def key_count_queries(project_ids: list[int]) -> dict[str, tuple[str, list[dict]]]:
    """name → (collection, pipeline) counting, per project, the units, teams and roster entries not exited.

    The roster matches on its current_by_project index (exit_date, project_id). Units and teams have
    no index with exit_date and the embedded planner scans the collection for $in plus a second
    predicate, so they match on the project only (a project has tens of them) and count the ones
    still in site in the $group ($ifNull: a missing exit_date is in site too)."""
    in_site = {"$cond": [{"$eq": [{"$ifNull": ["$exit_date", None]}, None]}, 1, 0]}
    by_project = [{"$match": {"project_id": {"$in": project_ids}}},
                  {"$group": {"_id": "$project_id", "n": {"$sum": in_site}}}]
    return {"units": ("units", by_project), "teams": ("teams", by_project),
            "workers": ("roster", [{"$match": {"exit_date": None, "project_id": {"$in": project_ids}}},
                                   {"$group": {"_id": "$project_id", "n": {"$sum": 1}}}])}


async def key_counts(db: AsyncDatabase, project_ids: list[int], day: dt.date) -> dict[int, dict[str, int]]:
    """Per project: 参建单位 and 班组 in site, people on site (在场人数) and real punches that day.

    For a page of projects, not the city: units, teams and the current roster in one aggregation
    each (key_count_queries); the day's punches are counted per project on the exact (project_id, date, test) prefix of
    project_day, so only that project's punches of that day are read.
    """
    out = {pid: {"units": 0, "teams": 0, "workers": 0, "punches_today": 0} for pid in project_ids}
    if not project_ids:
        return out
    for name, (collection, pipeline) in key_count_queries(project_ids).items():
        async for d in await db[collection].aggregate(pipeline):
            out[d["_id"]][name] = d["n"]
    for pid in project_ids:
        out[pid]["punches_today"] = await db.punches.count_documents(attendance.day_query(pid, day))
    return out


async def library(db: AsyncDatabase, scope: dict, *, county: str = "", status: str = "", q: str = "") -> list[dict]:
    """The projects of a scope (access.project_filter), filtered as the library's search form asks."""
    query = search_query(scope, county=county, status=status, q=q)
    if query is None:
        return []
    projects = [p async for p in db.projects.find(query, {"status_history": 0}).sort("_id", 1)]
    units = await unit_names(db, [p["_id"] for p in projects])
    for p in projects:
        p.update({k: "" for k in UNIT_COLUMNS}, **units.get(p["_id"], {}))
    return projects


def view(project: dict, *, full: bool = False) -> dict:
    """What the API and pages show of a project; the applicant's mobile is masked."""
    out = {"id": project["_id"], "name": project["name"], "county": project["county"], "status": project["status"],
           "category": project.get("category", ""), "permit_no": project.get("permit_no", ""),
           "address": project.get("address", ""), "supplier": project.get("supplier", ""),
           "planned_start": project.get("planned_start", ""), "builder": project.get("builder", ""),
           "venue_code": project.get("venue_code", ""), "venue_code_date": project.get("venue_code_date", ""),
           "location": _location_view(project.get("location")),
           "stop_periods": project.get("stop_periods", []),
           "declaration_id": str(project["declaration_id"]) if project.get("declaration_id") else None}
    for key in UNIT_COLUMNS:
        if key in project:
            out[key] = project[key]
    if "_qualified" in project:  # 项目是否上传 (store/qualification.attach)
        out["qualified"], out["qualification_reasons"] = project["_qualified"], project["_qualification_reasons"]
    if full:
        venue = project.get("venue") or {}
        out["description"] = project.get("description", "")
        out["venue"] = {"code": venue.get("code", ""), "venue_name": venue.get("venue_name", ""),
                        "admin_name": venue.get("admin_name", ""),
                        "admin_mobile": mask_mobile(venue.get("admin_mobile", "")) if venue.get("admin_mobile") else "",
                        "date": venue.get("date", "")}
        out["status_history"] = [{"status": h["status"], "date": h.get("date", ""), "reason": h.get("reason", ""),
                                  "by": h.get("by", "")} for h in map(_dated, project.get("status_history", []))]
        applicant = project.get("applicant") or {}
        out["applicant"] = {"name": applicant.get("name", ""),
                            "mobile": mask_mobile(applicant.get("mobile", "")) if applicant.get("mobile") else "",
                            "email": mask_email(applicant.get("email", "")) if applicant.get("email") else ""}
        out["created_at"] = project.get("created_at")
        out["province"] = province_view(project)
    return out


def _location_view(location: dict | None) -> dict | None:
    if not location:
        return None
    return {"longitude": location["longitude"], "latitude": location["latitude"]}
