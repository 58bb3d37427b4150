"""上传省厅结果查询 pages: per project the counts per record type (failures first, the guide's default),
and one project's records of a type with the platform's reasons and a link to where each is fixed.

A project account lands on its own project's records; supervisors and analysts on the summary of their
scope. The rows are the API's (server/api/uploads.py), so page, API and export cannot disagree.
"""
from __future__ import annotations

import urllib.parse

from tornado.web import HTTPError

from .. import access
from ..api.exports import safe_cell
from ..api.uploads import ALL, KINDS, SUMMARY_VIEWS, summary_rows
from ..domain import vocabulary
from ..store import projects, qualification, upload_results
from ..store.uploads import FAILED, STATES
from .pages import PageHandler


def _one_of(value: str, options: tuple[str, ...], default: str = "") -> str:
    return value if value in options else default


class UploadSummaryPage(PageHandler):
    page_permission = "projects:read"

    async def get(self):
        if access.scope_of(self.principal) == "project":
            return self.redirect(f"/uploads/{self.principal.project_id}")
        filters = {"state": _one_of(self.query("state"), SUMMARY_VIEWS, FAILED),
                   "county": _one_of(self.query("county"), vocabulary.COUNTIES), "q": self.query("q")[:50]}
        rows = await summary_rows(self, view=filters["state"], county=filters["county"], q=filters["q"])
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v})
        self.render_page("uploads.html", rows=rows, filters=filters, views=SUMMARY_VIEWS, kinds=upload_results.KIND_LABELS,
                         counties=vocabulary.COUNTIES, county_scope=access.county_of(self.principal),
                         throughput=await upload_results.throughput(self.db), when=safe_cell,
                         export_url="/api/uploads/export?" + query)


class UploadRecordsPage(PageHandler):
    page_permission = "projects:read"

    async def get(self, raw_pid: str):
        project = await projects.scoped(self.db, self.principal, int(raw_pid))
        if project is None:
            raise HTTPError(404)
        filters = {"kind": _one_of(self.query("kind"), KINDS), "state": _one_of(self.query("state"), STATES + (ALL,), FAILED)}
        rows = await upload_results.records(self.db, project["_id"], kind=filters["kind"],
                                            state="" if filters["state"] == ALL else filters["state"])
        await qualification.attach(self.db, [project], worker_share=self.config.qualified_worker_share)
        counts = (await upload_results.summary(self.db, [project["_id"]]))[project["_id"]]
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v})
        self.render_page("upload_records.html", project=projects.view(project), rows=rows, filters=filters,
                         kinds=upload_results.KIND_LABELS, states=STATES + (ALL,), counts=counts,
                         backlog=await upload_results.backlog(self.db, [project["_id"]]),
                         may_fix=self.principal.may("workforce:write"), when=safe_cell,
                         export_url=f"/api/projects/{project['_id']}/uploads/export?" + query)


default_handlers = [(r"/uploads", UploadSummaryPage), (r"/uploads/([0-9]{1,9})", UploadRecordsPage)]
nav = [{"title": "上传省厅结果查询", "url": "/uploads", "permission": "projects:read", "order": 72}]
