"""合同管理 page: the project's contracts with filters, export, scan downloads, and the register form.

Rendered from the same store functions as /api/projects/{id}/contracts; the register form posts
multipart to that API (with upload progress), so refusals come from one place. Supervisors and
analysts choose a project with the shared picker; project accounts work on their own.
"""
from __future__ import annotations

import urllib.parse

from ..api.contracts import contract_views
from ..store import contracts
from ..store.people import by_worker_nos
from ..domain.identity import mask_id_number
from ..domain.site_clock import SITE_TZ, site_today
from .pages import PageHandler
from .workforce_pages import chosen_project, project_picker_context


class ContractsPage(PageHandler):
    page_permission = "contracts:read"

    async def get(self):
        project = await chosen_project(self)
        context = {"project": project, "picker": await project_picker_context(self, project), "rows": [],
                   "people": [], "filters": {}, "export_url": "", "term_types": contracts.TERM_TYPES,
                   "pay_units": contracts.PAY_UNITS, "expiring_days": contracts.EXPIRING_DAYS,
                   "max_mb": self.config.contract_max_mb, "site_tz": SITE_TZ}
        if project is not None:
            filters = {k: self.query(k) for k in ("name", "worker_no", "expiring") if self.query(k)}
            worker_no = int(filters["worker_no"]) if filters.get("worker_no", "").isdigit() else None
            rows = await contracts.for_project(self.db, project["_id"], name=filters.get("name", "")[:50],
                                               worker_no=worker_no, expiring=filters.get("expiring") == "true",
                                               today=site_today())
            # The same view the API returns (masked), so page and API cannot disagree.
            context["rows"] = await contract_views(self.db, rows)
            context["filters"] = filters
            query = urllib.parse.urlencode(filters)
            context["export_url"] = f"/api/projects/{project['_id']}/contracts/export" + (f"?{query}" if query else "")
            if self.principal.may("contracts:write"):
                context["people"] = await _entered_people(self, project["_id"])
        self.render_page("contracts.html", **context)


async def _entered_people(handler: PageHandler, project_id: int) -> list[dict]:
    """Everyone who is or was entered on the project: the only people who can get a contract there."""
    worker_nos = await handler.db.roster.distinct("worker_no", {"project_id": project_id})
    people = await by_worker_nos(handler.db, worker_nos)
    return [{"worker_no": w, "name": p.get("name", ""), "id_number": mask_id_number(p.get("id_number", ""))}
            for w, p in sorted(people.items())]


default_handlers = [(r"/contracts", ContractsPage)]
nav = [{"title": "合同管理", "url": "/contracts", "permission": "contracts:read", "order": 70}]
