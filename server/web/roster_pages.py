"""项目人员花名册 page: the roster with filters and paging, 人员进场 (unit → team → job), 退场 and
批量退场, 批量人员进场 from Excel with progress and the refused rows, and the export.

Rendered from the same store functions as /api/projects/{id}/roster; forms post to that API
(static/app.js), and static/roster.js fills the cascading unit → team → job selects from
/api/projects/{id}/roster/options. ID numbers are shown masked.
"""
from __future__ import annotations

import urllib.parse

from ..api.roster import entry_view
from ..store import fields, roster_entries
from ..domain.site_clock import site_today
from .pages import PageHandler
from .workforce_pages import chosen_project, project_picker_context

PER_PAGE = 50


class RosterPage(PageHandler):
    page_permission = "workforce:read"

    async def get(self):
        project = await chosen_project(self)
        picker = await project_picker_context(self, project)
        context = {"project": project, "picker": picker, "today": site_today().isoformat()}
        if project is None:
            self.render_page("roster.html", **context)
            return
        status = self.query("status", "in_site")
        status = status if status in roster_entries.STATUSES else "in_site"
        filters = {"q": self.query("q")[:40], "status": status, "unit_id": fields.parse_object_id(self.query("unit_id")),
                   "team_id": fields.parse_object_id(self.query("team_id"))}
        page = int(self.query("page")) if self.query("page").isdigit() and int(self.query("page")) > 0 else 1
        rows, total = await roster_entries.search(self.db, project["_id"], **filters,
                                                  skip=(page - 1) * PER_PAGE, limit=PER_PAGE)
        query = {k: str(v) for k, v in filters.items() if v}
        if not picker["fixed"]:
            query["project"] = str(project["_id"])
        api_query = {k: v for k, v in query.items() if k != "project"}
        self.render_page(
            "roster.html", **context, filters=filters, rows=[entry_view(r) for r in rows], total=total, page=page,
            pages=max(1, -(-total // PER_PAGE)), units=await roster_entries.placement_options(self.db, project["_id"]),
            page_url=lambda n: "/roster?" + urllib.parse.urlencode({**query, "page": n}),
            export_url=f"/api/projects/{project['_id']}/roster/export"
                       + ("?" + urllib.parse.urlencode(api_query) if api_query else ""),
            may_write=self.principal.may("workforce:write"))


default_handlers = [(r"/roster", RosterPage)]
nav = [{"title": "项目人员花名册", "url": "/roster", "permission": "workforce:read", "order": 50}]
