"""Gateway counters as stored: per device and per gateway process, readable by the web process.

Counted in memory on the hot path (`device.stats.Stats`); each gateway writes ONE document per
flush holding its totals and its per-device counts since it started. Per-device `$inc` writes would cost one
database write per device per flush, and on the embedded server 500 of them stalled punch
acknowledgements for over a second. The document also carries the gateway's liveness: a
device is online while its own document says so and the gateway holding it has refreshed
its document recently (`devices.presence`), so heartbeats cause no per-device writes at all.

When a gateway process ends for good, its document stays until another gateway folds it into
the devices' permanent counters (`fold_dead_gateways`).
"""
from __future__ import annotations

import collections
import datetime as dt

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from .db import utcnow

HISTORY_ID = "history"  # totals of gateways that have been folded


async def save(db: AsyncDatabase, gateway_id: str, *, started_at: dt.datetime, totals: dict, devices: dict,
               connections: int, devices_online: int, stopped: bool = False) -> None:
    """Replace the gateway's one document with its counts since it started (devices keyed by id)."""
    await db.gateway_stats.update_one(
        {"_id": gateway_id},
        {"$set": {"totals": totals, "connections": connections, "devices_online": devices_online,
                  "stopped": stopped, "devices": {str(oid): dict(c) for oid, c in devices.items()},
                  "started_at": started_at, "updated_at": utcnow()}},
        upsert=True,
    )


async def fold_dead_gateways(db: AsyncDatabase, *, dead_after: float) -> int:
    """Move the counts of gateways silent for `dead_after` seconds into the devices and history.

    The document is deleted before its counts are applied, so two gateways starting together
    cannot both fold it; a crash in between loses those counts, never doubles them.
    """
    cutoff = utcnow() - dt.timedelta(seconds=dead_after)
    folded = 0
    while True:
        doc = await db.gateway_stats.find_one_and_delete({"_id": {"$ne": HISTORY_ID}, "updated_at": {"$lt": cutoff}})
        if doc is None:
            return folded
        ops = [UpdateOne({"_id": ObjectId(oid)}, {"$inc": {f"counters.{k}": v for k, v in c.items()}})
               for oid, c in doc.get("devices", {}).items() if c and ObjectId.is_valid(oid)]
        if ops:
            await db.devices.bulk_write(ops, ordered=False)
        # Devices still flagged online through this gateway were last seen when it last wrote.
        await db.devices.update_many({"gateway_id": doc["_id"], "online": True},
                                     {"$set": {"online": False}, "$max": {"last_seen": doc["updated_at"]}})
        totals = {f"totals.{k}": v for k, v in doc.get("totals", {}).items() if v}
        if totals:
            await db.gateway_stats.update_one({"_id": HISTORY_ID},
                                              {"$inc": totals, "$set": {"updated_at": utcnow()}}, upsert=True)
        folded += 1


async def device_counters(db: AsyncDatabase) -> dict[str, collections.Counter]:
    """device id (str) -> counts of gateways not yet folded; add them to `device.counters`."""
    merged: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    async for doc in db.gateway_stats.find({"_id": {"$ne": HISTORY_ID}}, {"devices": 1}):
        for oid, counts in doc.get("devices", {}).items():
            merged[oid].update(counts)
    return merged


async def read_totals(db: AsyncDatabase, *, fresh_within: float) -> dict:
    """Counters of every gateway process, summed, and the state of each; for the web process."""
    now = utcnow()
    totals: collections.Counter[str] = collections.Counter()
    gateways = []
    async for doc in db.gateway_stats.find({}, {"devices": 0}):
        totals.update(doc.get("totals", {}))
        if doc["_id"] == HISTORY_ID:
            continue
        alive = not doc.get("stopped") and (now - doc["updated_at"]).total_seconds() <= fresh_within
        gateways.append({"id": doc["_id"], "alive": alive, "stopped": bool(doc.get("stopped")), "connections": doc.get("connections", 0),
                         "devices_online": doc.get("devices_online", 0),
                         "started_at": doc["started_at"], "updated_at": doc["updated_at"]})
    return {"totals": dict(totals), "gateways": gateways}
