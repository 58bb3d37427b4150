"""Device monitoring (设备监控): who may see which device, and each device's health at a glance.

A device is healthy when it is online, uploads punches, and few of its punches are refused. The
notice (十八) allows attendance to stop for at most 2 days because of a device fault, so a device
that has sent nothing — no login, heartbeat or punch — for more than 48 hours is flagged silent
(domain.md, "Device outage"). A device that never connected counts from its registration.

Every query here filters only on leading fields of an index (schema.INDEXES; the embedded
planner scans the whole collection otherwise): punches by (date, test[, project_id]), refusals by
`at` alone (a range after an $in on device_id is not used by the planner), devices by project_id
or supplier_id (a city-wide view reads every device: there the whole collection is the answer).
What is left to narrow is narrowed in Python on small, grouped results.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from .. import access
from ..domain import vocabulary
from . import devices as device_store
from ..domain.site_clock import site_today
from .db import utcnow

SILENT_AFTER = dt.timedelta(days=2)   # (十八) 因设备故障导致考勤中止的时间不得超过2天
REFUSAL_DAYS = 7                     # refusals are summed over this many days
ENVIRONMENT_NAMES = vocabulary.ENVIRONMENT_NAMES


@dataclasses.dataclass(frozen=True)
class DeviceScope:
    """Which devices a principal may see: None fields mean no limit of that kind.

    `nothing` is for roles that hold no devices at all (an enterprise account, say), so a
    permission granted by mistake still shows nothing rather than everything.
    """
    project_ids: frozenset[int] | None = None
    supplier_id: ObjectId | None = None
    nothing: bool = False

    def allows(self, device: dict) -> bool:
        if self.nothing:
            return False
        if self.project_ids is not None and device.get("project_id") not in self.project_ids:
            return False
        return self.supplier_id is None or device.get("supplier_id") == self.supplier_id


async def scope_for(db: AsyncDatabase, principal: access.Principal) -> DeviceScope:
    """The city level: every device; a supplier: the devices authorised to it (`supplier_id` on
    the device; devices an operator registered have none); everyone else: the devices of the
    projects it sees (access.project_filter: its project's, its county's, or none)."""
    kind = access.scope_of(principal)
    if kind == "city":
        return DeviceScope()
    if kind == "supplier":
        return DeviceScope(supplier_id=principal.supplier_id) if principal.supplier_id is not None \
            else DeviceScope(nothing=True)
    ids = [p["_id"] async for p in db.projects.find(access.project_filter(principal), {"_id": 1})]
    return DeviceScope(project_ids=frozenset(ids))


def devices_query(scope: DeviceScope, project_id: int | None, supplier_id: ObjectId | None) -> dict | None:
    """The narrowest indexed query covering scope and filters; None when nothing can match."""
    if scope.nothing:
        return None
    if project_id is not None:
        return {"project_id": project_id}
    supplier = scope.supplier_id or supplier_id
    if supplier is not None:
        return {"supplier_id": supplier}
    if scope.project_ids is not None:
        return {"project_id": {"$in": sorted(scope.project_ids)}}
    return {}


async def scoped_devices(db: AsyncDatabase, scope: DeviceScope, *, project_id: int | None = None,
                         supplier_id: ObjectId | None = None) -> list[dict]:
    """Active devices in scope matching the filters, by project then device number."""
    query = devices_query(scope, project_id, supplier_id)
    if query is None:
        return []
    found = [d async for d in db.devices.find(query, {"conn_token": 0})]
    # status and the filters not used by the query are checked here (see the module docstring).
    found = [d for d in found if d.get("status") == "active" and scope.allows(d)
             and (project_id is None or d.get("project_id") == project_id)
             and (supplier_id is None or d.get("supplier_id") == supplier_id)]
    return sorted(found, key=lambda d: (d["project_id"], d["vendor_code"], d["device_id"]))


def punches_today_pipeline(project_ids: list[int] | None, day: dt.date, *, test: bool) -> list[dict]:
    """Punches of one day per device, production or test, city-wide or in some projects."""
    match: dict = {"date": day.isoformat(), "test": test}
    if project_ids is not None:
        match["project_id"] = {"$in": project_ids}
    return [{"$match": match}, {"$group": {"_id": {"v": "$vendor_code", "d": "$device_id"}, "n": {"$sum": 1}}}]


async def punches_today(db: AsyncDatabase, project_ids: list[int] | None, day: dt.date) -> dict:
    """(vendor_code, device_id) -> {False: production punches today, True: test punches today}."""
    counts: dict = collections.defaultdict(lambda: {False: 0, True: 0})
    for test in (False, True):
        async for row in await db.punches.aggregate(punches_today_pipeline(project_ids, day, test=test)):
            counts[(row["_id"]["v"], row["_id"]["d"])][test] = row["n"]
    return counts


def recent_refusals_pipeline(since: dt.datetime) -> list[dict]:
    return [{"$match": {"at": {"$gte": since}}},
            {"$group": {"_id": {"v": "$vendor_code", "d": "$device_id", "r": "$reason"},
                        "n": {"$sum": 1}, "message": {"$first": "$message"}}}]


async def recent_refusals(db: AsyncDatabase, since: dt.datetime) -> dict:
    """(vendor_code, device_id) -> {reason: {"count", "message"}} for refusals since `since`."""
    found: dict = collections.defaultdict(dict)
    async for row in await db.punch_refusals.aggregate(recent_refusals_pipeline(since)):
        key = row["_id"]
        found[(key["v"], key["d"])][key["r"]] = {"count": row["n"], "message": row.get("message") or key["r"]}
    return found


async def _names(db: AsyncDatabase, collection: str, ids: set, projection: dict) -> dict:
    if not ids:
        return {}
    return {d["_id"]: d async for d in db[collection].find({"_id": {"$in": sorted(ids)}}, projection)}


def is_silent(online: bool, last_seen: dt.datetime | None, created_at: dt.datetime | None,
              now: dt.datetime) -> bool:
    """No login, heartbeat or punch for more than 2 days (counted from registration if never seen)."""
    reference = last_seen or created_at
    return not online and reference is not None and now - _aware(reference) > SILENT_AFTER


def _hours_since(moment: dt.datetime, now: dt.datetime) -> float:
    return round((now - _aware(moment)).total_seconds() / 3600, 1)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


async def monitor(db: AsyncDatabase, scope: DeviceScope, *, window: float, project_id: int | None = None,
                  supplier_id: ObjectId | None = None, state: str | None = None, silent_only: bool = False,
                  now: dt.datetime | None = None) -> dict:
    """Rows for the monitoring table and the summary tiles.

    The summary counts the devices in scope and the project/supplier filters, before the
    online/offline and silent filters, so the tiles keep showing the whole picture.
    """
    now = now or utcnow()
    found = await scoped_devices(db, scope, project_id=project_id, supplier_id=supplier_id)
    gateways = await device_store.gateway_heartbeats(db)
    project_ids = sorted({d["project_id"] for d in found})
    narrowed = project_id is not None or scope.project_ids is not None or scope.supplier_id is not None \
        or supplier_id is not None
    today = await punches_today(db, project_ids if narrowed else None, site_today()) if found else {}
    refusals = await recent_refusals(db, now - dt.timedelta(days=REFUSAL_DAYS)) if found else {}
    projects = await _names(db, "projects", set(project_ids), {"name": 1, "county": 1, "status": 1})
    suppliers = await _names(db, "suppliers", {d["supplier_id"] for d in found if d.get("supplier_id")},
                             {"name": 1})
    rows = []
    for device in found:
        online, last_seen = device_store.presence(device, gateways, window=window, now=now)
        key = (device["vendor_code"], device["device_id"])
        project = projects.get(device["project_id"], {})
        environment = "test" if device.get("environment") == "test" else "production"
        reasons = refusals.get(key, {})
        supplier = suppliers.get(device.get("supplier_id"), {})
        created = device.get("created_at")
        rows.append({
            "id": str(device["_id"]), "vendor_code": device["vendor_code"], "device_id": device["device_id"],
            "project_id": device["project_id"], "project_name": project.get("name", ""),
            "county": project.get("county", ""), "environment": environment,
            "environment_name": ENVIRONMENT_NAMES[environment],
            "supplier_id": str(device["supplier_id"]) if device.get("supplier_id") else None,
            "supplier_name": supplier.get("name", ""),
            "install_place": device.get("install_place", ""), "model": device.get("model", ""),
            "online": online, "last_seen": last_seen,
            "silent": is_silent(online, last_seen, device.get("created_at"), now),
            # Hours without data count from when it was last seen; a device never seen has none, only
            # the hours since registration (one state per row: 从未上线, never "从未上线" and "已 N 小时无数据").
            "silent_hours": None if online or last_seen is None else _hours_since(last_seen, now),
            "registered_hours": None if last_seen is not None or created is None else _hours_since(created, now),
            "punches_today": today.get(key, {}).get(False, 0),
            "test_punches_today": today.get(key, {}).get(True, 0),
            "refusals": {reason: v["count"] for reason, v in sorted(reasons.items())},
            "refusal_messages": {reason: v["message"] for reason, v in sorted(reasons.items())},
            "refusals_total": sum(v["count"] for v in reasons.values()),
        })
    summary = {"total": len(rows), "online": sum(r["online"] for r in rows),
               "offline": sum(not r["online"] for r in rows), "silent": sum(r["silent"] for r in rows)}
    if state == "online":
        rows = [r for r in rows if r["online"]]
    elif state == "offline":
        rows = [r for r in rows if not r["online"]]
    if silent_only:
        rows = [r for r in rows if r["silent"]]
    return {"summary": summary, "devices": rows, "count": len(rows), "refusal_days": REFUSAL_DAYS,
            "silent_after_hours": int(SILENT_AFTER.total_seconds() // 3600)}


def refusal_text(row: dict) -> str:
    """Refusals of one row for a cell: "人员未进场 3；照片过大 1"."""
    return "；".join(f"{row['refusal_messages'][r]} {n}" for r, n in row["refusals"].items())
