"""Gateway counters: per device (kept on the device document) and per gateway process.

Counted in memory on the hot path and written every few seconds, so a device's
acknowledgement never waits for bookkeeping; the web process reads what was written.
Liveness costs one write per flush whatever the number of devices: a device is online while its
document says so *and* the gateway holding it has refreshed its own document recently
(`devices.is_online`), so 10,000 heartbeating devices cause no per-device writes at all.
"""
from __future__ import annotations

import collections
from pymongo.asynchronous.database import AsyncDatabase

from ..store import devices
from ..store.db import utcnow


class Stats:
    def __init__(self, gateway_id: str):
        self.gateway_id = gateway_id
        self.started_at = utcnow()
        self.totals: collections.Counter[str] = collections.Counter()
        self._device_incs: dict = collections.defaultdict(collections.Counter)

    def count(self, device_oid, name: str, n: int = 1) -> None:
        self.totals[name] += n
        if device_oid is not None:
            self._device_incs[device_oid][name] += n

    async def flush(self, db: AsyncDatabase, *, connections: int, devices_online: int) -> None:
        incs, self._device_incs = self._device_incs, collections.defaultdict(collections.Counter)
        try:
            await devices.add_counters(db, incs)
        except Exception:
            # Put the increments back so a database hiccup loses no counts.
            for oid, c in incs.items():
                self._device_incs[oid].update(c)
            raise
        await db.gateway_stats.update_one(
            {"_id": self.gateway_id},
            {"$set": {"totals": dict(self.totals), "connections": connections, "devices_online": devices_online,
                      "started_at": self.started_at, "updated_at": utcnow()}},
            upsert=True,
        )


async def read_totals(db: AsyncDatabase, *, fresh_within: float) -> dict:
    """Counters of every gateway process, summed; for the web process."""
    now = utcnow()
    totals: collections.Counter[str] = collections.Counter()
    gateways = []
    async for doc in db.gateway_stats.find({}):
        totals.update(doc.get("totals", {}))
        alive = (now - doc["updated_at"]).total_seconds() <= fresh_within
        gateways.append({"id": doc["_id"], "alive": alive, "connections": doc.get("connections", 0),
                         "devices_online": doc.get("devices_online", 0),
                         "started_at": doc["started_at"].isoformat(), "updated_at": doc["updated_at"].isoformat()})
    return {"totals": dict(totals), "gateways": gateways}
