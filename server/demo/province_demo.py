"""The demo's 上传省厅: two projects get platform credentials, records fail for real reasons, one is fixed.

`realname demo` starts `realname province-sim` and hands its address to seed-demo and to every child as
REALNAME_PROVINCE_URL. Then, explicitly here (not left to the worker, so the demo shows results whether or
not the worker runs the upload job kind):

- the first demo project (PROVINCE_PROJECTS[0]) keeps two refusals: a worker whose capture photo is over
  50 KB (头像 headImage 大于 50KB) and a worker entered with a date in the future (进场日期 … 不能晚于今天);
- the second has one worker with a photo over 50 KB; after the passes record the refusal, the worker is
  enrolled again at the gate with a proper photo (as a project would fix it), the next passes send the
  worker again, and the project turns qualified.

Passes are driven with `pipeline.run_once` until that holds (with a deadline). Attendance goes last and is
left to the worker's later passes (it is the bulk and not needed to qualify). The stand-in keeps what it
accepted in memory only: a second `realname demo` on the same data starts with an empty platform, so
records already 上传成功 here are not there (a demo limitation).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time

from pymongo.asynchronous.database import AsyncDatabase
from tornado.httpclient import AsyncHTTPClient

from .. import synthetic
from ..domain.site_clock import site_midnight, site_today
from ..province import pipeline
from ..province.client import HttpPlatform
from ..store import photos, projects, qualification, uploads

PROVINCE_PROJECTS = (1, 3)  # both 在建 (the demo stops project 2 for a while), so the statistics count them
OVERSIZED_PHOTO_BYTES = 60_000
PASS_BUDGET = 400          # records per pass: the units, teams and workers go in the first passes
DEADLINE_SECONDS = 300.0


def credentials(project: dict) -> dict:
    n = project["_id"]
    return {"appid": f"jmdemo-{n:04d}", "appsecret": f"jmDemoSecret{n:04d}-0123456789",
            "project_code": project.get("permit_no") or str(n)}


async def _register_app(url: str, creds: dict) -> None:
    base = url.removesuffix("/api")
    await AsyncHTTPClient().fetch(base + "/_sim/apps", method="POST", body=json.dumps(
        {"appid": creds["appid"], "appsecret": creds["appsecret"], "projectCode": creds["project_code"]}))


async def _workers(db: AsyncDatabase, project_id: int, how_many: int) -> list[dict]:
    """The project's first ordinary workers (not managers), by worker number: the same ones every run."""
    entries = await db.roster.find({"project_id": project_id, "exit_date": None, "job": {"$in": ["钢筋工", "木工", "普通工人"]}},
                                   {"worker_no": 1}).sort("worker_no", 1).to_list(how_many)
    return entries


async def _set_capture_photo(db: AsyncDatabase, worker_no: int, data: bytes) -> None:
    person = await db.people.find_one({"worker_no": worker_no}, {"id_number": 1})
    photo_id = await photos.put(db, "capture", data, owner=person["id_number"])
    await db.people.update_one({"_id": person["_id"]}, {"$set": {"capture_photo_id": photo_id,
                                                                "capture_photo_len": len(data)}})


async def _passes_until(db: AsyncDatabase, platform, config, done, deadline: float) -> bool:
    while time.monotonic() < deadline:
        await pipeline.run_once(db, platform, config, budget=PASS_BUDGET)
        if await done():
            return True
        await asyncio.sleep(0.2)  # the stand-in answers asynchronously: its outcomes are ready a moment later
    return False


async def seed_province(db: AsyncDatabase, config, project_ids=PROVINCE_PROJECTS) -> str:
    if not config.province_url:
        return "skipped (REALNAME_PROVINCE_URL unset)"
    first, second = project_ids
    rng = random.Random(20261201)
    big = synthetic.jpeg_photo(rng, target_bytes=OVERSIZED_PHOTO_BYTES, size=(900, 1200))
    small = synthetic.jpeg_photo(rng, target_bytes=10_000)
    fresh = []
    for pid in project_ids:
        project = await db.projects.find_one({"_id": pid})
        creds = project.get("province") or credentials(project)
        await _register_app(config.province_url, creds)
        if not project.get("province"):
            fresh.append(pid)
            await projects.set_province_credentials(db, pid, creds, actor="演示数据")
    if fresh == list(project_ids):  # first run: the mistakes the platform will refuse
        photo_worker, dated_worker = await _workers(db, first, 2)
        await _set_capture_photo(db, photo_worker["worker_no"], big)
        await db.roster.update_one({"_id": dated_worker["_id"]}, {"$set": {
            "entry_date": site_midnight(site_today() + dt.timedelta(days=3))}})
    (fixed_worker,) = await _workers(db, second, 1)
    fixed_upload = uploads.upload_id("worker", second, fixed_worker["worker_no"])
    if fresh:
        await _set_capture_photo(db, fixed_worker["worker_no"], big)
    platform = HttpPlatform.from_config(config)
    deadline = time.monotonic() + DEADLINE_SECONDS

    async def refused():
        doc = await db.uploads.find_one({"_id": fixed_upload}, {"state": 1})
        return doc is not None and doc["state"] == uploads.FAILED

    async def qualified():
        return second in await qualification.qualified_ids(db, [second], worker_share=config.qualified_worker_share)

    if not await qualified():
        if not await _passes_until(db, platform, config, refused, deadline):
            return "the stand-in did not refuse the oversized photo in time"
        # The project's fix: the worker is enrolled again at the gate with a proper photo.
        await _set_capture_photo(db, fixed_worker["worker_no"], small)
        if not await _passes_until(db, platform, config, qualified, deadline):
            return "project did not turn qualified in time"
    counts = await db.uploads.count_documents({"state": uploads.FAILED})
    return f"projects {list(project_ids)} upload to {config.province_url}; {counts} refused records; project {second} fixed and qualified"
