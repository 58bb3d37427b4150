"""A month of past attendance for the demo city, so the monthly grid and the figures have history.

The live simulator only punches from now on; without a history every attendance page would show a
single day. Punches are written the way the gateway writes them (same identity key, same fields,
a photo per punch) and the run is idempotent: a day already present for a project is skipped.
"""
from __future__ import annotations

import datetime as dt
import random

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from ..device.codec import MODE_FACE
from ..domain.site_clock import SITE_TZ, site_day, site_today
from ..store.photos import photo_doc
from ..store.punches import PunchIn
from .. import synthetic

HISTORY_DAYS = 30
# Counties whose projects often send nothing for a day, so 县区执行情况's update rates differ.
QUIET_COUNTIES = ("江海区", "恩平市")


def _punch(device: dict, worker_no: int, when: dt.datetime, mode: int, photo: bytes) -> tuple[dict, dict]:
    p = PunchIn(vendor_code=device["vendor_code"], device_id=device["device_id"], project_id=device["project_id"],
                worker_no=worker_no, device_time=when, mode=mode, photo=photo,
                received_at=when.replace(tzinfo=SITE_TZ) + dt.timedelta(seconds=2),
                flags=[])
    return p.document(), photo_doc("punch", photo, _id=p.key)


async def seed_history(db: AsyncDatabase, *, days: int = HISTORY_DAYS) -> int:
    rng = random.Random(20261101)
    photos = synthetic.photo_pool(rng, 4, 3_000, size=(96, 128))
    today = site_today()
    written = 0
    async for project in db.projects.find({"status": {"$in": ["在建", "停工"]}}, {"_id": 1, "county": 1}).sort("_id", 1):
        device = await db.devices.find_one({"project_id": project["_id"], "status": "active"})
        if device is None:
            continue
        roster = [r async for r in db.roster.find({"project_id": project["_id"], "exit_date": None},
                                                  {"worker_no": 1, "job": 1})]
        prng = random.Random(project["_id"] * 104729)
        # A device the demo shows as silent (faulty) has no punches after it was last seen.
        last_seen = device.get("last_seen")
        silent_since = site_day(last_seen).isoformat() if last_seen is not None else None
        # Each project has its own discipline, so execution figures differ between projects.
        turnout = prng.uniform(0.6, 0.97)
        quiet = project.get("county") in QUIET_COUNTIES
        for back in range(days, 0, -1):
            day = today - dt.timedelta(days=back)
            if silent_since is not None and day.isoformat() >= silent_since:
                continue
            # Decided by project and day alone, so a second run leaves the same days empty.
            if quiet and random.Random(project["_id"] * 1_000_003 + day.toordinal()).random() < 0.6:
                continue
            if await db.punches.find_one({"project_id": project["_id"], "date": day.isoformat(), "test": False},
                                         {"_id": 1}):
                continue
            punches, photo_docs = [], []
            for entry in roster:
                if prng.random() > turnout or (day.weekday() == 6 and prng.random() < 0.5):
                    continue
                start = dt.datetime.combine(day, dt.time(7, 0)) + dt.timedelta(minutes=prng.randrange(0, 90))
                end = dt.datetime.combine(day, dt.time(17, 0)) + dt.timedelta(minutes=prng.randrange(0, 120))
                for when in (start, end):
                    punch, photo = _punch(device, entry["worker_no"], when, MODE_FACE, prng.choice(photos))
                    punches.append(punch)
                    photo_docs.append(photo)
            if not punches:
                continue
            for collection, docs in ((db.photos, photo_docs), (db.punches, punches)):
                try:
                    await collection.insert_many(docs, ordered=False)
                except BulkWriteError:
                    pass  # an interrupted earlier run left some of them: keep what is there
            written += len(punches)
    return written
