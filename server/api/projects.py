"""The project library (项目库): list with headline counts, register, view, edit, status, 场所码,
location and Excel export; and one project's punches for a day."""
from __future__ import annotations

from bson import ObjectId

from .. import access
from ..domain.audit_actions import changes
from ..domain import vocabulary
from ..store import projects, punches, qualification
from ..domain.site_clock import site_today
from .base import APIError, APIHandler, requires
from .enterprises import object_id_or_404
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import (BOOL, DATE, DATETIME, INT, NUM, STR, arr, enum, nullable, obj, operation, path_param,
                      query_param)


class ProjectScopedHandler(APIHandler):
    """Handlers of the project API: under /api/projects/{project_id}/... the project must be in the caller's
    scope (else 404); list filters must be one of their options (else 400)."""

    async def project_id(self, raw: str) -> int:
        pid = self.int_argument("project_id", raw)
        await self.scoped_project(pid, {"county": 1})
        return pid

    async def project_record(self, raw_pid: str, raw_id: str, field: str, what: str) -> tuple[int, ObjectId]:
        """The project id (in scope) and the id of one of its records from the URL (malformed: 404)."""
        return await self.project_id(raw_pid), object_id_or_404(raw_id, field, what)

    def filter_argument(self, name: str, options: tuple[str, ...]) -> str:
        value = self.get_query_argument(name, "").strip()
        if value and value not in options:
            raise APIError(400, "invalid_argument", f"须为 {'、'.join(options)} 之一", field=name)
        return value


class LibraryHandler(ProjectScopedHandler):
    def filters(self) -> dict:
        return {"county": self.filter_argument("county", vocabulary.COUNTIES),
                "status": self.filter_argument("status", vocabulary.PROJECT_STATUSES),
                "q": self.get_query_argument("q", "").strip()[:50]}

    async def rows(self) -> list[dict]:
        rows = await projects.library(self.db, access.project_filter(self.principal), **self.filters())
        return await qualification.attach(self.db, rows, worker_share=self.config.qualified_worker_share)


class ProjectsHandler(LibraryHandler):
    @requires("projects:read")
    async def get(self):
        today = site_today()
        counts = await projects.list_counts(self.db, today)
        rows = []
        for p in await self.rows():
            rows.append({**projects.view(p), "counts": {name: per_project.get(p["_id"], 0)
                                                        for name, per_project in counts.items()}})
        self.write_json({"projects": rows, "count": len(rows), "date": today.isoformat()})

    @requires("projects:manage")
    async def post(self):
        """登记新项目: supervisors register a project directly (county supervisors in their county)."""
        body = self.json_body()
        project = await projects.register(self.db, body, actor=self.principal.name,
                                          county_scope=access.county_of(self.principal))
        await self.audit("project_register", {"project_id": project["_id"]}, name=project["name"])
        self.write_json(projects.view(project, full=True), status=201)


EXPORT_HEADERS = ("序号", "项目编号", "项目名称", "所在地", "项目状态", "项目分类", "施工许可证", "服务商", "总承包单位",
                  vocabulary.BUILDER, vocabulary.SUPERVISOR, "计划开工日期", "场所码", "经度", "纬度", "项目地点",
                  "项目是否上传", "上传省厅情况")


class ProjectExportHandler(LibraryHandler):
    @requires("projects:read")
    async def get(self):
        rows = []
        for n, p in enumerate(await self.rows(), 1):
            v = projects.view(p)
            loc = v["location"] or {}
            rows.append((n, v["id"], v["name"], v["county"], v["status"], v["category"], v["permit_no"], v["supplier"],
                         v["general_contractor"], v["builder_unit"], v["supervising_unit"], v["planned_start"],
                         v["venue_code"], loc.get("longitude", ""), loc.get("latitude", ""), v["address"],
                         v["qualified"], "；".join(v["qualification_reasons"]) or "上传成功"))
        await self.audit("project_export", None, count=len(rows))
        self.send_download(xlsx_bytes("项目库", EXPORT_HEADERS, rows), export_filename("项目库"), XLSX_TYPE)


class ProjectHandler(ProjectScopedHandler):
    @requires("projects:read")
    async def get(self, project_id: str):
        project = await self.scoped_project(self.int_argument("project_id", project_id))
        project.update((await projects.unit_names(self.db, [project["_id"]])).get(project["_id"], {}))
        await qualification.attach(self.db, [project], worker_share=self.config.qualified_worker_share)
        self.write_json(projects.view(project, full=True))

    @requires("projects:write")
    async def patch(self, project_id: str):
        pid = await self.project_id(project_id)
        body = self.json_body()
        before = await projects.get(self.db, pid)
        project = await projects.update(self.db, pid, body, may_move_county=access.may_move_county(self.principal))
        await self.audit("project_edit", {"project_id": pid}, changes=changes(before, project))
        self.write_json(projects.view(project, full=True))


class ProjectStatusHandler(ProjectScopedHandler):
    @requires("projects:write")
    async def post(self, project_id: str):
        pid = await self.project_id(project_id)
        body = self.json_body()
        status = self.text_field(body, "status")
        if status == vocabulary.PROJECT_CANCELLED and not self.principal.may("projects:manage"):
            await self.refuse(403, "forbidden", "注销项目须由监管方操作")
        day = self.date_field(body, "date", required=False) or site_today()
        reason = self.optional_text(body, "reason", max_length=200)
        project = await projects.change_status(self.db, pid, status=status, day=day, reason=reason,
                                               actor=self.principal.username or self.principal.name)
        await self.audit("project_status", {"project_id": pid}, status=status, date=day.isoformat(), reason=reason)
        self.write_json(projects.view(project, full=True))


class ProjectVenueCodeHandler(ProjectScopedHandler):
    @requires("projects:write")
    async def post(self, project_id: str):
        pid = await self.project_id(project_id)
        project = await projects.register_venue_code(self.db, pid, self.json_body(),
                                                     actor=self.principal.username or self.principal.name)
        await self.audit("project_venue_code", {"project_id": pid}, venue_code=project["venue_code"])
        self.write_json(projects.view(project, full=True))


class ProjectLocationHandler(ProjectScopedHandler):
    @requires("projects:write")
    async def post(self, project_id: str):
        pid = await self.project_id(project_id)
        project = await projects.set_location(self.db, pid, self.json_body(),
                                              actor=self.principal.username or self.principal.name)
        location = project["location"]
        await self.audit("project_location", {"project_id": pid}, longitude=location["longitude"],
                         latitude=location["latitude"])
        self.write_json(projects.view(project, full=True))


class ProjectProvinceHandler(ProjectScopedHandler):
    @requires("projects:manage")
    async def post(self, project_id: str):
        """省厅对接参数 (appid, appsecret, 省厅项目编码): the secret is never answered or audited."""
        pid = await self.project_id(project_id)
        project = await projects.set_province_credentials(self.db, pid, self.json_body(),
                                                          actor=self.principal.username or self.principal.name)
        await self.audit("project_province", {"project_id": pid}, appid=project["province"]["appid"],
                         project_code=project["province"]["project_code"])
        self.write_json(projects.view(project, full=True))


class ProjectAccountHandler(ProjectScopedHandler):
    @requires("accounts:issue")
    async def post(self, project_id: str):
        """发账号: a new project account; its initial password is in this response only."""
        pid = await self.project_id(project_id)
        username, password = await projects.issue_account(self.db, pid)
        await self.audit("account_issue", {"username": username}, role="project", project_id=pid)
        self.write_json({"project_id": pid, "username": username, "password": password,
                         "notice": "项目账号及初始密码只显示这一次，请交给项目方；首次登录须修改密码。"}, status=201)


class ProjectPunchesHandler(APIHandler):
    @requires("punches:read")
    async def get(self, project_id: str):
        pid = self.int_argument("project_id", project_id)
        day = self.date_argument("date", site_today())
        await self.scoped_project(pid, {"county": 1})
        rows = await punches.for_project_day(self.db, pid, day)
        names = {p["worker_no"]: p.get("name", "") async for p in self.db.people.find(
            {"worker_no": {"$in": sorted({r["worker_no"] for r in rows})}}, {"worker_no": 1, "name": 1})}
        out = [{"worker_no": r["worker_no"], "name": names.get(r["worker_no"], ""),
                "vendor_code": r["vendor_code"], "device_id": r["device_id"], "device_time": r["device_time"],
                "received_at": r["received_at"], "mode": r["mode"], "photo_len": r["photo_len"],
                "flags": r["flags"], "resends": r.get("resends", 0)} for r in rows]
        self.write_json({"project_id": pid, "date": day.isoformat(), "punches": out, "count": len(out)})


default_handlers = [
    (r"/api/projects", ProjectsHandler), (r"/api/projects/export", ProjectExportHandler),
    (r"/api/projects/([0-9]+)", ProjectHandler), (r"/api/projects/([0-9]+)/status", ProjectStatusHandler),
    (r"/api/projects/([0-9]+)/venue-code", ProjectVenueCodeHandler),
    (r"/api/projects/([0-9]+)/location", ProjectLocationHandler),
    (r"/api/projects/([0-9]+)/province", ProjectProvinceHandler),
    (r"/api/projects/([0-9]+)/account", ProjectAccountHandler),
    (r"/api/projects/([0-9]+)/punches", ProjectPunchesHandler),
]

_counts = obj(["workers", "devices", "punches_today"], workers=INT, devices=INT, punches_today=INT)
_PID = path_param("project_id")
_PERIODS = arr(obj(["from", "to"], **{"from": DATE, "to": nullable(DATE)}))
_PROJECT_PROPS = dict(
    id=INT, name=STR, county=STR, status=STR, category=STR, permit_no=STR, address=STR, supplier=STR,
    planned_start=STR, builder=STR, venue_code=STR, venue_code_date=STR,
    location=nullable(obj(["longitude", "latitude"], longitude=NUM, latitude=NUM)), stop_periods=_PERIODS,
    declaration_id=nullable(STR), general_contractor=STR, builder_unit=STR, supervising_unit=STR,
    qualified=BOOL, qualification_reasons=arr(STR))
PROJECT = obj(["id", "name", "county", "status"], **_PROJECT_PROPS)
PROJECT_FULL = obj(["id", "name", "county", "status", "status_history"], **_PROJECT_PROPS, description=STR,
                   venue=obj([], code=STR, venue_name=STR, admin_name=STR, admin_mobile=STR, date=STR),
                   status_history=arr(obj(["status", "date"], status=STR, date=STR, reason=STR, by=STR)),
                   applicant=obj([], name=STR, mobile=STR, email=STR), created_at=nullable(DATETIME),
                   province=nullable(obj(["appid", "project_code", "secret_set"], appid=STR, project_code=STR,
                                         secret_set=BOOL, set_at=nullable(DATETIME), by=STR)))


def _text(longest: int, **extra) -> dict:
    return {"type": "string", "maxLength": longest, **extra}


# The lengths and patterns the store enforces (store/projects.py), so clients can check before sending.
_FIELDS = dict(name=_text(100, minLength=1), supplier=_text(100, minLength=1),
               category=enum(*vocabulary.PROJECT_CATEGORIES), permit_no=_text(40, pattern="^([0-9A-Za-z-]{4,40})?$"),
               address=_text(200), county=enum(*vocabulary.COUNTIES), planned_start=DATE, builder=_text(100),
               description=_text(1000))
_FILTERS = [query_param("county", enum(*vocabulary.COUNTIES), "所在地"), query_param("status", enum(*vocabulary.PROJECT_STATUSES)),
            query_param("q", STR, "项目名称包含")]
openapi = {
    "/api/projects": {
        "get": operation(
            "项目库（权限范围内）：项目信息、参建单位、场所码，及在场人数、设备数、今日考勤数", tag="项目库",
            params=_FILTERS, errors=(400,),
            response=obj(["projects", "count", "date"], count=INT, date=DATE, projects=arr(obj(
                ["id", "name", "county", "status", "counts"], **_PROJECT_PROPS, counts=_counts)))),
        "post": operation(
            "登记新项目（监管；县区监管只能登记本县区）", tag="项目库",
            body=obj(["name", "supplier", "category", "status", "county"], **_FIELDS,
                     status=enum(vocabulary.PROJECT_UNDER_CONSTRUCTION, vocabulary.PROJECT_SUSPENDED)),
            response=PROJECT_FULL, status=201, errors=(400,)),
    },
    "/api/projects/export": {"get": operation(
        "导出项目库（Excel，权限范围内，筛选同列表）", tag="项目库", params=_FILTERS,
        download=XLSX_TYPE, errors=(400,))},
    "/api/projects/{project_id}": {
        "get": operation("项目详细信息", tag="项目库", params=[_PID],
                         response=PROJECT_FULL, errors=(400, 404)),
        "patch": operation(
            "编辑项目信息（项目方编辑本项目；所在地仅市级监管可改）", tag="项目库",
            params=[_PID], body=obj([], **_FIELDS), response=PROJECT_FULL, errors=(400, 404, 409)),
    },
    "/api/projects/{project_id}/status": {"post": operation(
        "变更项目状态（在建/停工/完工/注销，注销仅监管，注销后不可再变更；停工期间记入 stop_periods）", tag="项目库",
        params=[_PID],
        body=obj(["status"], status=enum(*vocabulary.PROJECT_STATUSES), date=DATE, reason=STR),
        response=PROJECT_FULL, errors=(400, 404, 409))},
    "/api/projects/{project_id}/venue-code": {"post": operation(
        "场所码登记", tag="项目库", params=[_PID],
        body=obj(["venue_code"], venue_code=_text(64, pattern="^[0-9A-Za-z_-]{4,64}$"),
                 venue_name=_text(100), admin_name=_text(100), admin_mobile=STR, date=DATE),
        response=PROJECT_FULL, errors=(400, 404, 409))},
    "/api/projects/{project_id}/location": {"post": operation(
        "项目定位：经纬度（中国境内，保留 6 位小数）", tag="项目库", params=[_PID],
        body=obj(["longitude", "latitude"], longitude=NUM, latitude=NUM), response=PROJECT_FULL,
        errors=(400, 404, 409))},
    "/api/projects/{project_id}/province": {"post": operation(
        "省厅对接参数：省厅为项目分配的 appid、appsecret 及省厅项目编码（默认施工许可证号）；appsecret 只写不读，"
        "设置后上传省厅从下一轮开始发送本项目", tag="项目库", params=[_PID],
        body=obj(["appid", "appsecret"], appid=_text(64, pattern="^[0-9A-Za-z_.-]{1,64}$"),
                 appsecret=_text(128, minLength=16), project_code=_text(40, pattern="^[0-9A-Za-z-]{1,40}$")),
        response=PROJECT_FULL, errors=(400, 404, 409))},
    "/api/projects/{project_id}/account": {"post": operation(
        "发账号：为项目生成项目账号及初始密码（只在此返回一次）", tag="项目库",
        params=[_PID], response=obj(["project_id", "username", "password"], project_id=INT, username=STR,
                                    password=STR, notice=STR), status=201, errors=(400, 404, 409))},
    "/api/projects/{project_id}/punches": {"get": operation(
        "项目某日的考勤记录", tag="项目考勤",
        params=[path_param("project_id"), query_param("date", DATE, "考勤日期，默认今天")],
        response=obj(["project_id", "date", "punches", "count"], project_id=INT, date=DATE, count=INT,
                     punches=arr(obj(["worker_no", "device_time"], worker_no=INT, name=STR, vendor_code=STR,
                                     device_id=STR, device_time=DATETIME, received_at=DATETIME, mode=INT,
                                     photo_len=INT, flags=arr(STR), resends=INT))))},
}
