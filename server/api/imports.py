"""Progress of background imports (批量人员进场): state, counts and every refused row, for the page to poll.

A refused workbook (found by the worker reading it) ends `failed` with `field` "file" and the reason in `message`."""
from __future__ import annotations

from ..store import fields, projects, roster_import
from .base import APIError, APIHandler, requires
from .openapi import DATETIME, INT, STR, arr, enum, nullable, obj, operation, path_param


STATE_TEXT = {"queued": "排队中", "running": "进行中", "done": "完成", "failed": "中断"}


class ImportJobHandler(APIHandler):
    @requires("workforce:read")
    async def get(self, job_id: str):
        oid = fields.parse_object_id(job_id)
        job = await self.db.import_jobs.find_one({"_id": oid}, {"workbook": 0}) if oid else None
        # Only within the same project scope: another project's job looks exactly like a missing one.
        if job is None or not await projects.scoped(self.db, self.principal, job["project_id"], {"_id": 1}):
            raise APIError(404, "not_found", f"导入任务 {job_id} 不存在", field="job_id")
        job = await roster_import.settle_if_stale(self.db, job)
        self.write_json({
            "job_id": str(job["_id"]), "project_id": job["project_id"], "state": job["state"],
            "state_text": STATE_TEXT[job["state"]],
            "total": job["total"], "done": job["done"], "entered": job["entered"], "created": job.get("created", 0),
            "failed": len(job["errors"]), "errors": job["errors"], "message": job.get("message", ""),
            "field": job.get("field"),
            "created_at": job["created_at"], "finished_at": job.get("finished_at")})


default_handlers = [(r"/api/imports/([^/]+)", ImportJobHandler)]

_ROW_ERROR = obj(["row", "field", "message"], row=INT, field=STR, column=STR, message=STR)
openapi = {"/api/imports/{job_id}": {"get": operation(
    "导入任务进度：状态、已处理行数、已进场人数、每一行失败的原因（行号、列、原因）；文件不可用时 state=failed、field=file、message 为原因", tag="项目人员花名册",
    params=[path_param("job_id", STR)], errors=(401, 403, 404),
    response=obj(["job_id", "project_id", "state", "total", "done", "entered", "errors"], job_id=STR,
                 project_id=INT, state=enum(*STATE_TEXT), state_text=STR, total=nullable(INT), done=INT,
                 entered=INT, created=INT, failed=INT, errors=arr(_ROW_ERROR), message=STR,
                 field=nullable(STR),
                 created_at=DATETIME, finished_at=nullable(DATETIME)))}}
