"""审计日志 page: search by operator, action and dates; the table of entries; the Excel export."""
from __future__ import annotations

from ..api.audit import EXPORT_MAX, refuse_county_supervisor, search_filters
from ..domain.audit_actions import action_name, describe
from ..api.exports import safe_cell
from ..store import audit
from .device_pages import export_link
from .pages import PageHandler

PAGE_ROWS = 200  # newest entries shown; the export holds up to EXPORT_MAX


class AuditPage(PageHandler):
    page_permission = "audit:read"

    async def get(self):
        await refuse_county_supervisor(self)
        filters = search_filters(lambda n: self.get_query_argument(n, None))
        rows = await audit.search(self.db, limit=PAGE_ROWS, **filters)
        folded = 0 if filters["action"] or filters["with_devices"] else await audit.count_device_entries(
            self.db, day_from=filters["day_from"], day_to=filters["day_to"])
        self.render_page("audit.html", rows=rows, filters=filters, page_rows=PAGE_ROWS, export_max=EXPORT_MAX,
                         describe=describe, action_name=action_name, when=safe_cell, folded=folded,
                         export_url=export_link(self, "/api/audit/export", ("actor", "action", "from", "to", "devices")))


default_handlers = [(r"/audit", AuditPage)]
# Audit entries carry no county yet, so only city-level accounts get the page (and its menu entry).
nav = [{"title": "审计日志", "url": "/audit", "permission": "audit:read", "order": 200, "city_only": True}]
