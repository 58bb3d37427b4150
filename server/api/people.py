"""The person library over HTTP; ID numbers and addresses masked unless the principal may and asks."""
from __future__ import annotations

from ..domain.contact import mask_address, mask_mobile
from ..domain.identity import current_warnings, mask_id_number
from ..domain.nations import nation_name
from .. import access
from ..domain.person_card import PERSON_FIELDS
from ..domain.site_clock import site_day
from ..store import contracts as contract_store, people, projects, roster, roster_entries
from .base import APIError, APIHandler, BaseHandler, requires
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import (BOOL, DATE, DATETIME, INT, NUM, STR, arr, enum, nullable, obj, operation, path_param,
                      query_param)


def person_view(person: dict, *, unmasked: bool) -> dict:
    id_number = person["id_number"]
    address = person.get("address", "")
    return {
        "worker_no": person["worker_no"], "name": person.get("name", ""),
        "id_number": id_number if unmasked else mask_id_number(id_number),
        "sex": {"1": "男", "0": "女"}.get(person.get("sex", ""), ""),
        "nation": nation_name(person.get("nation", "")) or "",
        "address": address if unmasked else mask_address(address),
        "birth_date": _card_date(person.get("birth_date", "")),
        "phone": person.get("phone", "") if unmasked else mask_mobile(person.get("phone", "")) if person.get("phone") else "",
        "has_id_photo": bool(person.get("id_photo_id")), "has_capture_photo": bool(person.get("capture_photo_id")),
        "id_warnings": current_warnings(id_number, person.get("id_warnings", [])), "created_at": person.get("created_at"),
        "masked": not unmasked,
    }


def _card_date(value: str) -> str:
    # ID cards write dates as YYYYMMDD; people read YYYY-MM-DD.
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


async def scope_worker_nos(db, principal) -> list[int] | None:
    """Worker numbers a scoped principal may list (people entered, now or before, on a project in
    scope, and people such a project added); None for principals that see the whole library."""
    scope = access.project_filter(principal)
    if not scope:
        return None
    project_ids = [p["_id"] async for p in db.projects.find(scope, {"_id": 1})]
    if not project_ids:
        return []
    entered = await db.roster.distinct("worker_no", roster.projects_entries_query(project_ids))
    added = await db.people.distinct("worker_no", people.added_by_projects_query(project_ids))
    return sorted(set(entered) | set(added))


async def person_in_scope(db, principal, person: dict) -> bool:
    """Scoped principals see people who are or were entered on a project they can see, and the
    people their own project added to the library (about to be entered)."""
    if not access.project_filter(principal):
        return True
    # By person (the career index), not by project: that index answers this filter exactly.
    project_ids = {r["project_id"] async for r in db.roster.find(roster.person_entries_query(person["_id"]), {"project_id": 1})}
    created_on = (person.get("created_from") or {}).get("project_id")
    if created_on is not None:
        project_ids.add(created_on)
    return bool(await projects.visible_ids(db, principal, project_ids))


async def person_history(db, principal, person: dict) -> dict:
    """Career across projects (花名册 entries) and contracts; scoped principals see their projects' part."""
    entries = await roster_entries.career(db, person["_id"])
    visible = await projects.visible_ids(db, principal, {e["project_id"] for e in entries})
    career = [{"project_id": e["project_id"], "project_name": e["project_name"], "unit_name": e["unit_name"],
               "team_name": e["team_name"], "job": e["job"], "entry_date": site_day(e["entry_date"]),
               "exit_date": site_day(e.get("exit_date")), "status": "退场" if e.get("exit_date") else "在场"}
              for e in entries if e["project_id"] in visible]
    # Contracts are kept by the contracts module (合同管理), newest first.
    contracts = await contract_store.for_person(db, person["worker_no"])
    visible_c = await projects.visible_ids(db, principal, {c.get("project_id") for c in contracts})
    return {"worker_no": person["worker_no"], "career": career, "contracts": [
        {"id": str(c["_id"]), "project_id": c.get("project_id"), "project_name": c.get("project_name", ""),
         "enterprise_name": c.get("enterprise_name", ""), "term_type": c.get("term_type", ""),
         "effective_date": site_day(c.get("effective_date")), "expiry_date": site_day(c.get("expiry_date")),
         "pay_unit": c.get("pay_unit", ""), "unit_price": c.get("unit_price")}
        for c in contracts if c.get("project_id") in visible_c]}


class _PersonBase(APIHandler):
    async def person_in_scope(self, worker_no: str, projection: dict | None = None) -> dict:
        number = self.int_argument("worker_no", worker_no)
        person = await people.by_worker_no(self.db, number, projection)
        if person is None or not await person_in_scope(self.db, self.principal, person):
            raise APIError(404, "not_found", f"工人编号 {number} 不存在", field="worker_no")
        return person


class PersonHandler(_PersonBase):
    @requires("people:read")
    async def get(self, worker_no: str):
        unmask = await self.wants_unmasked()
        person = await self.person_in_scope(worker_no)
        if unmask:
            await self.audit("person_view_unmasked", {"worker_no": person["worker_no"]})
        self.write_json(person_view(person, unmasked=unmask))


async def search_people(handler: BaseHandler, *, skip: int, limit: int) -> tuple[list[dict], int]:
    """The people ?q= names, within the caller's scope (a full ID number searches the whole library)."""
    q = handler.get_query_argument("q", "").strip()[:40]
    scope = None if len(q) == 18 else await scope_worker_nos(handler.db, handler.principal)
    return await people.search(handler.db, q, worker_nos=scope, skip=skip, limit=limit)


EXPORT_MAX = 20_000
EXPORT_HEADERS = ("工人编号", "姓名", "身份证号码", "性别", "民族", "出生日期", "住址", "手机号码", "证件核对", "入库时间")


class PeopleExportHandler(APIHandler):
    @requires("people:read")
    async def get(self):
        """人员库导出: the rows the search shows, masked unless ?unmask=true (people:unmask, audited)."""
        unmask = await self.wants_unmasked()
        rows, _ = await search_people(self, skip=0, limit=EXPORT_MAX)
        await self.audit("people_export_unmasked" if unmask else "people_export", None, rows=len(rows))
        views = [person_view(p, unmasked=unmask) for p in rows]
        data = [[v["worker_no"], v["name"], v["id_number"], v["sex"], v["nation"], v["birth_date"], v["address"],
                 v["phone"], "待复核" if "area_code_unknown" in v["id_warnings"] else "", v["created_at"]]
                for v in views]
        self.send_download(xlsx_bytes("人员库", list(EXPORT_HEADERS), data), export_filename("人员库"), XLSX_TYPE)


class PeopleHandler(APIHandler):
    @requires("people:read")
    async def get(self):
        """人员库查询: worker number, full ID number (library-wide: whoever holds the card may find the
        person to enter them) or name prefix (within scope); always masked."""
        page = self.int_argument("page", self.get_query_argument("page", "1")) or 1
        per_page = min(max(self.int_argument("per_page", self.get_query_argument("per_page", "50")), 1), 200)
        rows, total = await search_people(self, skip=(page - 1) * per_page, limit=per_page)
        self.write_json({"total": total, "page": page, "per_page": per_page,
                         "people": [person_view(p, unmasked=False) for p in rows]})

    @requires("workforce:write")
    async def post(self):
        """人员库新增: a person typed in from the ID card; the number is checked (GB 11643)."""
        body = self.json_body()
        raw = {name: self.optional_text(body, name, 120) for name in PERSON_FIELDS + ("id_number",)}
        person = await people.create_person(self.db, raw, source={
            "by": self.principal.name, "project_id": self.principal.project_id})
        await self.audit("person_add", {"worker_no": person["worker_no"]}, name=person.get("name", ""),
                         id_number=mask_id_number(person["id_number"]))
        self.set_header("Location", f"/api/people/{person['worker_no']}")
        self.write_json(person_view(person, unmasked=False), status=201)


class PersonHistoryHandler(_PersonBase):
    @requires("people:read")
    async def get(self, worker_no: str):
        person = await self.person_in_scope(worker_no, {"worker_no": 1, "created_from": 1})
        self.write_json(await person_history(self.db, self.principal, person))


default_handlers = [(r"/api/people", PeopleHandler), (r"/api/people/export", PeopleExportHandler),
                    (r"/api/people/([0-9]+)", PersonHandler),
                    (r"/api/people/([0-9]+)/history", PersonHistoryHandler)]

PERSON = obj(["worker_no", "name", "id_number", "masked"], worker_no=INT, name=STR, id_number=STR, sex=STR,
             nation=STR, address=STR, birth_date=STR, phone=STR, has_id_photo=BOOL, has_capture_photo=BOOL, id_warnings=arr(STR),
             created_at=nullable(DATETIME), masked=BOOL)
_CAREER = obj(["project_id", "project_name", "job", "entry_date", "status"], project_id=INT, project_name=STR,
              unit_name=STR, team_name=STR, job=STR, entry_date=DATE, exit_date=nullable(DATE), status=STR)
_CONTRACT = obj(["id"], id=STR, project_id=nullable(INT), project_name=STR, enterprise_name=STR, term_type=STR,
                effective_date=nullable(DATE), expiry_date=nullable(DATE), pay_unit=STR, unit_price=nullable(NUM))
_PAGING = [query_param("page", INT), query_param("per_page", INT, "每页条数，最多 200")]
openapi = {
    "/api/people": {
        "get": operation("人员库查询（工人编号、完整身份证号码或姓名前缀；结果脱敏）", tag="人员库",
                         params=[query_param("q", STR, "工人编号 / 身份证号码 / 姓名"), *_PAGING], errors=(400, 401, 403),
                         response=obj(["total", "page", "per_page", "people"], total=INT, page=INT, per_page=INT,
                                      people=arr(PERSON))),
        "post": operation("人员库新增（身份证号码按 GB 11643 校验；地区码未知只作提示 id_warnings）", tag="人员库",
                          status=201, errors=(400, 401, 403, 409),
                          body=obj(["id_number", "name"], id_number=STR, name=STR, sex=enum("男", "女", ""), nation=STR,
                                   birth_date=STR, address=STR, phone=STR),
                          response=PERSON)},
    "/api/people/export": {"get": operation(
        "人员库导出 Excel（与查询相同的范围；默认脱敏，unmask=true 需权限并记入审计）", tag="人员库",
        params=[query_param("q", STR, "工人编号 / 身份证号码 / 姓名"), query_param("unmask", enum("true", "false"))],
        errors=(400, 401, 403), download=XLSX_TYPE)},
    "/api/people/{worker_no}": {"get": operation(
        "人员库：一名人员（默认脱敏；unmask=true 需权限并记入审计）", tag="人员库",
        params=[path_param("worker_no"), query_param("unmask", enum("true", "false"))], response=PERSON)},
    "/api/people/{worker_no}/history": {"get": operation(
        "人员的从业经历（各项目进退场记录）与合同", tag="人员库",
        params=[path_param("worker_no")],
        response=obj(["worker_no", "career", "contracts"], worker_no=INT, career=arr(_CAREER), contracts=arr(_CONTRACT)))},
}
