"""项目考勤 page: the monthly grid (项目月考勤) with its filters and export, and the punch detail
(考勤明细) that static/attendance.js loads from the API when a cell, a person or a day is clicked.

The grid is rendered on the server from the same store function as /api/projects/{id}/attendance;
photo thumbnails appear in the detail only for roles with photos:read (each one is audited).
"""
from __future__ import annotations

import urllib.parse

from ..domain import attendance_grid as grid
from ..domain.identity import mask_id_number
from ..domain.rules import RuleError
from ..store import attendance
from ..domain.site_clock import site_today
from .pages import PageHandler
from .workforce_pages import chosen_project, project_picker_context


# The month picker offers the last three years (a <select> in Chinese; <input type=month> speaks the
# browser's language); an older month is still reachable by its URL and is then added to the list.
MONTHS_OFFERED = 36


def month_choices(chosen: grid.Month, current: grid.Month) -> list[dict]:
    months = [current.shifted(-n) for n in range(MONTHS_OFFERED)]
    if chosen not in months:
        months.append(chosen)
    return [{"value": str(m), "label": m.label, "selected": m == chosen} for m in sorted(months, reverse=True)]


class AttendancePage(PageHandler):
    page_permission = "punches:read"

    async def get(self):
        project = await chosen_project(self)
        today = site_today()
        error = ""
        try:
            month = grid.Month.parse(self.query("month") or str(grid.Month.of(today)))
        except RuleError as exc:
            month, error = grid.Month.of(today), exc.message
        context = {"project": project, "picker": await project_picker_context(self, project), "data": None,
                   "month": str(month), "error": error, "months": month_choices(month, grid.Month.of(today)),
                   "previous": str(month.shifted(-1)), "next": str(month.shifted(1)) if month < grid.Month.of(today) else "", "filters": {}, "export_url": "", "today": today.isoformat(),
                   "mark_text": grid.mark_text, "headcount_text": grid.headcount_text, "may_photos": self.principal.may("photos:read")}
        if project is not None:
            filters = {k: self.query(k)[:50] for k in ("unit", "team", "q") if self.query(k)}
            data = await attendance.month_grid(self.db, project, month, today=today, unit_id=filters.get("unit", ""),
                                               team_id=filters.get("team", ""), q=filters.get("q", ""))
            for row in data["rows"]:
                row["id_number"] = mask_id_number(row["id_number"])
            query = urllib.parse.urlencode({"month": str(month), **filters})
            context.update(data=data, filters=filters,
                           export_url=f"/api/projects/{project['_id']}/attendance/export?{query}")
        self.render_page("attendance.html", **context)


default_handlers = [(r"/attendance", AttendancePage)]
nav = [{"title": "项目考勤", "url": "/attendance", "permission": "punches:read", "order": 60}]
