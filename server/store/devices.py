"""Registered attendance devices and their live state (online, last seen, counters).

Every write that can matter to a live connection (registration, login, removal, moving to another
project, and later authorisation changes) stamps `changed_at`. Gateways poll for devices changed
since they last looked instead of re-reading all the devices they hold: the cost follows the
rate of changes, not the number of connected devices.
"""
from __future__ import annotations

import datetime as dt

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from .db import utcnow


class DeviceError(ValueError):
    """A registration that cannot be made; the message names the field."""


async def register(db: AsyncDatabase, *, project_id: int, vendor_code: str, device_id: str,
                   registered_by: str = "operator", model: str = "", serial: str = "",
                   install_place: str = "", environment: str | None = None,
                   admission: dict | None = None) -> dict:
    """`environment` "test" marks its punches test data; `admission` links a device admitted by the
    supplier workflow to its supplier and application (set at insert, so no login sees it without)."""
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
        "registered_by": registered_by, "created_at": utcnow(), "changed_at": utcnow(),
    }
    if environment is not None:
        doc["environment"] = environment
    if admission:
        doc.update(admission)
    try:
        result = await db.devices.insert_one(doc)
    except DuplicateKeyError:
        raise DeviceError(f"device_id: 设备 {vendor_code}/{device_id} 已注册 (already registered)") from None
    doc["_id"] = result.inserted_id
    return doc


def by_code_query(vendor_code: str, device_id: str) -> dict:
    # Only indexed fields in the query: the embedded server's planner falls back to a collection
    # scan when a query adds a predicate its index does not cover (status is checked by callers).
    return {"vendor_code": vendor_code, "device_id": device_id}


ACTIVE = {"status": "active"}


async def find_active(db: AsyncDatabase, vendor_code: str, device_id: str) -> dict | None:
    """The device a 843 login names, when it is in service."""
    device = await db.devices.find_one(by_code_query(vendor_code, device_id))
    return device if device is not None and device.get("status") == "active" else None


async def find_active_unpadded(db: AsyncDatabase, candidates) -> list[dict]:
    """The active devices whose (vendor code, device id) is one of `candidates` (readings of an
    unpadded 843, `codec.unpadded_logins`); more than one means the login is ambiguous."""
    by_vendor: dict[str, set[str]] = {}
    for c in candidates:
        by_vendor.setdefault(c.vendor_code, set()).add(c.device_id)
    if not by_vendor:
        return []
    # One query on the index's leading field; the few vendor codes that exist answer it.
    cursor = db.devices.find({"vendor_code": {"$in": sorted(by_vendor)}}, {"vendor_code": 1, "device_id": 1, "status": 1})
    return [await db.devices.find_one({"_id": d["_id"]}) async for d in cursor
            if d.get("status") == "active" and d["device_id"] in by_vendor[d["vendor_code"]]]


def login_forms(vendor_code: str, device_id: str) -> str:
    """What a device registered with these codes must send in 843, for whoever registers it."""
    padded = "厂商编号与设备编号各以 0x00 补足 32 字节, 再加 1 字节校验 (共 65 字节)"
    if len(vendor_code) == 32 and len(device_id) == 32:
        return f"设备登录 (843) 发送: {padded}"
    joined = vendor_code + device_id
    return (f"设备登录 (843) 发送: {padded}; 或不补齐直接发送 {joined} ({len(joined)} 字节, 可带 1 字节校验), "
            "网关按已注册设备识别并计数 login_unpadded")


async def mark_online(db: AsyncDatabase, device_oid, *, gateway_id: str, conn_token: str) -> None:
    now = utcnow()
    await db.devices.update_one(
        {"_id": device_oid},
        {"$set": {"online": True, "gateway_id": gateway_id, "conn_token": conn_token,
                  "last_login": now, "last_seen": now, "changed_at": now}},
    )


async def mark_offline(db: AsyncDatabase, device_oid, *, conn_token: str, last_seen: dt.datetime) -> None:
    # Only the connection that still owns the device may mark it offline: after a takeover by a
    # newer login (here or on another gateway) the old connection's close must not undo it.
    await db.devices.update_one(
        {"_id": device_oid, "conn_token": conn_token},
        {"$set": {"online": False, "last_seen": last_seen}},
    )


def changed_since_query(since: dt.datetime) -> dict:
    return {"changed_at": {"$gt": since}}


async def changed_since(db: AsyncDatabase, since: dt.datetime) -> list[dict]:
    """Devices changed after `since`, with what a gateway needs to decide whether to keep them."""
    cursor = db.devices.find(changed_since_query(since),
                             {"status": 1, "conn_token": 1, "gateway_id": 1, "project_id": 1, "environment": 1})
    return [d async for d in cursor]


async def set_status(db: AsyncDatabase, device_oid, status: str) -> None:
    """Remove (or restore) a device; its live connection is closed within a sync interval."""
    await db.devices.update_one({"_id": device_oid}, {"$set": {"status": status, "changed_at": utcnow()}})


async def gateway_heartbeats(db: AsyncDatabase) -> dict[str, tuple[dt.datetime, bool]]:
    """gateway id -> (when it last wrote its status, whether it stopped): what every online flag depends on."""
    cursor = db.gateway_stats.find({}, {"updated_at": 1, "stopped": 1})
    return {d["_id"]: (d["updated_at"], bool(d.get("stopped"))) async for d in cursor}


async def list_all(db: AsyncDatabase, *, project_id: int | None = None) -> list[dict]:
    query = {"status": "active"} if project_id is None else {"status": "active", "project_id": project_id}
    return [d async for d in db.devices.find(query, {"conn_token": 0}).sort([("project_id", 1), ("device_id", 1)])]


def liveness_window(stats_flush_seconds: float) -> float:
    """How stale a gateway's own document may be before its devices count as offline."""
    return 3 * stats_flush_seconds + 5


def presence(device: dict, gateways: dict[str, tuple[dt.datetime, bool]], *, window: float,
             now: dt.datetime | None = None) -> tuple[bool, dt.datetime | None]:
    """(online, last seen). The stored flag outlives a gateway that stopped or crashed (neither
    writes per device), so it counts only while that gateway is alive; a device still flagged
    online was last seen at its gateway's latest refresh."""
    now = now or utcnow()
    last_seen = device.get("last_seen")
    beat, stopped = gateways.get(device.get("gateway_id"), (None, True))
    if not device.get("online") or beat is None:
        return False, last_seen
    last_seen = max(beat, last_seen or beat)
    return (not stopped and (now - beat).total_seconds() <= window), last_seen
