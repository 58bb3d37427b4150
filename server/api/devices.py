"""Attendance devices as operators see them: registration, online state, gateway counters."""
from __future__ import annotations

import collections

from ..device.stats import device_counters, read_totals
from ..store import devices
from ..store.db import utcnow
from .base import APIHandler, requires


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
