"""The `jobs` collection: background work handed to worker processes, with leases.

A job is taken by exactly one worker at a time: claiming is one find_one_and_update that moves it
to `running` with the worker's name and a lease expiry, so two workers can never both win. A
running worker renews its lease; a job whose lease ran out (its worker was killed) is claimed
again by the next worker that looks, with `attempts` counting the takeovers. A periodic kind has
one document (`_id` "periodic:<kind>") that goes back to `queued`, due one interval later, after
each run — so of several workers only one runs it per interval.
"""
from __future__ import annotations

import datetime as dt

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from .db import utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)
# A job that killed its worker this many times is given up rather than taken over for ever.
MAX_ATTEMPTS = 5
# Periodic runs kept on the document, for operators (and the test that they happen once per interval).
RUNS_KEPT = 20


def periodic_id(kind: str) -> str:
    return f"periodic:{kind}"


async def submit(db: AsyncDatabase, kind: str, params: dict, *, job_id: ObjectId | None = None,
                 max_attempts: int = MAX_ATTEMPTS) -> ObjectId:
    """Queue one job of `kind`; returns its id (the caller may choose it, to share it with a report)."""
    now = utcnow()
    doc = {"_id": job_id or ObjectId(), "kind": kind, "params": params, "state": QUEUED, "due_at": now,
           "progress": {}, "attempts": 0, "max_attempts": max_attempts, "lease_owner": None,
           "lease_expires": None, "result": None, "error": "", "created_at": now, "updated_at": now,
           "started_at": None, "finished_at": None}
    await db.jobs.insert_one(doc)
    return doc["_id"]


async def ensure_periodic(db: AsyncDatabase, kind: str) -> None:
    """The one due document of a periodic kind; created due now if missing, left alone otherwise."""
    now = utcnow()
    await db.jobs.update_one({"_id": periodic_id(kind)}, {"$setOnInsert": {
        "kind": kind, "params": {}, "state": QUEUED, "due_at": now, "progress": {}, "attempts": 0,
        "max_attempts": MAX_ATTEMPTS, "lease_owner": None, "lease_expires": None, "result": None, "error": "",
        "created_at": now, "updated_at": now, "started_at": None, "finished_at": None, "periodic": True,
        "runs": []}}, upsert=True)


async def claim(db: AsyncDatabase, owner: str, lease_seconds: float) -> dict | None:
    """Take the oldest due job, or one whose worker's lease ran out; None when there is nothing to do."""
    now = utcnow()
    lease = {"state": RUNNING, "lease_owner": owner, "lease_expires": now + dt.timedelta(seconds=lease_seconds),
             "started_at": now, "updated_at": now}
    # Two simple queries rather than one $or: each is served by its own index on the embedded server.
    for query, order in (({"state": QUEUED, "due_at": {"$lte": now}}, "due_at"),
                         ({"state": RUNNING, "lease_expires": {"$lt": now}}, "lease_expires")):
        job = await db.jobs.find_one_and_update(query, {"$set": lease, "$inc": {"attempts": 1}},
                                                sort=[(order, 1)], return_document=ReturnDocument.AFTER)
        if job is not None:
            return job
    return None


async def renew(db: AsyncDatabase, job: dict, lease_seconds: float) -> bool:
    """Extend the lease; False when the job is no longer this worker's (taken over or settled)."""
    now = utcnow()
    done = await db.jobs.update_one(
        {"_id": job["_id"], "state": RUNNING, "lease_owner": job["lease_owner"]},
        {"$set": {"lease_expires": now + dt.timedelta(seconds=lease_seconds), "updated_at": now}})
    return done.matched_count == 1


async def set_progress(db: AsyncDatabase, job: dict, progress: dict) -> None:
    await db.jobs.update_one({"_id": job["_id"], "lease_owner": job["lease_owner"]},
                             {"$set": {"progress": progress, "updated_at": utcnow()}})


def _mine(job: dict) -> dict:
    return {"_id": job["_id"], "state": RUNNING, "lease_owner": job["lease_owner"]}


async def settle(db: AsyncDatabase, job: dict, *, result=None, error: str = "",
                 interval: float | None = None) -> None:
    """Record how a run ended. A one-off job ends done or failed; a periodic one is due again
    one interval after this run started (an error is kept on it for operators)."""
    now = utcnow()
    fields = {"lease_owner": None, "lease_expires": None, "result": result, "error": error[:2000],
              "updated_at": now, "finished_at": now, "finished_by": job["lease_owner"]}
    update: dict = {"$set": fields}
    if interval is not None:
        fields.update(state=QUEUED, due_at=job["started_at"] + dt.timedelta(seconds=interval), attempts=0)
        update["$push"] = {"runs": {"$each": [{"owner": job["lease_owner"], "started_at": job["started_at"],
                                               "finished_at": now, "error": error[:200]}], "$slice": -RUNS_KEPT}}
    else:
        fields["state"] = FAILED if error else DONE
    await db.jobs.update_one(_mine(job), update)


async def release(db: AsyncDatabase, job: dict) -> None:
    """Hand a job back at once (the worker is stopping), so another worker need not wait for the lease."""
    await db.jobs.update_one(_mine(job), {"$set": {"state": QUEUED, "lease_owner": None, "lease_expires": None,
                                                   "updated_at": utcnow()}})


async def get(db: AsyncDatabase, job_id) -> dict | None:
    return await db.jobs.find_one({"_id": job_id})


async def live(db: AsyncDatabase, job_id) -> bool:
    """Is a worker on it, or will one be: queued, or running under a lease."""
    return await db.jobs.count_documents({"_id": job_id, "state": {"$in": [QUEUED, RUNNING]}}, limit=1) == 1
