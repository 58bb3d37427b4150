"""Who is entered (进场) on a project now: the roster as the gateway reads it."""
from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

# An entry is current until the project records its exit date (退场).
CURRENT = {"exit_date": None}


async def current_workers(db: AsyncDatabase, project_id: int) -> list[dict]:
    """The whitelist (849): worker number, name, ID number and capture-photo length per current worker."""
    worker_nos = await db.roster.distinct("worker_no", {"project_id": project_id, **CURRENT})
    if not worker_nos:
        return []
    cursor = db.people.find(
        {"worker_no": {"$in": worker_nos}},
        {"_id": 0, "worker_no": 1, "name": 1, "id_number": 1, "capture_photo_len": 1},
    ).sort("worker_no", 1)
    return [d async for d in cursor]


async def is_entered(db: AsyncDatabase, project_id: int, worker_no: int) -> bool:
    entry = await db.roster.find_one({"project_id": project_id, "worker_no": worker_no, **CURRENT}, {"_id": 1})
    return entry is not None


class CurrentRosterCache:
    """Who is entered per project, as the gateway's punch check (848) needs it on every batch.

    A hit is trusted for `ttl` seconds; a miss re-reads that project at once (at most once per
    `miss_interval`), so a worker entered a moment ago is accepted on the first punch, while a
    busy gateway asks the database about rosters a few times a minute instead of on every write.
    An exit therefore reaches the punch check within `ttl`; the whitelist (849) reads fresh.
    """

    def __init__(self, db: AsyncDatabase, *, ttl: float = 30.0, miss_interval: float = 1.0):
        self.db, self.ttl, self.miss_interval = db, ttl, miss_interval
        self._entries: dict[int, tuple[float, frozenset[int]]] = {}

    async def _load(self, project_id: int, now: float) -> frozenset[int]:
        workers = frozenset(await self.db.roster.distinct("worker_no", {"project_id": project_id, **CURRENT}))
        self._entries[project_id] = (now, workers)
        return workers

    async def entered(self, pairs: set[tuple[int, int]], now: float) -> set[tuple[int, int]]:
        found = set()
        for project_id in {p for p, _ in pairs}:
            wanted = {w for p, w in pairs if p == project_id}
            loaded_at, workers = self._entries.get(project_id, (float("-inf"), frozenset()))
            age = now - loaded_at
            if age > self.ttl or (not wanted <= workers and age > self.miss_interval):
                workers = await self._load(project_id, now)
            found.update((project_id, w) for w in wanted & workers)
        return found
