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
