"""Gateway counters in memory: counted on the hot path, written by `store.gateway_stats.save`."""
from __future__ import annotations

import collections

from pymongo.asynchronous.database import AsyncDatabase

from ..store import gateway_stats
from ..store.db import utcnow


class Stats:
    def __init__(self, gateway_id: str):
        self.gateway_id = gateway_id
        self.started_at = utcnow()
        self.totals: collections.Counter[str] = collections.Counter()
        self.devices: dict = collections.defaultdict(collections.Counter)

    def count(self, device_oid, name: str, n: int = 1) -> None:
        self.totals[name] += n
        if device_oid is not None:
            self.devices[device_oid][name] += n

    async def flush(self, db: AsyncDatabase, *, connections: int, devices_online: int, stopped: bool = False) -> None:
        await gateway_stats.save(db, self.gateway_id, started_at=self.started_at, totals=dict(self.totals),
                                 devices=self.devices, connections=connections, devices_online=devices_online,
                                 stopped=stopped)
