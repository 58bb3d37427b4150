"""项目班组管理 over HTTP: add, edit, exit, delete, list and export a project's teams.

管理人员班组 are the platform's (generated per unit type): every change to one answers 409 with
the reason, as the guide forbids editing, deleting, entering or exiting them.
"""
from __future__ import annotations

from ..domain.audit_actions import changes
from ..domain import vocabulary
from ..store import fields, teams, units
from .base import requires
from .enterprises import OBJECT_ID
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import BOOL, DATE, INT, STR, arr, enum, nullable, obj, operation, path_param, query_param
from .projects import ProjectScopedHandler


class _TeamBase(ProjectScopedHandler):
    async def list_rows(self, pid: int) -> list[dict]:
        raw_unit = self.get_query_argument("unit_id", "").strip()
        unit_id = fields.object_id(raw_unit, "unit_id", "所属参建单位") if raw_unit else None
        return await teams.list_teams(
            self.db, pid, unit_id=unit_id, kind=self.filter_argument("kind", vocabulary.TEAM_KINDS),
            status=self.filter_argument("status", (units.IN_SITE, units.LEFT)),
            keyword=self.get_query_argument("q", "").strip()[:50])


class TeamsHandler(_TeamBase):
    @requires("workforce:read")
    async def get(self, raw_pid: str):
        pid = await self.project_id(raw_pid)
        rows = [teams.view(t) for t in await self.list_rows(pid)]
        self.write_json({"project_id": pid, "teams": rows, "count": len(rows)})

    @requires("workforce:write")
    async def post(self, raw_pid: str):
        pid = await self.project_id(raw_pid)
        team = await teams.add(self.db, pid, self.json_body(), by=self.principal.name)
        await self.audit("team_add", {"project_id": pid, "team_id": str(team["_id"])}, name=team["name"])
        self.write_json(teams.view(await teams.detail(self.db, pid, team["_id"])), status=201)


class TeamsExportHandler(_TeamBase):
    @requires("workforce:read")
    async def get(self, raw_pid: str):
        pid = await self.project_id(raw_pid)
        rows = [teams.view(t) for t in await self.list_rows(pid)]
        headers = ["序号", "班组名称", "在职人数", "所属参建单位", "参建类型", "进退场状态", "进场时间", "退场时间",
                   "班组人员可选类型"]
        data = [[i, r["name"], r["people_in_site"], r["unit_name"], r["unit_type"], r["status"], r["entry_date"],
                 r["exit_date"], r["kind"]] for i, r in enumerate(rows, 1)]
        self.send_download(xlsx_bytes("项目班组", headers, data), export_filename(f"项目班组_{pid}"), XLSX_TYPE)


class TeamHandler(ProjectScopedHandler):
    @requires("workforce:read")
    async def get(self, raw_pid: str, raw_id: str):
        pid, team_id = await self.project_record(raw_pid, raw_id, "team_id", "班组")
        self.write_json(teams.view(await teams.detail(self.db, pid, team_id)))

    @requires("workforce:write")
    async def patch(self, raw_pid: str, raw_id: str):
        pid, team_id = await self.project_record(raw_pid, raw_id, "team_id", "班组")
        body = self.json_body()
        before = await teams.get(self.db, pid, team_id)
        await teams.update(self.db, pid, team_id, body)
        after = await teams.detail(self.db, pid, team_id)
        await self.audit("team_edit", {"project_id": pid, "team_id": raw_id}, changes=changes(before, after))
        self.write_json(teams.view(after))

    @requires("workforce:write")
    async def delete(self, raw_pid: str, raw_id: str):
        pid, team_id = await self.project_record(raw_pid, raw_id, "team_id", "班组")
        await teams.delete(self.db, pid, team_id)
        await self.audit("team_delete", {"project_id": pid, "team_id": raw_id})
        self.write_json({"deleted": True, "id": raw_id})


class TeamExitHandler(ProjectScopedHandler):
    @requires("workforce:write")
    async def post(self, raw_pid: str, raw_id: str):
        pid, team_id = await self.project_record(raw_pid, raw_id, "team_id", "班组")
        await teams.exit_team(self.db, pid, team_id, self.json_body())
        await self.audit("team_exit", {"project_id": pid, "team_id": raw_id})
        self.write_json(teams.view(await teams.detail(self.db, pid, team_id)))


# Any other text than "export" is an id (a malformed one answers 404, not "no such route").
ID = r"((?!export$)[^/]+)"
default_handlers = [
    (r"/api/projects/([0-9]+)/teams", TeamsHandler),
    (r"/api/projects/([0-9]+)/teams/export", TeamsExportHandler),
    (rf"/api/projects/([0-9]+)/teams/{ID}/exit", TeamExitHandler),
    (rf"/api/projects/([0-9]+)/teams/{ID}", TeamHandler),
]

TEAM = obj(["id", "project_id", "unit_id", "name", "kind", "status"], id=STR, project_id=INT, unit_id=STR,
           unit_name=STR, unit_type=STR, name=STR, kind=enum(*vocabulary.TEAM_KINDS),
           status=enum(units.IN_SITE, units.LEFT), entry_date=nullable(DATE), exit_date=nullable(DATE),
           people_in_site=INT, generated=BOOL, may_edit=BOOL, may_exit=BOOL, may_delete=BOOL)
_PID = path_param("project_id")
_TID = path_param("team_id", OBJECT_ID, "班组编号（24 位十六进制）")
_FILTERS = [query_param("unit_id", OBJECT_ID, "所属参建单位"), query_param("kind", enum(*vocabulary.TEAM_KINDS)),
            query_param("status", enum(units.IN_SITE, units.LEFT)), query_param("q", description="班组名称（包含）")]
_NAME = {"type": "string", "maxLength": 50}
_TAG = "项目班组管理"
openapi = {
    "/api/projects/{project_id}/teams": {
        "get": operation("项目班组列表（含平台自动生成的管理人员班组）", tag=_TAG,
                         params=[_PID, *_FILTERS],
                         response=obj(["project_id", "teams", "count"], project_id=INT, teams=arr(TEAM), count=INT)),
        "post": operation("添加班组（普通工人班组或其他人员班组；所属参建单位须在场）", tag=_TAG,
                          params=[_PID], body=obj(["unit_id", "name"], unit_id=OBJECT_ID, name=_NAME,
                                                  kind=enum(*teams.ADDABLE_KINDS), entry_date=DATE),
                          response=TEAM, status=201, errors=(400, 404, 409)),
    },
    "/api/projects/{project_id}/teams/export": {"get": operation(
        "项目班组导出 Excel", tag=_TAG, params=[_PID, *_FILTERS], download=XLSX_TYPE)},
    "/api/projects/{project_id}/teams/{team_id}": {
        "get": operation("班组详细", tag=_TAG, params=[_PID, _TID], response=TEAM),
        "patch": operation("编辑班组（名称、进场时间；普通工人班组可改为其他人员班组；管理人员班组不可修改 409）", tag=_TAG,
                           params=[_PID, _TID],
                           body=obj((), name=_NAME, kind=enum(*teams.ADDABLE_KINDS), entry_date=DATE),
                           response=TEAM, errors=(400, 404, 409)),
        "delete": operation("删除班组（从未有人员进场时；管理人员班组不可删除 409）", tag=_TAG,
                            params=[_PID, _TID], response=obj(["deleted", "id"], deleted=BOOL, id=STR),
                            errors=(400, 404, 409)),
    },
    "/api/projects/{project_id}/teams/{team_id}/exit": {"post": operation(
        "班组退场（班组人员须先退场；管理人员班组随参建单位退场 409）", tag=_TAG,
        params=[_PID, _TID], body=obj(["exit_date"], exit_date=DATE), response=TEAM, errors=(400, 404, 409))},
}
