"""Demo devices in trouble, so 设备监控 has something to show: two silent for more than 2 days
(notice (十八): attendance may not stop for longer than that because of a device fault), one
offline since yesterday, and a few refused punches.

The simulated fleet of `realname demo` uses the first devices (DEMO-0001…, 20 by default); the
ones changed here are the last projects' devices, which it leaves alone. Idempotent: every run
sets the same states relative to now and upserts the same refusals.
"""
from __future__ import annotations

import datetime as dt

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from ..simulator.options import FleetOptions
from ..store import devices
from ..store.db import utcnow

# `realname simulate` with no options drives these (its default vendor code and device ids), on the
# first demo project, so it runs against the demo without taking over the demo's own JMDEMO devices.
SIMULATOR_PROJECT = 1

# device number -> hours since it was last seen
LAST_SEEN_HOURS = {24: 4 * 24, 23: 3 * 24 + 5, 22: 20}
REFUSALS = [("not_entered", "人员未进场", 3), ("unknown_worker", "工人编号不存在", 1)]


async def seed_simulator_devices(db: AsyncDatabase, project_id: int = SIMULATOR_PROJECT) -> int:
    """Register the simulator's default devices (SIMVENDOR/SIM-0001…); returns how many were new."""
    defaults = FleetOptions("", 0)
    added = 0
    for number in range(defaults.first_device, defaults.first_device + defaults.devices):
        device_id = defaults.device_id(number)
        if await devices.find_active(db, defaults.vendor_code, device_id) is None:
            await devices.register(db, project_id=project_id, vendor_code=defaults.vendor_code, device_id=device_id,
                                   registered_by="simulator", install_place="模拟设备（realname simulate）")
            added += 1
    return added


async def seed_device_states(db: AsyncDatabase, *, vendor_code: str, device_prefix: str) -> int:
    now = utcnow()
    changed = 0
    for number, hours in LAST_SEEN_HOURS.items():
        device_id = f"{device_prefix}{number:04d}"
        device = await db.devices.find_one({"vendor_code": vendor_code, "device_id": device_id})
        if device is None or device.get("online"):
            continue  # not seeded, or connected right now: leave a live device alone
        seen = now - dt.timedelta(hours=hours)
        await db.devices.update_one({"_id": device["_id"]},
                                    {"$set": {"online": False, "last_seen": seen, "last_login": seen}})
        ops = [UpdateOne({"_id": f"demo-refusal-{device_id}-{reason}-{i}"},
                         {"$set": {"at": seen - dt.timedelta(minutes=10 * i), "vendor_code": vendor_code,
                                   "device_id": device_id, "project_id": device["project_id"], "worker_no": 0,
                                   "mode": 6, "photo_len": 0, "reason": reason, "message": message}},
                         upsert=True)
               for reason, message, count in REFUSALS for i in range(count)]
        await db.punch_refusals.bulk_write(ops, ordered=False)
        changed += 1
    return changed
