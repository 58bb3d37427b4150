"""Searching the audit log; county-scoped supervisors are left out until entries carry a county."""
from __future__ import annotations

from ..store import audit
from .base import APIHandler, requires


class AuditHandler(APIHandler):
    @requires("audit:read")
    async def get(self):
        if self.principal.county:
            await self.refuse(403, "forbidden", "审计日志仅限市级监管账号查看")
        limit = self.get_query_argument("limit", None)
        limit = min(self.int_argument("limit", limit), 1000) if limit is not None else 100
        day_from, day_to = self.date_argument("from", None), self.date_argument("to", None)
        rows = await audit.search(self.db, actor=self.get_query_argument("actor", None) or None,
                                  action=self.get_query_argument("action", None) or None,
                                  day_from=day_from, day_to=day_to, limit=limit or 100)
        self.write_json({"entries": rows, "count": len(rows)})


default_handlers = [(r"/api/audit", AuditHandler)]
