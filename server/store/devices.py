"""Registered attendance devices and their live state (online, last seen, counters)."""
from __future__ import annotations

import datetime as dt

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from .db import utcnow


class DeviceError(ValueError):
    """A registration that cannot be made; the message names the field."""


async def register(db: AsyncDatabase, *, project_id: int, vendor_code: str, device_id: str,
                   registered_by: str = "operator", model: str = "", serial: str = "",
                   install_place: str = "") -> dict:
    vendor_code, device_id = vendor_code.strip(), device_id.strip()
    for field, value in (("vendor_code", vendor_code), ("device_id", device_id)):
        if not value or len(value) > 32 or not value.isascii() or not value.isprintable():
            raise DeviceError(f"{field}: 须为 1–32 个可打印 ASCII 字符 (1-32 printable ASCII characters)")
    if await db.projects.find_one({"_id": project_id}, {"_id": 1}) is None:
        raise DeviceError(f"project: 项目 {project_id} 不存在 (no such project)")
    doc = {
        "vendor_code": vendor_code, "device_id": device_id, "project_id": project_id,
        "status": "active", "online": False, "last_seen": None, "counters": {},
        "model": model, "serial": serial, "install_place": install_place,
        "registered_by": registered_by, "created_at": utcnow(),
    }
    try:
        result = await db.devices.insert_one(doc)
    except DuplicateKeyError:
        raise DeviceError(f"device_id: 设备 {vendor_code}/{device_id} 已注册 (already registered)") from None
    doc["_id"] = result.inserted_id
    return doc


async def find_active(db: AsyncDatabase, vendor_code: str, device_id: str) -> dict | None:
    return await db.devices.find_one({"vendor_code": vendor_code, "device_id": device_id, "status": "active"})


async def mark_online(db: AsyncDatabase, device_oid, *, gateway_id: str, conn_token: str) -> None:
    now = utcnow()
    await db.devices.update_one(
        {"_id": device_oid},
        {"$set": {"online": True, "gateway_id": gateway_id, "conn_token": conn_token,
                  "last_login": now, "last_seen": now}},
    )


async def mark_offline(db: AsyncDatabase, device_oid, *, conn_token: str, last_seen: dt.datetime) -> None:
    # Only the connection that still owns the device may mark it offline: after a takeover by a
    # newer login (here or on another gateway) the old connection's close must not undo it.
    await db.devices.update_one(
        {"_id": device_oid, "conn_token": conn_token},
        {"$set": {"online": False, "last_seen": last_seen}},
    )


async def owners(db: AsyncDatabase, device_oids: list) -> dict:
    """device _id -> (status, conn_token, project_id) for the gateway's periodic ownership check."""
    cursor = db.devices.find({"_id": {"$in": device_oids}}, {"status": 1, "conn_token": 1, "project_id": 1})
    return {d["_id"]: (d.get("status"), d.get("conn_token"), d.get("project_id")) async for d in cursor}


async def flush_activity(db: AsyncDatabase, activity: dict) -> None:
    """activity: device _id -> (last_seen or None, {counter: increment})."""
    ops = []
    for oid, (last_seen, incs) in activity.items():
        update: dict = {}
        if last_seen is not None:
            update["$max"] = {"last_seen": last_seen}
        if incs:
            update["$inc"] = {f"counters.{k}": v for k, v in incs.items()}
        if update:
            ops.append(UpdateOne({"_id": oid}, update))
    if ops:
        await db.devices.bulk_write(ops, ordered=False)


async def list_all(db: AsyncDatabase, *, project_id: int | None = None) -> list[dict]:
    query = {"status": "active"} if project_id is None else {"status": "active", "project_id": project_id}
    return [d async for d in db.devices.find(query, {"conn_token": 0}).sort([("project_id", 1), ("device_id", 1)])]


def is_online(device: dict, *, idle_timeout: float, now: dt.datetime | None = None) -> bool:
    """The stored flag can be stale after a gateway crash, so a device also needs recent activity."""
    last_seen = device.get("last_seen")
    if not device.get("online") or last_seen is None:
        return False
    return ((now or utcnow()) - last_seen).total_seconds() <= idle_timeout + 5
