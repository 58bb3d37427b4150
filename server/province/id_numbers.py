"""ID numbers by worker number, kept by the upload's worker process from pass to pass.

Every attendance batch carries its workers' ID numbers, and reading them from the people collection was
a read of every punching worker's document each pass (the embedded server projects them in Python, ~0.6 ms
a person). A worker number is given to one ID number once and for good (people are keyed by the number,
``store.people.enroll`` sets worker_no on insert only), so a number read once stays true: the cache is
never stale, only bounded. Keyed by database too: the tests and benches run several in one process. It
holds plain numbers in the worker's memory, as a pass did; it is never shown or exported.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterable

from pymongo.asynchronous.database import AsyncDatabase

from ..store import people as people_store

CACHED = 200_000   # ~200 bytes each: the workers of a large city's busy day


class IdNumbers:
    def __init__(self, size: int = CACHED):
        self.size = size
        self._known: OrderedDict[tuple[str, int], str] = OrderedDict()   # (database, worker no) → number

    async def of(self, db: AsyncDatabase, worker_nos: Iterable[int]) -> dict[int, dict]:
        """worker no → {id_number} for those known to the people collection (the rest absent)."""
        wanted, out = set(worker_nos), {}
        for n in wanted:
            number = self._known.get((db.name, n))
            if number is not None:
                self._known.move_to_end((db.name, n))
                out[n] = {"id_number": number}
        read = await people_store.by_worker_nos(db, wanted - out.keys(), ("id_number",))
        self.learn(db, read)
        return {**out, **{n: {"id_number": person["id_number"]} for n, person in read.items()}}

    def learn(self, db: AsyncDatabase, people: dict[int, dict]) -> None:
        """Numbers read for another reason (the structure sweep reads its projects' people whole): a worker
        that runs all day has every entered worker's number before their punches come."""
        for n, person in people.items():
            if person.get("id_number"):
                self._known[db.name, n] = person["id_number"]
                self._known.move_to_end((db.name, n))
        while len(self._known) > self.size:
            self._known.popitem(last=False)


ID_NUMBERS = IdNumbers()
