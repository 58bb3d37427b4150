"""Projects with their headline counts, and one project's punches for a day."""
from __future__ import annotations

from ..store import punches
from ..store.db import site_today
from ..store.roster import CURRENT
from .base import APIError, APIHandler, requires
from .openapi import DATE, DATETIME, INT, STR, arr, obj, operation, path_param, query_param


async def _count_by_project(collection, match: dict) -> dict[int, int]:
    pipeline = [{"$match": match}, {"$group": {"_id": "$project_id", "n": {"$sum": 1}}}]
    return {d["_id"]: d["n"] async for d in await collection.aggregate(pipeline)}


class ProjectsHandler(APIHandler):
    @requires("projects:read")
    async def get(self):
        today = site_today().isoformat()
        workers = await _count_by_project(self.db.roster, dict(CURRENT))
        device_counts = await _count_by_project(self.db.devices, {"status": "active"})
        punch_counts = await _count_by_project(self.db.punches, {"date": today, "test": False})
        rows = []
        scope = self.principal.project_filter()
        async for p in self.db.projects.find(scope, {"name": 1, "county": 1, "status": 1}).sort("_id", 1):
            rows.append({"id": p["_id"], "name": p["name"], "county": p["county"], "status": p["status"],
                         "counts": {"workers": workers.get(p["_id"], 0), "devices": device_counts.get(p["_id"], 0),
                                    "punches_today": punch_counts.get(p["_id"], 0)}})
        self.write_json({"projects": rows, "count": len(rows), "date": today})


class ProjectPunchesHandler(APIHandler):
    @requires("punches:read")
    async def get(self, project_id: str):
        pid = self.int_argument("project_id", project_id)
        day = self.date_argument("date", site_today())
        project = await self.db.projects.find_one({"_id": pid}, {"_id": 1, "county": 1})
        # Out of scope looks exactly like absent: a project account cannot probe which numbers exist.
        if project is None or not self.principal.can_see_project(project):
            raise APIError(404, "not_found", f"项目 {pid} 不存在")
        rows = await punches.for_project_day(self.db, pid, day)
        names = {p["worker_no"]: p.get("name", "") async for p in self.db.people.find(
            {"worker_no": {"$in": sorted({r["worker_no"] for r in rows})}}, {"worker_no": 1, "name": 1})}
        out = [{"worker_no": r["worker_no"], "name": names.get(r["worker_no"], ""),
                "vendor_code": r["vendor_code"], "device_id": r["device_id"], "device_time": r["device_time"],
                "received_at": r["received_at"], "mode": r["mode"], "photo_len": r["photo_len"],
                "flags": r["flags"], "resends": r.get("resends", 0)} for r in rows]
        self.write_json({"project_id": pid, "date": day.isoformat(), "punches": out, "count": len(out)})


default_handlers = [(r"/api/projects", ProjectsHandler), (r"/api/projects/([0-9]+)/punches", ProjectPunchesHandler)]

_counts = obj(["workers", "devices", "punches_today"], workers=INT, devices=INT, punches_today=INT)
openapi = {
    "/api/projects": {"get": operation(
        "项目列表（权限范围内）及在场人数、设备数、今日考勤数", tag="项目库", permission="projects:read", errors=(),
        response=obj(["projects", "count", "date"], count=INT, date=DATE, projects=arr(obj(
            ["id", "name", "county", "status", "counts"], id=INT, name=STR, county=STR, status=STR, counts=_counts))))},
    "/api/projects/{project_id}/punches": {"get": operation(
        "项目某日的考勤记录", tag="项目考勤", permission="punches:read",
        params=[path_param("project_id"), query_param("date", DATE, "考勤日期，默认今天")],
        response=obj(["project_id", "date", "punches", "count"], project_id=INT, date=DATE, count=INT,
                     punches=arr(obj(["worker_no", "device_time"], worker_no=INT, name=STR, vendor_code=STR,
                                     device_id=STR, device_time=DATETIME, received_at=DATETIME, mode=INT,
                                     photo_len=INT, flags=arr(STR), resends=INT))))},
}
