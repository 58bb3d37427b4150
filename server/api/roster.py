"""项目人员花名册 over HTTP: list and search, entry from the person library, exit and batch exit,
Excel export (masked unless asked and allowed, then audited), the batch-entry template and import.
"""
from __future__ import annotations

import re

from ..domain.identity import mask_id_number
from ..domain.rules import RuleError
from ..domain.site_clock import site_day, site_today
from ..store import fields, roster_entries, roster_import
from .csrf import MULTIPART
from .transport import upload_body_limit
from .base import APIError, APIHandler, requires
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import (BOOL, DATE, INT, STR, arr, enum, nullable, obj, operation, path_param, query_param)

# Largest Excel upload for 批量人员进场 (5 000 rows of text are well under 1 MB).
IMPORT_MAX_BYTES = 5 * 1024 * 1024
MAX_BATCH = 500
_STATUS_WORDS = {"in_site": "在场", "exited": "退场"}


def entry_view(row: dict, *, unmasked: bool = False) -> dict:
    id_number = row.get("id_number", "")
    return {"worker_no": row["worker_no"], "name": row.get("name", ""),
            "id_number": id_number if unmasked else mask_id_number(id_number),
            "sex": {"1": "男", "0": "女"}.get(row.get("sex", ""), ""),
            "unit_id": str(row["unit_id"]), "unit_name": row.get("unit_name", ""),
            "team_id": str(row["team_id"]), "team_name": row.get("team_name", ""), "job": row["job"],
            "entry_date": site_day(row["entry_date"]), "exit_date": site_day(row.get("exit_date")),
            "status": "退场" if row.get("exit_date") else "在场"}


def worker_numbers(value, name: str = "worker_nos") -> list[int]:
    """A list of worker numbers from JSON: numbers, digit strings, or one text of numbers separated
    by commas, spaces or new lines (the enter form's text box)."""
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,，;；、]+", value) if v]
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        raise APIError(400, "invalid_argument", "请至少填写一个工人编号", field=name)
    if len(value) > MAX_BATCH:
        raise APIError(400, "invalid_argument", f"一次最多 {MAX_BATCH} 人", field=name)
    numbers = []
    for v in value:
        if isinstance(v, bool) or not (isinstance(v, int) or (isinstance(v, str) and v.strip().isdigit())):
            raise APIError(400, "invalid_argument", f"工人编号须为数字（{str(v)[:20]}）", field=name)
        number = int(v)
        if not 1 <= number <= 0xFFFFFFFF:
            raise APIError(400, "invalid_argument", f"工人编号超出范围（{number}）", field=name)
        if number not in numbers:
            numbers.append(number)
    return numbers


class _ProjectRoster(APIHandler):
    async def project(self, project_id: str) -> dict:
        return await self.scoped_project(self.int_argument("project_id", project_id), {"name": 1, "county": 1})

    def filters(self) -> dict:
        status = self.get_query_argument("status", "in_site")
        if status not in roster_entries.STATUSES:
            raise APIError(400, "invalid_argument", "须为 in_site、exited 或 all", field="status")
        out = {"q": self.get_query_argument("q", "")[:40], "status": status,
               "job": self.get_query_argument("job", "")[:40]}
        for name in ("unit_id", "team_id"):
            value = self.get_query_argument(name, "")
            out[name] = fields.object_id(value, name, "编号") if value else None
        return out


class RosterHandler(_ProjectRoster):
    @requires("workforce:read")
    async def get(self, project_id: str):
        project = await self.project(project_id)
        page = self.int_argument("page", self.get_query_argument("page", "1")) or 1
        per_page = min(max(self.int_argument("per_page", self.get_query_argument("per_page", "50")), 1), 200)
        rows, total = await roster_entries.search(self.db, project["_id"], **self.filters(),
                                                  skip=(page - 1) * per_page, limit=per_page)
        self.write_json({"project_id": project["_id"], "total": total, "page": page, "per_page": per_page,
                         "entries": [entry_view(r) for r in rows]})

    @requires("workforce:write")
    async def post(self, project_id: str):
        """人员进场: one or several people from the person library into one team with one job."""
        project = await self.project(project_id)
        body = self.json_body()
        field = "worker_no" if "worker_no" in body else "worker_nos"
        numbers = worker_numbers(body.get(field), field)
        team_id = fields.object_id(self.text_field(body, "team_id"), "team_id", "班组")
        unit_id = fields.object_id(body["unit_id"], "unit_id", "参建单位") if body.get("unit_id") else None
        job = self.optional_text(body, "job", 40)
        entry_date = self.date_field(body, "entry_date", required=False)
        results = []
        for number in numbers:
            try:
                await roster_entries.enter_person(self.db, project_id=project["_id"], worker_no=number,
                                                  team_id=team_id, unit_id=unit_id, job=job, entry_date=entry_date,
                                                  by=self.principal.name)
                results.append({"worker_no": number, "ok": True, "field": None, "message": "已进场"})
            except RuleError as exc:
                # Place and date problems are the same for everyone: say them once, beside the field.
                if len(numbers) == 1 and exc.field == "worker_no":
                    raise RuleError(field, exc.message, exc.code, exc.status) from None
                if len(numbers) == 1 or exc.field != "worker_no":
                    raise
                results.append({"worker_no": number, "ok": False, "field": exc.field, "message": exc.message})
        entered = [r["worker_no"] for r in results if r["ok"]]
        if entered:
            await self.audit("roster_entry", {"project_id": project["_id"]}, worker_nos=entered, team_id=str(team_id),
                             job=job, entry_date=(entry_date or site_today()).isoformat())
        entered = len(entered)
        self.write_json({"entered": entered, "failed": len(results) - entered, "results": results})


class RosterOptionsHandler(_ProjectRoster):
    @requires("workforce:read")
    async def get(self, project_id: str):
        project = await self.project(project_id)
        self.write_json({"project_id": project["_id"], "units": await roster_entries.placement_options(
            self.db, project["_id"])})


class RosterExitHandler(_ProjectRoster):
    @requires("workforce:write")
    async def post(self, project_id: str):
        """退场 / 批量退场: one exit date for every listed person, with a result per person."""
        project = await self.project(project_id)
        body = self.json_body()
        numbers = worker_numbers(body.get("worker_nos"))
        exit_date = self.date_field(body, "exit_date", required=False)
        results = await roster_entries.exit_many(self.db, project_id=project["_id"], worker_nos=numbers,
                                                 exit_date=exit_date)
        if len(results) == 1 and not results[0]["ok"]:
            raise RuleError(results[0]["field"], results[0]["message"])
        exited = [r["worker_no"] for r in results if r["ok"]]
        if exited:
            await self.audit("roster_exit", {"project_id": project["_id"]}, worker_nos=exited,
                             exit_date=(exit_date or site_today()).isoformat())
        exited = len(exited)
        self.write_json({"exited": exited, "failed": len(results) - exited, "results": results})


EXPORT_HEADERS = ("工人编号", "姓名", "身份证号码", "性别", "参建单位", "班组", "工种/岗位", "进场日期", "退场日期", "状态")


class RosterExportHandler(_ProjectRoster):
    @requires("workforce:read")
    async def get(self, project_id: str):
        """导出: the roster under the current filters; ID numbers masked unless unmask=true (audited)."""
        project = await self.project(project_id)
        unmask = await self.wants_unmasked()
        filters = self.filters()
        rows, total = await roster_entries.search(self.db, project["_id"], **filters, limit=None)
        if unmask:
            await self.audit("roster_export_unmasked", {"project_id": project["_id"]}, rows=total,
                             filters={k: str(v) for k, v in filters.items() if v})
        views = [entry_view(r, unmasked=unmask) for r in rows]
        data = xlsx_bytes("项目人员花名册", EXPORT_HEADERS, (
            (v["worker_no"], v["name"], v["id_number"], v["sex"], v["unit_name"], v["team_name"], v["job"],
             v["entry_date"], v["exit_date"], v["status"]) for v in views))
        self.send_download(data, export_filename(f"项目人员花名册_{project['_id']}"), XLSX_TYPE)


class RosterTemplateHandler(APIHandler):
    @requires("workforce:read")
    async def get(self):
        self.send_download(roster_import.template_bytes(), "批量人员进场模板.xlsx", XLSX_TYPE)


class RosterImportHandler(_ProjectRoster):
    body_types = (MULTIPART,)
    @classmethod
    def body_limit(cls, config) -> int:
        return upload_body_limit(IMPORT_MAX_BYTES)

    @requires("workforce:write")
    async def post(self, project_id: str):
        """批量人员进场: the workbook is kept and a worker job reads and enters it; the reply is its address."""
        project = await self.project(project_id)
        data, _ = self.uploaded_file("file", max_bytes=IMPORT_MAX_BYTES, kinds=("xlsx",))
        job_id = await roster_import.start_import(self.db, project_id=project["_id"], data=data,
                                                  by=self.principal.name)
        await self.audit("roster_import", {"project_id": project["_id"]}, job_id=str(job_id), bytes=len(data))
        url = f"/api/imports/{job_id}"
        self.set_header("Location", url)
        self.write_json({"job_id": str(job_id), "job_url": url, "state": "queued", "total": None}, status=202)


default_handlers = [
    (r"/api/projects/([0-9]+)/roster", RosterHandler),
    (r"/api/projects/([0-9]+)/roster/options", RosterOptionsHandler),
    (r"/api/projects/([0-9]+)/roster/exit", RosterExitHandler),
    (r"/api/projects/([0-9]+)/roster/export", RosterExportHandler),
    (r"/api/projects/([0-9]+)/roster/import", RosterImportHandler),
    (r"/api/roster/template", RosterTemplateHandler),
]

ENTRY = obj(["worker_no", "name", "id_number", "unit_id", "team_id", "job", "entry_date", "status"],
            worker_no=INT, name=STR, id_number=STR, sex=STR, unit_id=STR, unit_name=STR, team_id=STR,
            team_name=STR, job=STR, entry_date=DATE, exit_date=nullable(DATE), status=enum("在场", "退场"))
RESULT = obj(["worker_no", "ok", "message"], worker_no=INT, ok=BOOL, field=nullable(STR), message=STR)
_FILTERS = [query_param("q", STR, "姓名、工人编号或完整身份证号码"), query_param("unit_id", STR, "参建单位"),
            query_param("team_id", STR, "班组"), query_param("job", STR, "工种/岗位"),
            query_param("status", enum(*roster_entries.STATUSES), "在场 in_site（默认）/ 退场 exited / 全部 all")]
_WORKERS = {"oneOf": [arr(INT), INT, STR]}
_TAG = "项目人员花名册"
openapi = {
    "/api/projects/{project_id}/roster": {
        "get": operation("项目人员花名册（分页，可按姓名/工人编号/参建单位/班组/在场状态查询；身份证号码脱敏）", tag=_TAG,
                         params=[path_param("project_id"), *_FILTERS, query_param("page", INT),
                                 query_param("per_page", INT, "每页条数，最多 200")],
                         response=obj(["project_id", "total", "page", "per_page", "entries"], project_id=INT,
                                      total=INT, page=INT, per_page=INT, entries=arr(ENTRY))),
        "post": operation("人员进场：人员库中的人员进入参建单位 → 班组 → 工种/岗位（可多人；仅一人时失败直接返回错误）",
                          tag=_TAG, params=[path_param("project_id")],
                          body=obj(["team_id"], worker_no=INT, worker_nos=_WORKERS, unit_id=STR, team_id=STR,
                                   job=STR, entry_date=DATE),
                          response=obj(["entered", "failed", "results"], entered=INT, failed=INT, results=arr(RESULT)),
                          errors=(400, 401, 403, 404, 409))},
    "/api/projects/{project_id}/roster/options": {"get": operation(
        "人员进场的可选项：已进场的参建单位 → 班组 → 工种/岗位", tag=_TAG,
        params=[path_param("project_id")],
        response=obj(["project_id", "units"], project_id=INT, units=arr(obj(
            ["id", "name", "unit_type", "teams"], id=STR, name=STR, unit_type=STR, teams=arr(obj(
                ["id", "name", "kind", "jobs"], id=STR, name=STR, kind=STR, jobs=arr(STR)))))))},
    "/api/projects/{project_id}/roster/exit": {"post": operation(
        "退场 / 批量退场：同一退场日期，逐人返回结果（仅一人时失败直接返回错误）", tag=_TAG,
        params=[path_param("project_id")], body=obj(["worker_nos"], worker_nos=_WORKERS, exit_date=DATE),
        response=obj(["exited", "failed", "results"], exited=INT, failed=INT, results=arr(RESULT)))},
    "/api/projects/{project_id}/roster/export": {"get": operation(
        "导出项目人员花名册（当前筛选条件；身份证号码默认脱敏，unmask=true 需 people:unmask 并记入审计）", tag=_TAG,
        params=[path_param("project_id"), *_FILTERS, query_param("unmask", enum("true", "false"))],
        download=XLSX_TYPE)},
    "/api/projects/{project_id}/roster/import": {"post": operation(
        "批量人员进场：上传 Excel（模板见 /api/roster/template），返回 202 与进度地址 job_url（由后台任务读取并进场；total 在读取后于进度中给出）", tag=_TAG,
        params=[path_param("project_id")], status=202,
        multipart=obj(["file"], file={"type": "string", "format": "binary"}),
        response=obj(["job_id", "job_url", "state", "total"], job_id=STR, job_url=STR, state=STR,
                     total=nullable(INT)),
        errors=(400, 401, 403, 404, 413))},
    "/api/roster/template": {"get": operation(
        "下载批量人员进场 Excel 模板（第 1 行列名，第 2 行填写说明）", tag=_TAG,
        errors=(), download=XLSX_TYPE)},
}
