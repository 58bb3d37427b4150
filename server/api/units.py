"""项目参建单位管理 over HTTP: add from the enterprise library, edit, exit, delete, list and export.

Project accounts work on their own project, supervisors read the projects in their scope; an
out-of-scope project answers 404 as if absent. The 项目经理 ID number is masked unless the caller
may unmask personal data and asks to (?unmask=true), which is audited.
"""
from __future__ import annotations

from ..domain.audit_actions import changes
from ..domain import vocabulary
from ..store import units
from .base import requires
from .enterprises import OBJECT_ID
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import BOOL, DATE, INT, STR, arr, enum, nullable, obj, operation, path_param, query_param
from .projects import ProjectScopedHandler


class _UnitBase(ProjectScopedHandler):
    async def list_rows(self, pid: int) -> list[dict]:
        return await units.list_units(
            self.db, pid, unit_type=self.filter_argument("unit_type", vocabulary.UNIT_TYPES),
            status=self.filter_argument("status", (units.IN_SITE, units.LEFT)),
            keyword=self.get_query_argument("q", "").strip()[:100])


class UnitsHandler(_UnitBase):
    @requires("workforce:read")
    async def get(self, raw_pid: str):
        pid = await self.project_id(raw_pid)
        rows = [units.view(u) for u in await self.list_rows(pid)]
        self.write_json({"project_id": pid, "units": rows, "count": len(rows)})

    @requires("workforce:write")
    async def post(self, raw_pid: str):
        pid = await self.project_id(raw_pid)
        unit = await units.add(self.db, pid, self.json_body(), by=self.principal.name)
        await self.audit("unit_add", {"project_id": pid, "unit_id": str(unit["_id"])}, unit_type=unit["unit_type"])
        self.write_json(units.view(await units.detail(self.db, pid, unit["_id"])), status=201)


class UnitsExportHandler(_UnitBase):
    @requires("workforce:read")
    async def get(self, raw_pid: str):
        pid = await self.project_id(raw_pid)
        unmask = await self.wants_unmasked()
        rows = [units.view(u, unmasked=unmask) for u in await self.list_rows(pid)]
        if unmask:
            await self.audit("units_export_unmasked", {"project_id": pid}, rows=len(rows))
        headers = ["序号", "参建单位", "统一社会信用代码", "参建类型", "项目经理名称", "项目经理证件类型", "项目经理证件号码",
                   "项目经理电话", "进退场状态", "进场时间", "退场时间", "在场人数"]
        data = [[i, r["enterprise_name"], r["credit_code"], r["unit_type"], r["manager_name"], r["manager_id_type"],
                 r["manager_id_number"], r["manager_phone"], r["status"], r["entry_date"], r["exit_date"],
                 r["people_in_site"]] for i, r in enumerate(rows, 1)]
        self.send_download(xlsx_bytes("参建单位", headers, data), export_filename(f"参建单位_{pid}"), XLSX_TYPE)


class UnitHandler(ProjectScopedHandler):
    @requires("workforce:read")
    async def get(self, raw_pid: str, raw_id: str):
        pid, unit_id = await self.project_record(raw_pid, raw_id, "unit_id", "参建单位")
        unmask = await self.wants_unmasked()
        unit = await units.detail(self.db, pid, unit_id)
        if unmask:
            await self.audit("unit_view_unmasked", {"project_id": pid, "unit_id": raw_id})
        self.write_json(units.view(unit, unmasked=unmask))

    @requires("workforce:write")
    async def patch(self, raw_pid: str, raw_id: str):
        pid, unit_id = await self.project_record(raw_pid, raw_id, "unit_id", "参建单位")
        body = self.json_body()
        before = await units.get(self.db, pid, unit_id)
        await units.update(self.db, pid, unit_id, body)
        after = await units.detail(self.db, pid, unit_id)
        await self.audit("unit_edit", {"project_id": pid, "unit_id": raw_id}, changes=changes(before, after))
        self.write_json(units.view(after))

    @requires("workforce:write")
    async def delete(self, raw_pid: str, raw_id: str):
        pid, unit_id = await self.project_record(raw_pid, raw_id, "unit_id", "参建单位")
        await units.delete(self.db, pid, unit_id)
        await self.audit("unit_delete", {"project_id": pid, "unit_id": raw_id})
        self.write_json({"deleted": True, "id": raw_id})


class UnitExitHandler(ProjectScopedHandler):
    @requires("workforce:write")
    async def post(self, raw_pid: str, raw_id: str):
        pid, unit_id = await self.project_record(raw_pid, raw_id, "unit_id", "参建单位")
        await units.exit_unit(self.db, pid, unit_id, self.json_body())
        await self.audit("unit_exit", {"project_id": pid, "unit_id": raw_id})
        self.write_json(units.view(await units.detail(self.db, pid, unit_id)))


# Any other text than "export" is an id (a malformed one answers 404, not "no such route").
ID = r"((?!export$)[^/]+)"
default_handlers = [
    (r"/api/projects/([0-9]+)/units", UnitsHandler),
    (r"/api/projects/([0-9]+)/units/export", UnitsExportHandler),
    (rf"/api/projects/([0-9]+)/units/{ID}/exit", UnitExitHandler),
    (rf"/api/projects/([0-9]+)/units/{ID}", UnitHandler),
]

UNIT = obj(["id", "project_id", "enterprise_id", "enterprise_name", "unit_type", "status", "entry_date"],
           id=STR, project_id=INT, enterprise_id=STR, enterprise_name=STR, credit_code=STR, unit_type=STR,
           manager_name=STR, manager_id_type=STR, manager_id_number=STR, manager_phone=STR,
           status=enum(units.IN_SITE, units.LEFT), entry_date=nullable(DATE), exit_date=nullable(DATE),
           people_in_site=INT, masked=BOOL)
_MANAGER = dict(manager_name={"type": "string", "maxLength": 50}, manager_id_type=enum(*units.ID_TYPES, ""),
                manager_id_number={"type": "string", "maxLength": 40}, manager_phone={"type": "string", "maxLength": 30})
_PID = path_param("project_id")
_UID = path_param("unit_id", OBJECT_ID, "参建单位编号（24 位十六进制）")
_UNMASK = query_param("unmask", enum("true", "false"), "true: 显示完整证件号码（需 people:unmask，记入审计）")
_FILTERS = [query_param("unit_type", enum(*vocabulary.UNIT_TYPES)), query_param("status", enum(units.IN_SITE, units.LEFT)),
            query_param("q", description="参建单位名称（包含）")]
_DELETED = obj(["deleted", "id"], deleted=BOOL, id=STR)
openapi = {
    "/api/projects/{project_id}/units": {
        "get": operation("项目参建单位列表（项目经理证件号码脱敏）", tag="项目参建单位管理",
                         params=[_PID, *_FILTERS],
                         response=obj(["project_id", "units", "count"], project_id=INT, units=arr(UNIT), count=INT)),
        "post": operation("添加参建单位（企业按 enterprise_id 或统一社会信用代码选择，须先在企业库登记；自动生成管理人员班组）", tag="项目参建单位管理",
                          params=[_PID],
                          body=obj(["unit_type"], enterprise_id=OBJECT_ID, credit_code={"type": "string", "maxLength": 40},
                                   unit_type=enum(*vocabulary.UNIT_TYPES), entry_date=DATE, **_MANAGER),
                          response=UNIT, status=201, errors=(400, 404, 409)),
    },
    "/api/projects/{project_id}/units/export": {"get": operation(
        "参建单位导出 Excel（默认脱敏；unmask=true 记入审计）", tag="项目参建单位管理",
        params=[_PID, *_FILTERS, _UNMASK], download=XLSX_TYPE)},
    "/api/projects/{project_id}/units/{unit_id}": {
        "get": operation("参建单位详细", tag="项目参建单位管理", params=[_PID, _UID, _UNMASK],
                         response=UNIT),
        "patch": operation("编辑参建单位（项目经理信息、进场时间；无人员进场记录时可改参建类型）", tag="项目参建单位管理",
                           params=[_PID, _UID],
                           body=obj((), unit_type=enum(*vocabulary.UNIT_TYPES), entry_date=DATE, **_MANAGER),
                           response=UNIT, errors=(400, 404, 409)),
        "delete": operation("删除参建单位（无班组、无人员进场记录时）", tag="项目参建单位管理",
                            params=[_PID, _UID], response=_DELETED, errors=(400, 404, 409)),
    },
    "/api/projects/{project_id}/units/{unit_id}/exit": {"post": operation(
        "参建单位退场（其班组、人员须先退场；退场时间不早于进场时间及其班组、人员的退场时间）", tag="项目参建单位管理",
        params=[_PID, _UID], body=obj(["exit_date"], exit_date=DATE), response=UNIT,
        errors=(400, 404, 409))},
}
