"""设备监控 page: summary tiles, the device table with online/offline tags, filters and the Excel export.

Rendered on the server from the same functions as GET /api/devices/monitor; the filter form is
a plain GET form on this page, and the export link carries the same query to the export API.
"""
from __future__ import annotations

import urllib.parse

from ..api.devices import monitor_filters, monitor_for
from ..store import device_monitoring
from ..api.exports import safe_cell
from .pages import PageHandler


FILTERS = ("project", "state", "silent", "supplier")


def export_link(page: PageHandler, base: str, names: tuple[str, ...]) -> str:
    """The export address carrying the page's non-empty filters, so the file holds what the table shows."""
    query = {name: page.query(name) for name in names if page.query(name)}
    return base + ("?" + urllib.parse.urlencode(query) if query else "")


class DevicesPage(PageHandler):
    page_permission = "devices:read"

    async def get(self):
        filters = monitor_filters(lambda n: self.get_query_argument(n, None))
        scope = await device_monitoring.scope_for(self.db, self.principal)
        result = await monitor_for(self, filters, scope)
        # The choices come from every device in scope, not only the filtered ones.
        everything = await device_monitoring.scoped_devices(self.db, scope)
        project_ids = sorted({d["project_id"] for d in everything})
        projects = [p async for p in self.db.projects.find({"_id": {"$in": project_ids}}, {"name": 1}).sort("_id", 1)]
        supplier_ids = sorted({d["supplier_id"] for d in everything if d.get("supplier_id")})
        suppliers = [s async for s in self.db.suppliers.find({"_id": {"$in": supplier_ids}}, {"name": 1})] \
            if supplier_ids else []
        self.render_page("devices.html", result=result, filters=filters, projects=projects, suppliers=suppliers,
                         show_supplier_filter=self.principal.role != "supplier",
                         export_url=export_link(self, "/api/devices/monitor/export", FILTERS),
                         refusal_text=device_monitoring.refusal_text, when=safe_cell)


default_handlers = [(r"/devices", DevicesPage)]
nav = [{"title": "设备监控", "url": "/devices", "permission": "devices:read", "order": 120}]
