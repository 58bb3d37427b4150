"""Project attendance (项目考勤) over HTTP: the monthly grid (项目月考勤), punch detail (考勤明细),
their Excel exports, and a punch's photo.

Attended (出勤) = at least one non-test punch that site-local day (domain.md); 停工 days are marked
in the grid header and left out of the day count. ID numbers are always masked here; punch photos
go only to roles with photos:read, and every photo served is written to the audit log.
"""
from __future__ import annotations

import datetime as dt

from ..domain import attendance_grid as grid
from ..domain.identity import mask_id_number
from ..domain.punch_time import FUTURE, PAST
from ..store import attendance, projects
from ..domain.site_clock import site_today
from ..store.people import by_worker_nos
from .base import APIError, APIHandler, requires, sniff_kind
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import BOOL, DATE, DATETIME, INT, STR, arr, nullable, obj, operation, path_param, query_param

# 848 刷卡模式: the standard names 6 (face); others are shown by number.
MODE_NAMES = {6: "人脸"}
FLAG_NAMES = {FUTURE: "设备时间超前", PAST: "设备时间滞后", "not_on_roster": "不在花名册"}
DETAIL_LIMIT = 2000       # rows in one JSON answer; the export takes the whole period
EXPORT_LIMIT = 200_000


class AttendanceBase(APIHandler):
    async def project(self, project_id: str) -> dict:
        return await self.scoped_project(self.int_argument("project_id", project_id),
                                         {"name": 1, "county": 1, "status": 1, "status_history": 1, "stop_periods": 1})

    async def grid(self, project: dict) -> dict:
        today = site_today()
        month = grid.Month.parse(self.get_query_argument("month", "") or str(grid.Month.of(today)))
        data = await attendance.month_grid(
            self.db, project, month, today=today, unit_id=self.get_query_argument("unit", "").strip(),
            team_id=self.get_query_argument("team", "").strip(), q=self.get_query_argument("q", "").strip()[:50])
        for row in data["rows"]:
            row.pop("line")
            row["id_number"] = mask_id_number(row["id_number"])
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        today = site_today()
        if self.get_query_argument("date", None) is not None:
            day = self.date_argument("date", today)
            return day, day
        first = self.date_argument("from", today)
        return first, self.date_argument("to", first)

    def worker_no(self) -> int | None:
        raw = self.get_query_argument("worker_no", "").strip()
        return self.int_argument("worker_no", raw) if raw else None

    async def person_days(self, project: dict) -> tuple[list[dict], bool, dt.date, dt.date]:
        first, last = self.period()
        days, truncated = await attendance.person_days(self.db, project["_id"], first, last,
                                                       worker_no=self.worker_no(), limit=EXPORT_LIMIT)
        people = await by_worker_nos(self.db, (d["worker_no"] for d in days))
        for d in days:
            d["name"] = people.get(d["worker_no"], {}).get("name", "")
        return days, truncated, first, last

    async def detail(self, project: dict, limit: int) -> tuple[list[dict], bool, dt.date, dt.date]:
        first, last = self.period()
        rows, truncated = await attendance.punch_detail(self.db, project["_id"], first, last,
                                                        worker_no=self.worker_no(), limit=limit)
        people = await by_worker_nos(self.db, (r["worker_no"] for r in rows))
        out = [{"id": r["_id"], "worker_no": r["worker_no"], "name": people.get(r["worker_no"], {}).get("name", ""),
                "date": r["date"], "device_time": r["device_time"], "received_at": r["received_at"],
                "vendor_code": r["vendor_code"], "device_id": r["device_id"], "mode": r["mode"],
                "mode_name": MODE_NAMES.get(r["mode"], str(r["mode"])), "flags": r["flags"],
                "flag_names": [FLAG_NAMES.get(f, f) for f in r["flags"]], "resends": r.get("resends", 0),
                "has_photo": r.get("photo_len", 0) > 0} for r in rows]
        return out, truncated, first, last


class AttendanceGridHandler(AttendanceBase):
    @requires("punches:read")
    async def get(self, project_id: str):
        project = await self.project(project_id)
        data = await self.grid(project)
        self.write_json({**data, "project_name": project["name"], "status": project.get("status", ""),
                         "count": len(data["rows"])})


class AttendanceGridExportHandler(AttendanceBase):
    @requires("punches:read")
    async def get(self, project_id: str):
        project = await self.project(project_id)
        data = await self.grid(project)
        days = [f"{d['day']}日" + ("(停工)" if d["stopped"] else "") for d in data["days"]]
        headers = ["序号", "姓名", "工人编号", "身份证号", "参建单位", "班组", "工种/岗位", *days, "天数总计(天)"]
        rows = [[i, r["name"], r["worker_no"], r["id_number"], r["unit"], r["team"], r["job"],
                 *(grid.mark_text(m) for m in r["marks"]), r["total"]] for i, r in enumerate(data["rows"], 1)]
        for key, label in (("present", "在场人数"), ("attended", "出勤人数")):
            rows.append(["", label, "", "", "", "", "", *(grid.headcount_text(d, c, key) for d, c in
                                                          zip(data["days"], data["headcounts"])), ""])
        self.send_download(xlsx_bytes(f"项目月考勤{data['month']}", headers, rows),
                           export_filename(f"项目月考勤_{project['_id']}_{data['month']}"), XLSX_TYPE)


class AttendancePunchesHandler(AttendanceBase):
    @requires("punches:read")
    async def get(self, project_id: str):
        project = await self.project(project_id)
        rows, truncated, first, last = await self.detail(project, DETAIL_LIMIT)
        self.write_json({"project_id": project["_id"], "from": first, "to": last, "punches": rows,
                         "count": len(rows), "truncated": truncated})


class AttendancePunchesExportHandler(AttendanceBase):
    @requires("punches:read")
    async def get(self, project_id: str):
        project = await self.project(project_id)
        rows, _, first, last = await self.detail(project, EXPORT_LIMIT)
        headers = ["序号", "姓名", "工人编号", "考勤日期", "刷卡时间", "接收时间", "厂商编码", "设备编号", "刷卡模式", "标记",
                   "重传次数"]
        table = [[i, r["name"], r["worker_no"], r["date"], r["device_time"], r["received_at"], r["vendor_code"],
                  r["device_id"], r["mode_name"], "、".join(r["flag_names"]), r["resends"]]
                 for i, r in enumerate(rows, 1)]
        self.send_download(xlsx_bytes("考勤明细", headers, table),
                           export_filename(f"考勤明细_{project['_id']}_{first}_{last}"), XLSX_TYPE)


class AttendanceDaysHandler(AttendanceBase):
    @requires("punches:read")
    async def get(self, project_id: str):
        project = await self.project(project_id)
        days, truncated, first, last = await self.person_days(project)
        shown = days[:DETAIL_LIMIT]
        self.write_json({"project_id": project["_id"], "from": first, "to": last, "days": shown,
                         "count": len(shown), "truncated": truncated or len(days) > DETAIL_LIMIT})


class AttendanceDaysExportHandler(AttendanceBase):
    @requires("punches:read")
    async def get(self, project_id: str):
        project = await self.project(project_id)
        days, _, first, last = await self.person_days(project)
        headers = ["序号", "姓名", "工人编号", "考勤日期", "首次打卡", "末次打卡", "打卡次数"]
        table = [[i, d["name"], d["worker_no"], d["date"], d["first"], d["last"] if d["count"] > 1 else "", d["count"]]
                 for i, d in enumerate(days, 1)]
        self.send_download(xlsx_bytes("考勤明细", headers, table),
                           export_filename(f"考勤明细_{project['_id']}_{first}_{last}"), XLSX_TYPE)


class PunchPhotoHandler(APIHandler):
    @requires("photos:read")
    async def get(self, punch_id: str):
        found = await attendance.punch_photo(self.db, punch_id[:200])
        if found is not None:
            punch, photo = found
            if photo and await projects.scoped(self.db, self.principal, punch["project_id"], {"_id": 1}):
                kind = sniff_kind(photo)
                await self.audit("punch_photo_view", {"punch_id": punch_id, "worker_no": punch["worker_no"],
                                                      "project_id": punch["project_id"]})
                self.set_header("Content-Type", "image/png" if kind == "png" else "image/jpeg")
                self.set_header("X-Content-Type-Options", "nosniff")
                self.finish(photo)
                return
        raise APIError(404, "not_found", "考勤照片不存在", field="punch_id")


default_handlers = [
    (r"/api/projects/([0-9]+)/attendance", AttendanceGridHandler),
    (r"/api/projects/([0-9]+)/attendance/export", AttendanceGridExportHandler),
    (r"/api/projects/([0-9]+)/attendance/punches", AttendancePunchesHandler),
    (r"/api/projects/([0-9]+)/attendance/punches/export", AttendancePunchesExportHandler),
    (r"/api/projects/([0-9]+)/attendance/days", AttendanceDaysHandler),
    (r"/api/projects/([0-9]+)/attendance/days/export", AttendanceDaysExportHandler),
    (r"/api/punches/([^/]+)/photo", PunchPhotoHandler),
]

_GRID_FILTERS = [query_param("month", {"type": "string", "pattern": r"^\d{4}-\d{2}$"}, "月份 YYYY-MM，默认本月"),
                 query_param("unit", STR, "参建单位 id"), query_param("team", STR, "班组 id"),
                 query_param("q", STR, "姓名（包含）或工人编号")]
_DETAIL_FILTERS = [query_param("date", DATE, "某一天（给出时忽略 from/to）"), query_param("from", DATE, "开始日期，默认今天"),
                   query_param("to", DATE, f"结束日期，默认同开始日期；最多 {attendance.MAX_DETAIL_DAYS} 天"),
                   query_param("worker_no", INT, "工人编号")]
_MARK = {"type": "string", "enum": [grid.ATTENDED, grid.STOPPED_PUNCH, None], "nullable": True}
_NAMED = obj(["id", "name"], id=STR, name=STR)
GRID = obj(
    ["project_id", "month", "days", "rows", "count"], project_id=INT, project_name=STR, status=STR, month=STR,
    stopped_days=INT, count=INT, units=arr(_NAMED), teams=arr(_NAMED),
    days=arr(obj(["day", "date", "stopped"], day=INT, date=DATE, weekday=STR, stopped=BOOL, future=BOOL)),
    headcounts=arr(obj(["present", "attended"], present=nullable(INT), attended=nullable(INT))),
    rows=arr(obj(["worker_no", "name", "marks", "total"], worker_no=INT, name=STR, id_number=STR, unit=STR,
                 unit_id=STR, team=STR, team_id=STR, job=STR, on_roster=BOOL, marks=arr(_MARK), total=INT)))
PUNCH = obj(["id", "worker_no", "date", "device_time"], id=STR, worker_no=INT, name=STR, date=DATE,
            device_time=DATETIME, received_at=DATETIME, vendor_code=STR, device_id=STR, mode=INT, mode_name=STR,
            flags=arr(STR), flag_names=arr(STR), resends=INT, has_photo=BOOL)
PERSON_DAY = obj(["worker_no", "date", "first", "last", "count"], worker_no=INT, name=STR, date=DATE,
                 first=DATETIME, last=DATETIME, count=INT)


def _detail_operations(key: str, summary: str, export_summary: str, item: dict) -> dict:
    """/attendance/{key} (JSON, its rows under `key`) and /attendance/{key}/export, over a period."""
    path = f"/api/projects/{{project_id}}/attendance/{key}"
    params = [path_param("project_id"), *_DETAIL_FILTERS]
    return {path: {"get": operation(summary, tag="项目考勤", params=params, response=obj(
                ["project_id", "from", "to", key, "count", "truncated"], project_id=INT, count=INT, truncated=BOOL,
                **{key: arr(item), "from": DATE, "to": DATE}))},
            f"{path}/export": {"get": operation(export_summary, tag="项目考勤", params=params, download=XLSX_TYPE)}}


openapi = {
    "/api/projects/{project_id}/attendance": {"get": operation(
        "项目月考勤：人员 × 日期（至少一条非测试考勤记录即出勤；停工日标注且不计入天数）", tag="项目考勤",
        params=[path_param("project_id"), *_GRID_FILTERS], response=GRID)},
    "/api/projects/{project_id}/attendance/export": {"get": operation(
        "导出月考勤 (Excel)", tag="项目考勤",
        params=[path_param("project_id"), *_GRID_FILTERS], download=XLSX_TYPE)},
    **_detail_operations("punches", f"考勤明细：某日或某时段的考勤记录（最多返回 {DETAIL_LIMIT} 条，truncated 表示还有更多）",
                         "导出考勤原始记录 (Excel)", PUNCH),
    **_detail_operations("days", f"考勤明细（按人按日）：首次/末次打卡时间及打卡次数（最多返回 {DETAIL_LIMIT} 行）",
                         "导出考勤明细（按人按日：首次/末次打卡、打卡次数）(Excel)", PERSON_DAY),
    "/api/punches/{punch_id}/photo": {"get": operation(
        "考勤照片 (JPEG，记入审计)", tag="项目考勤",
        params=[path_param("punch_id", STR)], download="image/jpeg")},
}
