"""One database client per process, created after any fork; the clock stored timestamps come from."""
from __future__ import annotations

import datetime as dt

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from .schema import ensure_schema


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def connect(uri: str, *, app_name: str, max_pool_size: int = 50) -> AsyncMongoClient:
    # tz_aware: every datetime read back carries UTC, so no code can mistake it for site time.
    # socketTimeoutMS: no call may wait for ever on a stalled server (a punch then fails, and the
    # device re-sends). maxIdleTimeMS: retire idle pooled connections before a server closes them
    # (the embedded one does after 300 s).
    return AsyncMongoClient(uri, appname=app_name, tz_aware=True, maxPoolSize=max_pool_size,
                            serverSelectionTimeoutMS=10_000, socketTimeoutMS=30_000, maxIdleTimeMS=60_000)


async def open_database(uri: str, db_name: str, *, app_name: str) -> tuple[AsyncMongoClient, AsyncDatabase]:
    client = connect(uri, app_name=app_name)
    db = client[db_name]
    await ensure_schema(db)
    return client, db


async def next_sequence(db: AsyncDatabase, name: str) -> int:
    """A platform-wide counter (worker numbers, project numbers): starts at 1, never reused."""
    doc = await db.counters.find_one_and_update(
        {"_id": name}, {"$inc": {"seq": 1}}, upsert=True, return_document=True
    )
    return doc["seq"]


# The embedded server answers an `$in` in time growing with the square of its length (100 values
# ~0.05 s, 1,000 values ~5 s on a loaded machine), so long lists are asked in slices of this many.
IN_CHUNK = 100


def in_slices(values, size: int = IN_CHUNK) -> list[list]:
    values = list(values)
    return [values[start:start + size] for start in range(0, len(values), size)]


async def find_in(collection, field: str, values, projection: dict | None = None, query: dict | None = None) -> list[dict]:
    """Documents whose `field` is one of `values` (and matching `query`), asked in IN_CHUNK slices."""
    found: list[dict] = []
    for part in in_slices(values):
        found += [d async for d in collection.find({**(query or {}), field: {"$in": part}}, projection)]
    return found
