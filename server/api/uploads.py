"""上传省厅结果查询 over HTTP: per project, success and failure counts per record type, and one project's
records of a type and state with the platform's reasons; both exportable.

Supervisors see the projects of their scope (city or county), a project account its own; analysts read.
The default view is the guide's: 上传失败 (projects with failures, most failures first).
"""
from __future__ import annotations

from .. import access
from ..store import projects, qualification, upload_results
from ..store.uploads import FAILED, STATES, SUCCEEDED
from ..domain import vocabulary
from .base import requires
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import BOOL, DATETIME, INT, NUM, STR, arr, enum, obj, operation, path_param, query_param
from .projects import LibraryHandler, ProjectScopedHandler

ALL = "全部"
SUMMARY_VIEWS = (FAILED, SUCCEEDED, ALL)
KINDS = tuple(upload_results.KIND_LABELS)


async def summary_rows(handler, *, view: str, county: str = "", q: str = "") -> list[dict]:
    """The results page's rows: projects in the caller's scope with their counts, failures first."""
    rows = await projects.library(handler.db, access.project_filter(handler.principal), county=county, q=q)
    ids = [p["_id"] for p in rows]
    counts = await upload_results.summary(handler.db, ids)
    verdicts = await qualification.qualification(handler.db, ids, worker_share=handler.config.qualified_worker_share)
    out = []
    for p in rows:
        per_kind = counts.get(p["_id"], {})
        failures = upload_results.failures_of(per_kind)
        successes = sum(c.get(SUCCEEDED, 0) for c in per_kind.values())
        if (view == FAILED and not failures) or (view == SUCCEEDED and not successes):
            continue
        qualified, reasons = verdicts.get(p["_id"], (False, []))
        out.append({"project_id": p["_id"], "name": p["name"], "county": p["county"], "status": p["status"],
                    "qualified": qualified, "qualification_reasons": reasons, "failures": failures,
                    "successes": successes,
                    "counts": {k: {"success": per_kind.get(k, {}).get(SUCCEEDED, 0),
                                   "failure": per_kind.get(k, {}).get(FAILED, 0)} for k in KINDS}})
    out.sort(key=lambda r: (-r["failures"], r["project_id"]))
    return out


def summary_table(rows: list[dict]) -> tuple[list[str], list[list]]:
    headers = ["序号", "项目编号", "项目名称", "所在地", "项目状态", "项目是否上传"]
    for label in upload_results.KIND_LABELS.values():
        headers += [f"{label}成功", f"{label}失败"]
    data = []
    for n, r in enumerate(rows, 1):
        line = [n, r["project_id"], r["name"], r["county"], r["status"],
                "是" if r["qualified"] else "否（" + "；".join(r["qualification_reasons"]) + "）"]
        for k in KINDS:
            line += [r["counts"][k]["success"], r["counts"][k]["failure"]]
        data.append(line)
    return headers, data


RECORD_HEADERS = ["序号", "记录类型", "记录", "状态", "原因", "操作", "尝试次数", "更新时间"]


def record_table(rows: list[dict]) -> list[list]:
    return [[n, r["kind_label"], r["name"], r["state"], r["reason"], "新增" if r["operation"] == "add" else "修改",
             r["attempts"], r["updated_at"]] for n, r in enumerate(rows, 1)]


class _SummaryBase(LibraryHandler):
    def view_argument(self) -> str:
        return self.filter_argument("state", SUMMARY_VIEWS) or FAILED

    async def summary(self) -> list[dict]:
        filters = self.filters()
        return await summary_rows(self, view=self.view_argument(), county=filters["county"], q=filters["q"])


class UploadSummaryHandler(_SummaryBase):
    @requires("projects:read")
    async def get(self):
        rows = await self.summary()
        self.write_json({"state": self.view_argument(), "projects": rows, "count": len(rows),
                         "kinds": upload_results.KIND_LABELS, "throughput": await upload_results.throughput(self.db)})


class UploadSummaryExportHandler(_SummaryBase):
    @requires("projects:read")
    async def get(self):
        headers, data = summary_table(await self.summary())
        self.send_download(xlsx_bytes("上传省厅结果", headers, data), export_filename("上传省厅结果"), XLSX_TYPE)


class _RecordsBase(ProjectScopedHandler):
    async def rows(self, raw_pid: str) -> tuple[int, list[dict]]:
        pid = await self.project_id(raw_pid)
        state = self.filter_argument("state", STATES + (ALL,)) or FAILED
        rows = await upload_results.records(self.db, pid, kind=self.filter_argument("kind", KINDS),
                                            state="" if state == ALL else state)
        return pid, rows


class UploadRecordsHandler(_RecordsBase):
    @requires("projects:read")
    async def get(self, raw_pid: str):
        pid, rows = await self.rows(raw_pid)
        self.write_json({"project_id": pid, "records": rows, "count": len(rows)})


class UploadRecordsExportHandler(_RecordsBase):
    @requires("projects:read")
    async def get(self, raw_pid: str):
        pid, rows = await self.rows(raw_pid)
        self.send_download(xlsx_bytes("上传省厅记录", RECORD_HEADERS, record_table(rows)),
                           export_filename(f"上传省厅记录_{pid}"), XLSX_TYPE)


default_handlers = [
    (r"/api/uploads", UploadSummaryHandler), (r"/api/uploads/export", UploadSummaryExportHandler),
    (r"/api/projects/([0-9]+)/uploads", UploadRecordsHandler),
    (r"/api/projects/([0-9]+)/uploads/export", UploadRecordsExportHandler),
]

_SUMMARY_PARAMS = [query_param("state", enum(*SUMMARY_VIEWS), "默认 上传失败：只列有上传失败记录的项目"),
                   query_param("county", enum(*vocabulary.COUNTIES), "所在地"), query_param("q", STR, "项目名称包含")]
_RECORD_PARAMS = [path_param("project_id"), query_param("kind", enum(*KINDS), "记录类型"),
                  query_param("state", enum(*STATES, ALL), "默认 上传失败")]
_COUNT = obj(["success", "failure"], success=INT, failure=INT)
_RECORD = obj(["id", "kind", "name", "state", "reason"], id=STR, kind=enum(*KINDS), kind_label=STR, name=STR,
              fix_url=STR, state=enum(*STATES), reason=STR, operation=STR, attempts=INT, updated_at=DATETIME,
              history=arr(obj(["at", "state"], at=DATETIME, state=STR, note=STR)))
_THROUGHPUT = obj(["passes"], passes=INT, skipped=STR, at=DATETIME, last_sent=INT, last_rate=NUM, recent_sent=INT,
                  recent_seconds=NUM, recent_rate=NUM, backlog=INT,
                  backlog_by_kind=obj([], **{k: obj([], **{s: INT for s in STATES}) for k in KINDS}))
openapi = {
    "/api/uploads": {"get": operation(
        "上传省厅结果查询：权限范围内各项目各类记录上传成功/失败数（失败多的在前）及项目是否合格", tag="上传省厅",
        params=_SUMMARY_PARAMS, errors=(400,),
        response=obj(["state", "projects", "count"], state=STR, count=INT, kinds=obj([], **{k: STR for k in KINDS}),
                     throughput=_THROUGHPUT,
                     projects=arr(obj(["project_id", "name", "counts"], project_id=INT, name=STR, county=STR, status=STR,
                                      qualified=BOOL, qualification_reasons=arr(STR), failures=INT, successes=INT,
                                      counts=obj([], **{k: _COUNT for k in KINDS})))))},
    "/api/uploads/export": {"get": operation(
        "导出上传省厅结果（Excel，筛选同列表）", tag="上传省厅", params=_SUMMARY_PARAMS, download=XLSX_TYPE, errors=(400,))},
    "/api/projects/{project_id}/uploads": {"get": operation(
        "项目上传省厅记录：某类、某状态的记录及平台返回的原因、修改入口", tag="上传省厅", params=_RECORD_PARAMS,
        errors=(400, 404), response=obj(["project_id", "records", "count"], project_id=INT, count=INT,
                                        records=arr(_RECORD)))},
    "/api/projects/{project_id}/uploads/export": {"get": operation(
        "导出项目上传省厅记录（Excel）", tag="上传省厅", params=_RECORD_PARAMS, download=XLSX_TYPE, errors=(400, 404))},
}
