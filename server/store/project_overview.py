"""项目总览 for the portal: the asynchronous reads behind server/domain/project_overview.py (the Dash
page reads the same records synchronously in dashboards/data.py)."""
from __future__ import annotations

import datetime as dt

from pymongo.asynchronous.database import AsyncDatabase

from ..domain import project_overview as overview
from ..domain.attendance_grid import Month, project_stop_periods
from ..domain.site_clock import site_today
from . import devices as devices_store
from . import people, qualification
from . import rollup_queries as q
from .db import utcnow


async def _devices(db: AsyncDatabase, project_id: int, config, now: dt.datetime) -> list[dict]:
    found = [d async for d in db.devices.find({"project_id": project_id, "status": "active"}, overview.DEVICE_FIELDS)
             if d.get("environment") != "test"]  # test-environment devices support nothing yet
    by_id, by_vendor = {}, {}
    async for s in db.suppliers.find({}, {"name": 1, "vendor_code": 1}):
        by_id[s["_id"]], by_vendor[s["vendor_code"]] = s["name"], s["name"]
    gateways = await devices_store.gateway_heartbeats(db)
    window = devices_store.liveness_window(config.stats_flush_seconds)
    return [{**d, "supplier": overview.supplier_name(d, by_id, by_vendor),
             "online": devices_store.presence(d, gateways, window=window, now=now)[0]} for d in found]


async def of_project(db: AsyncDatabase, project: dict, *, config) -> dict:
    """The overview of a project the caller may see (scope checked by the caller)."""
    pid, today, now = project["_id"], site_today(), utcnow()
    month = Month.of(today)
    roster = [e async for e in db.roster.find({"project_id": pid}, overview.ROSTER_FIELDS)]
    project_days = {d["date"]: d async for d in db[q.PROJECT_DAYS].find(q.project_between(pid, month.first, today),
                                                                       q.PROJECT_DAY_WITH_PEOPLE)}
    teams = {t["_id"]: t async for t in db.teams.find({"project_id": pid}, {"name": 1})}
    names = {n: p.get("name", "") for n, p in
             (await people.by_worker_nos(db, overview.key_post_workers(roster, today), ("name",))).items()}
    qualified = pid in await qualification.qualified_ids(db, [pid], worker_share=config.qualified_worker_share)
    return overview.build({**project, "periods": project_stop_periods(project)}, roster=roster,
                          project_days=project_days, teams=teams, names=names,
                          devices=await _devices(db, pid, config, now), qualified=qualified, today=today, now=now)
