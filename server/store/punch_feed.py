"""The punches' feed: every group of punches the gateway stores, also written as one packed document.

Whoever follows new punches (the upload to the province) reads this instead of the punches: the embedded
server spends ~75 µs of its CPU on every document it returns (decode, match, encode), so a day's 50,000
punches cost it ~4 s as documents and ~0.03 s as 200 packed ones (docs/benchmarks.md). A feed document is
written in the same transaction as its punches (punches.store), so a punch is stored if and only if it is
in the feed, with the received time it is stored with; a re-sent punch already stored is not fed again.

A document: ``at`` the latest received time of its punches (a reader from a moment finds every punch
received since among the documents at or after it), ``n``, and ``items`` one JSON text of
[punch id, project, worker no, device time (ms since the epoch), received time (ms), site day, test]:
a text is one value to the server where the same punches as arrays are seven hundred.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import AsyncIterator

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
READ_BATCH = 40   # feed documents a reader is handed at a time (up to the gateway's group of 256 punches each)
# The punches are the evidence and stay; their feed is read once, then kept this long for whoever checks a read.
KEPT = dt.timedelta(days=7)


def _ms(moment: dt.datetime) -> int:
    # The database keeps milliseconds: the feed keeps what a read of the punch gives back.
    d = moment - _EPOCH if moment.tzinfo else moment - _EPOCH.replace(tzinfo=None)
    return (d.days * 86_400 + d.seconds) * 1000 + d.microseconds // 1000


def _moment(ms: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=ms)


def document(punches: list[dict]) -> dict:
    """The feed document of these punch documents (as stored)."""
    return {"at": max(p["received_at"] for p in punches), "n": len(punches),
            "items": json.dumps([[p["_id"], p["project_id"], p["worker_no"], _ms(p["device_time"]),
                                  _ms(p["received_at"]), p["date"], 1 if p["test"] else 0] for p in punches],
                                ensure_ascii=False, separators=(",", ":"))}


def punches_of(doc: dict, since: dt.datetime) -> list[dict]:
    """A feed document's punches received at or after `since`, with the fields a punch read gives
    (_id, project_id, worker_no, device_time and received_at in UTC, date, test)."""
    floor = _ms(since)
    return [{"_id": pid, "project_id": project, "worker_no": worker_no, "device_time": _moment(device_ms),
             "received_at": _moment(received_ms), "date": day, "test": bool(test)}
            for pid, project, worker_no, device_ms, received_ms, day, test in json.loads(doc["items"])
            if received_ms >= floor]


def since_query(moment: dt.datetime) -> dict:
    """The feed documents that may hold a punch received at or after `moment` (index `at`)."""
    return {"at": {"$gte": moment}}


async def since(db: AsyncDatabase, moment: dt.datetime) -> AsyncIterator[list[dict]]:
    """The punches received at or after `moment`, in the order they were stored, a few feed documents at
    a time (a pass batches the first while the next are read)."""
    cursor = db.punch_feed.find(since_query(moment)).sort("at", ASCENDING).batch_size(READ_BATCH)
    some: list[dict] = []
    docs = 0
    async for doc in cursor:
        some += punches_of(doc, moment)
        docs += 1
        if docs % READ_BATCH == 0:
            yield some
            some = []
    if some:
        yield some


async def forget_read(db: AsyncDatabase, watermark: dt.datetime) -> int:
    """Drop the feed documents read more than KEPT ago: all their punches were received before
    `watermark - KEPT` (`at` is the latest), so a reader at `watermark` never reads them again."""
    return (await db.punch_feed.delete_many({"at": {"$lt": watermark - KEPT}})).deleted_count
