"""Attendance devices as operators see them: registration, online state, gateway counters."""
from __future__ import annotations

import collections

from ..device.stats import device_counters, read_totals
from ..store import devices
from ..store.db import utcnow
from .base import APIHandler, requires
from .openapi import ANY_OBJ, BOOL, DATETIME, INT, STR, arr, nullable, obj, operation, query_param


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


class DevicesHandler(APIHandler):
    @requires("devices:read")
    async def get(self):
        project = self.get_query_argument("project", None)
        project_id = self.int_argument("project", project) if project is not None else None
        now = utcnow()
        gateways = await devices.gateway_heartbeats(self.db)
        window = devices.liveness_window(self.config.stats_flush_seconds)
        live_counts = await device_counters(self.db)
        rows = [device_view(d, gateways, live_counts, window=window, now=now)
                for d in await devices.list_all(self.db, project_id=project_id)]
        self.write_json({"devices": rows, "count": len(rows)})


class GatewayStatsHandler(APIHandler):
    @requires("devices:read")
    async def get(self):
        self.write_json(await read_totals(self.db, fresh_within=devices.liveness_window(self.config.stats_flush_seconds)))


default_handlers = [(r"/api/devices", DevicesHandler), (r"/api/gateway/stats", GatewayStatsHandler)]

openapi = {
    "/api/devices": {"get": operation(
        "考勤设备及在线状态、网关计数", tag="设备", permission="devices:read", errors=(400,),
        params=[query_param("project", INT, "只看该项目的设备")],
        response=obj(["devices", "count"], count=INT, devices=arr(obj(
            ["vendor_code", "device_id", "project_id", "online"], vendor_code=STR, device_id=STR, project_id=INT,
            online=BOOL, last_seen=nullable(DATETIME), last_login=nullable(DATETIME),
            registered_by=nullable(STR), counters=ANY_OBJ))))},
    "/api/gateway/stats": {"get": operation("网关计数汇总", tag="设备", permission="devices:read", errors=())},
}
