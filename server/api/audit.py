"""Searching the audit log; county-scoped supervisors are left out until entries carry a county."""
from __future__ import annotations

from ..store import audit
from .base import APIHandler, requires
from .openapi import DATE, DATETIME, INT, STR, arr, obj, operation, query_param


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

openapi = {"/api/audit": {"get": operation(
    "审计日志检索（登录、拒绝、未脱敏个人信息的查看与导出）", tag="审计", permission="audit:read", errors=(400,),
    params=[query_param("actor"), query_param("action"), query_param("from", DATE), query_param("to", DATE),
            query_param("limit", {"type": "integer", "minimum": 0, "maximum": 1000})],
    response=obj(["entries", "count"], count=INT, entries=arr(obj(["at", "actor", "action"], at=DATETIME,
                                                                     actor=STR, action=STR))))}}
