"""Attendance devices over HTTP: the registered devices in scope, device monitoring (设备监控) and its export.

Every principal sees only its devices (store.device_monitoring.scope_for): a county supervisor
those of projects in its county, a project account its project's, a supplier the devices
authorised to it; a device out of scope is treated as if it did not exist.
"""
from __future__ import annotations

import collections
from typing import Callable

from bson import ObjectId

from ..domain import vocabulary
from ..store.gateway_stats import device_counters, read_totals
from ..store import device_monitoring, devices
from ..store.db import utcnow
from .base import APIError, APIHandler, requires
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import (ANY_OBJ, BOOL, DATETIME, INT, NUM, STR, arr, enum, nullable, obj, operation,
                      query_param)


def device_view(device: dict, gateways: dict, live_counts: dict, *, window: float, now) -> dict:
    online, last_seen = devices.presence(device, gateways, window=window, now=now)
    counters = collections.Counter(device.get("counters", {}))
    counters.update(live_counts.get(str(device["_id"]), {}))
    return {
        "vendor_code": device["vendor_code"], "device_id": device["device_id"],
        "project_id": device["project_id"], "online": online,
        "last_seen": last_seen, "last_login": device.get("last_login"),
        "registered_by": device.get("registered_by"), "counters": dict(counters),
    }


def _bad(field: str, message: str):
    raise APIError(400, "invalid_argument", message, field=field)


def monitor_filters(argument: Callable[[str], str | None]) -> dict:
    """The monitoring filters from query arguments (shared by the API, its export and the page).

    Empty values mean "no filter", so the page's search form can send every field.
    """
    filters: dict = {"project_id": None, "supplier_id": None, "state": None, "silent_only": False}
    project = (argument("project") or "").strip()
    if project:
        if not project.isdigit() or not 0 <= int(project) <= 0xFFFFFFFF:
            _bad("project", "项目编号须为整数")
        filters["project_id"] = int(project)
    supplier = (argument("supplier") or "").strip()
    if supplier:
        if not ObjectId.is_valid(supplier):
            _bad("supplier", "供应商编号格式不正确")
        filters["supplier_id"] = ObjectId(supplier)
    state = (argument("state") or "").strip()
    if state:
        if state not in ("online", "offline"):
            _bad("state", "须为 online（在线）或 offline（离线）")
        filters["state"] = state
    silent = (argument("silent") or "").strip().lower()
    if silent not in ("", "0", "1", "true", "false"):
        _bad("silent", "须为 true 或 false")
    filters["silent_only"] = silent in ("1", "true")
    return filters


async def monitor_for(handler, filters: dict, scope: device_monitoring.DeviceScope | None = None) -> dict:
    """The monitoring result for the handler's principal (API handlers and pages alike); a caller
    that already holds the principal's scope passes it in rather than have it read again."""
    scope = scope or await device_monitoring.scope_for(handler.db, handler.principal)
    return await device_monitoring.monitor(
        handler.db, scope, window=devices.liveness_window(handler.config.stats_flush_seconds), **filters)


EXPORT_HEADERS = ["项目名称", "所属区县", "环境", "设备厂商编码", "设备编号", "安装位置", "供应商", "在线状态",
                  "最后在线时间", "超过2天未上传", "今日打卡数", "今日测试打卡数",
                  f"近{device_monitoring.REFUSAL_DAYS}天拒收数", "拒收原因"]


def export_rows(rows: list[dict]) -> list[list]:
    return [[r["project_name"], r["county"], r["environment_name"], r["vendor_code"], r["device_id"],
             r["install_place"], r["supplier_name"], "在线" if r["online"] else "离线", r["last_seen"],
             r["silent"], r["punches_today"], r["test_punches_today"], r["refusals_total"],
             device_monitoring.refusal_text(r)] for r in rows]


class DevicesHandler(APIHandler):
    @requires("devices:read")
    async def get(self):
        project = self.get_query_argument("project", None)
        project_id = self.int_argument("project", project) if project is not None else None
        now = utcnow()
        gateways = await devices.gateway_heartbeats(self.db)
        window = devices.liveness_window(self.config.stats_flush_seconds)
        live_counts = await device_counters(self.db)
        scope = await device_monitoring.scope_for(self.db, self.principal)
        rows = [device_view(d, gateways, live_counts, window=window, now=now)
                for d in await device_monitoring.scoped_devices(self.db, scope, project_id=project_id)]
        self.write_json({"devices": rows, "count": len(rows)})


class DeviceMonitorHandler(APIHandler):
    @requires("devices:read")
    async def get(self):
        self.write_json(await monitor_for(self, monitor_filters(lambda n: self.get_query_argument(n, None))))


class DeviceMonitorExportHandler(APIHandler):
    @requires("devices:read")
    async def get(self):
        result = await monitor_for(self, monitor_filters(lambda n: self.get_query_argument(n, None)))
        # Devices carry no personal data, so this export is not audited.
        self.send_download(xlsx_bytes("设备监控", EXPORT_HEADERS, export_rows(result["devices"])),
                           export_filename("设备监控"), XLSX_TYPE)


class GatewayStatsHandler(APIHandler):
    @requires("devices:read")
    async def get(self):
        # The totals are the whole city's gateways: not for accounts scoped to a project, a supplier or a county.
        if self.principal.role in ("project", "supplier") or self.principal.county:
            await self.refuse(403, "forbidden", "网关计数为全市汇总，仅限市级账号查看")
        self.write_json(await read_totals(self.db, fresh_within=devices.liveness_window(self.config.stats_flush_seconds)))


default_handlers = [(r"/api/devices", DevicesHandler), (r"/api/devices/monitor", DeviceMonitorHandler),
                    (r"/api/devices/monitor/export", DeviceMonitorExportHandler),
                    (r"/api/gateway/stats", GatewayStatsHandler)]

_MONITOR_PARAMS = [
    query_param("project", INT, "只看该项目的设备"),
    query_param("state", enum("online", "offline"), "online 在线 / offline 离线"),
    query_param("silent", BOOL, "true: 只看超过 2 天未上传的设备"),
    query_param("supplier", {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}, "只看该供应商的设备"),
]
_MONITOR_ROW = obj(
    ["id", "vendor_code", "device_id", "project_id", "project_name", "environment", "online", "silent",
     "punches_today", "refusals", "refusals_total"],
    id=STR, vendor_code=STR, device_id=STR, project_id=INT, project_name=STR, county=STR,
    environment=enum(*vocabulary.ENVIRONMENTS), environment_name=STR, supplier_id=nullable(STR), supplier_name=STR,
    install_place=STR, model=STR, online=BOOL, last_seen=nullable(DATETIME), silent=BOOL,
    silent_hours=nullable(NUM), registered_hours=nullable(NUM), punches_today=INT, test_punches_today=INT, refusals=ANY_OBJ,
    refusal_messages=ANY_OBJ, refusals_total=INT)

openapi = {
    "/api/devices": {"get": operation(
        "考勤设备及在线状态、网关计数（按账号范围）", tag="设备", errors=(400,),
        params=[query_param("project", INT, "只看该项目的设备")],
        response=obj(["devices", "count"], count=INT, devices=arr(obj(
            ["vendor_code", "device_id", "project_id", "online"], vendor_code=STR, device_id=STR, project_id=INT,
            online=BOOL, last_seen=nullable(DATETIME), last_login=nullable(DATETIME),
            registered_by=nullable(STR), counters=ANY_OBJ))))},
    "/api/devices/monitor": {"get": operation(
        "设备监控：在线/离线、最后在线时间、今日打卡、近 7 天拒收、超过 2 天未上传", tag="设备",
        errors=(400,), params=_MONITOR_PARAMS,
        response=obj(["summary", "devices", "count"], count=INT, refusal_days=INT, silent_after_hours=INT,
                     summary=obj(["total", "online", "offline", "silent"], total=INT, online=INT, offline=INT,
                                 silent=INT),
                     devices=arr(_MONITOR_ROW)))},
    "/api/devices/monitor/export": {"get": operation(
        "设备监控导出 Excel", tag="设备", errors=(400,), params=_MONITOR_PARAMS,
        download=XLSX_TYPE)},
    "/api/gateway/stats": {"get": operation("网关计数汇总（全市；项目、供应商和区县账号无权查看）", tag="设备",
                                            errors=(403,))},
}
