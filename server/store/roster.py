"""Who is entered (进场) on a project now: the roster as the gateway reads it."""
from __future__ import annotations

import datetime as dt

from pymongo.asynchronous.database import AsyncDatabase

from . import people
from .db import utcnow

# An entry is current until the project records its exit date (退场).
CURRENT = {"exit_date": None}


def current_query(project_id: int, worker_no: int | None = None) -> dict:
    """Who is entered on a project now (the 849 whitelist), or whether one worker is (845, 848)."""
    query: dict = {"project_id": project_id, **CURRENT}
    if worker_no is not None:
        query["worker_no"] = worker_no
    return query


def person_entries_query(person_id) -> dict:
    """A person's entries on every project (the career index answers this exactly)."""
    return {"person_id": person_id}


def projects_entries_query(project_ids: list[int]) -> dict:
    """Every entry, now or before, on some projects (a scoped principal's people)."""
    return {"project_id": {"$in": project_ids}}


def project_entries_query(project_id: int) -> dict:
    """Every entry, now or before, on one project (the month grid picks those of the month)."""
    return {"project_id": project_id}


def changed_since_query(since: dt.datetime) -> dict:
    """Projects whose roster changed after `since`: the gateways' poll (roster_changes._id is the project)."""
    return {"changed_at": {"$gt": since}}


async def current_workers(db: AsyncDatabase, project_id: int) -> list[dict]:
    """The whitelist (849): worker number, name, ID number and capture-photo length per current worker."""
    worker_nos = await db.roster.distinct("worker_no", current_query(project_id))
    if not worker_nos:
        return []
    cursor = db.people.find(
        people.worker_nos_query(worker_nos),
        {"_id": 0, "worker_no": 1, "name": 1, "id_number": 1, "capture_photo_len": 1},
    ).sort("worker_no", 1)
    return [d async for d in cursor]


async def is_entered(db: AsyncDatabase, project_id: int, worker_no: int) -> bool:
    entry = await db.roster.find_one(current_query(project_id, worker_no), {"_id": 1})
    return entry is not None


async def mark_changed(db: AsyncDatabase, project_ids) -> None:
    """Stamp each project's roster as changed (entry, exit, import): gateways drop their cached copy.

    Kept in `roster_changes` (one document per project) so a gateway finds every project changed
    since it last looked with one indexed query, the way devices.changed_at works for devices.
    """
    now = utcnow()
    for project_id in sorted(set(project_ids)):
        await db.roster_changes.update_one({"_id": project_id}, {"$set": {"changed_at": now}}, upsert=True)


class CurrentRosterCache:
    """Who is entered per project, as the gateway's punch check (848) needs it on every batch.

    Entries, exits and imports stamp `roster_changes` (mark_changed). At most once per
    `poll_interval` the cache asks which projects changed since it last looked and forgets them,
    so an exit reaches the punch check within about a second; a miss (a worker entered a moment
    ago) compares the project's stamp at once and re-reads when it moved, so the first punch after
    an entry is accepted. `ttl` bounds the age of any copy, whatever was or was not stamped
    (rosters written by hand), and `miss_interval` keeps the old re-read on a miss as a fallback.
    The whitelist (849) reads fresh.
    """

    # Writers' clocks may be a little behind ours: re-read this much before the last look.
    OVERLAP = dt.timedelta(seconds=5)

    def __init__(self, db: AsyncDatabase, *, ttl: float = 30.0, miss_interval: float = 1.0,
                 poll_interval: float = 1.0):
        self.db, self.ttl, self.miss_interval, self.poll_interval = db, ttl, miss_interval, poll_interval
        # project -> (loaded at, roster_changes stamp seen before loading, workers)
        self._entries: dict[int, tuple[float, object, frozenset[int]]] = {}
        self._polled_at = float("-inf")
        self._polled_since: dt.datetime | None = None

    async def _stamp(self, project_id: int):
        doc = await self.db.roster_changes.find_one({"_id": project_id}, {"changed_at": 1})
        return doc["changed_at"] if doc else None

    async def _load(self, project_id: int, now: float) -> frozenset[int]:
        # Changes are looked for from the first load on, however long until the first poll.
        if self._polled_since is None:
            self._polled_at, self._polled_since = now, utcnow()
        # The stamp is read first: an entry landing in between is in the workers read after, and at
        # worst causes one needless re-read later.
        stamp = await self._stamp(project_id)
        workers = frozenset(await self.db.roster.distinct("worker_no", current_query(project_id)))
        self._entries[project_id] = (now, stamp, workers)
        return workers

    async def _forget_changed(self, now: float) -> None:
        if now - self._polled_at < self.poll_interval or not self._entries:
            return
        asked_at = utcnow()
        since = self._polled_since - self.OVERLAP
        self._polled_at, self._polled_since = now, asked_at
        async for doc in self.db.roster_changes.find(changed_since_query(since), {"changed_at": 1}):
            cached = self._entries.get(doc["_id"])
            if cached is not None and cached[1] != doc["changed_at"]:
                del self._entries[doc["_id"]]

    async def entered(self, pairs: set[tuple[int, int]], now: float) -> set[tuple[int, int]]:
        await self._forget_changed(now)
        found = set()
        for project_id in {p for p, _ in pairs}:
            wanted = {w for p, w in pairs if p == project_id}
            loaded_at, stamp, workers = self._entries.get(project_id, (float("-inf"), None, frozenset()))
            age = now - loaded_at
            if age > self.ttl:
                workers = await self._load(project_id, now)
            elif not wanted <= workers and (age > self.miss_interval or await self._stamp(project_id) != stamp):
                workers = await self._load(project_id, now)
            found.update((project_id, w) for w in wanted & workers)
        return found
