"""Searching and exporting the audit log; county-scoped supervisors are left out until entries carry a county."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from .. import access
from ..domain.audit_actions import action_name, describe
from ..store import audit
from .base import APIError, APIHandler, requires
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import ANY_OBJ, BOOL, DATE, DATETIME, INT, STR, arr, obj, operation, query_param

EXPORT_MAX = 10_000  # rows in one export; narrow the dates for more


def _date(field: str, value: str) -> dt.date | None:
    return APIHandler.date_field({field: value}, field, required=False)


def search_filters(argument: Callable[[str], str | None]) -> dict:
    """actor, action (code or Chinese name), from, to, devices from query arguments; empty values mean
    "any" (the page sends every field); devices=1 keeps devices' own entries in."""
    filters = {"actor": (argument("actor") or "").strip() or None,
               "action": (argument("action") or "").strip() or None,
               "day_from": _date("from", (argument("from") or "").strip()),
               "day_to": _date("to", (argument("to") or "").strip()),
               "with_devices": (argument("devices") or "").strip().lower() in ("1", "true", "on", "yes")}
    if filters["day_from"] and filters["day_to"] and filters["day_from"] > filters["day_to"]:
        raise APIError(400, "invalid_argument", "结束日期不能早于开始日期", field="to")
    return filters


async def refuse_county_supervisor(handler) -> None:
    # Entries carry no county yet, so a county supervisor would see other counties' activity.
    if access.county_of(handler.principal):
        await handler.refuse(403, "forbidden", "审计日志仅限市级监管账号查看")


class AuditHandler(APIHandler):
    @requires("audit:read")
    async def get(self):
        await refuse_county_supervisor(self)
        limit = self.get_query_argument("limit", None)
        # 0 or no limit: the newest 100.
        limit = min(self.int_argument("limit", limit), 1000) or 100 if limit else 100
        rows = await audit.search(self.db, limit=limit,
                                  **search_filters(lambda n: self.get_query_argument(n, None)))
        for row in rows:
            row["action_name"] = action_name(row["action"])
        self.write_json({"entries": rows, "count": len(rows)})


class AuditExportHandler(APIHandler):
    @requires("audit:read")
    async def get(self):
        await refuse_county_supervisor(self)
        filters = search_filters(lambda n: self.get_query_argument(n, None))
        rows = await audit.search(self.db, limit=EXPORT_MAX, **filters)
        # Who took a copy of the log is itself worth knowing.
        await self.audit("audit_export", None, rows=len(rows),
                         filters={k: str(v) for k, v in filters.items() if v})
        data = xlsx_bytes("审计日志", ["时间", "操作人", "操作", "对象", "详情"],
                          [[r["at"], r["actor"], action_name(r["action"]), describe(r.get("target")), describe(r.get("detail"))]
                           for r in rows])
        self.send_download(data, export_filename("审计日志"), XLSX_TYPE)


default_handlers = [(r"/api/audit", AuditHandler), (r"/api/audit/export", AuditExportHandler)]

_SEARCH_PARAMS = [query_param("actor", description="操作人（账号）"), query_param("action", description="操作：代码或中文名称的一部分（如 登录）"),
                  query_param("devices", BOOL, "true: 含设备自动写入的记录（设备下发人员信息）"),
                  query_param("from", DATE, "开始日期"), query_param("to", DATE, "结束日期")]

openapi = {
    "/api/audit": {"get": operation(
        "审计日志检索（登录、拒绝、未脱敏个人信息的查看与导出）", tag="审计", errors=(400,),
        params=_SEARCH_PARAMS + [query_param("limit", {"type": "integer", "minimum": 0, "maximum": 1000})],
        response=obj(["entries", "count"], count=INT, entries=arr(obj(
            ["at", "actor", "action", "action_name"], at=DATETIME, actor=STR, action=STR, action_name=STR,
            target=ANY_OBJ, detail=ANY_OBJ))))},
    "/api/audit/export": {"get": operation(
        f"审计日志导出 Excel（最多 {EXPORT_MAX} 条，最新的在前）", tag="审计", errors=(400,),
        params=_SEARCH_PARAMS, download=XLSX_TYPE)},
}
