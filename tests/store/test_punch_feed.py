"""The punches' feed: a punch is stored if and only if it is fed, with what a read of it gives back."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from pymongo.errors import BulkWriteError

from server.domain.site_clock import SITE_TZ
from server.store import punch_feed, punches
from server.store.punches import PunchIn

from support import VENDOR, build_site, run_async

FIELDS = ("_id", "project_id", "worker_no", "device_time", "received_at", "date", "test")


def _punches(n: int, *, received: dt.datetime, first: int = 0) -> list[dict]:
    # Microseconds the database does not keep, site times on both sides of midnight, a test punch.
    return [PunchIn(vendor_code="V", device_id="D1", project_id=1 + k % 2, worker_no=100 + k,
                    device_time=dt.datetime(2026, 12, 1, 23, 59, 58) + dt.timedelta(seconds=k, microseconds=999),
                    mode=6, photo=b"", received_at=received + dt.timedelta(microseconds=1500 * k), flags=[],
                    test=k == 3).document() for k in range(first, first + n)]


async def _fed(db, since: dt.datetime) -> list[dict]:
    return [p async for some in punch_feed.since(db, since) for p in some]


async def _stored(db) -> list[dict]:
    return [{f: d[f] for f in FIELDS} async for d in db.punches.find({}).sort("_id", 1)]


def test_stored_punches_are_fed_as_a_read_of_them_gives_them(mongo_uri, db_name):
    async def job(db):
        received = dt.datetime.now(dt.timezone.utc)
        assert await punches.store(db, _punches(5, received=received)) == set()
        assert await db.punch_feed.count_documents({}) == 1
        fed = sorted(await _fed(db, received - dt.timedelta(seconds=1)), key=lambda p: p["_id"])
        assert fed == await _stored(db)
        assert {p["date"] for p in fed} == {"2026-12-01", "2026-12-02"} and [p["test"] for p in fed].count(True) == 1
        # From a moment on: only the punches received at or after it, though their document holds more.
        cut = fed[2]["received_at"]
        assert sorted(p["_id"] for p in await _fed(db, cut)) == sorted(p["_id"] for p in fed if p["received_at"] >= cut)
        assert await _fed(db, received + dt.timedelta(minutes=1)) == []
    run_async(mongo_uri, db_name, job)


def test_a_resent_punch_is_neither_stored_nor_fed_again(mongo_uri, db_name):
    async def job(db):
        first = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
        await punches.store(db, _punches(3, received=first))
        again = _punches(3, received=first + dt.timedelta(minutes=4))        # the same three, re-sent later
        new = _punches(2, received=first + dt.timedelta(minutes=4), first=3)
        assert await punches.store(db, again[1:] + new) == {again[1]["_id"], again[2]["_id"]}
        fed = await _fed(db, first - dt.timedelta(seconds=1))
        assert sorted(p["_id"] for p in fed) == sorted(p["_id"] for p in _punches(5, received=first))   # each once
        # The re-sent ones keep the received time they were stored with, in the feed as in the punches.
        assert all(p["received_at"] < first + dt.timedelta(seconds=1) for p in fed if p["_id"] in {d["_id"] for d in again})
        assert await db.punch_feed.count_documents({}) == 2
        assert await punches.store(db, again) == {p["_id"] for p in again}   # all stored already: nothing written
        assert await db.punch_feed.count_documents({}) == 2
    run_async(mongo_uri, db_name, job)


def test_a_write_that_fails_stores_neither_the_punches_nor_their_feed(mongo_uri, db_name):
    async def job(db):
        received = dt.datetime.now(dt.timezone.utc)
        docs = _punches(3, received=received)
        docs[2]["project_id"] = "不是数字"   # refused by the validator: the whole write goes back
        with pytest.raises(BulkWriteError):
            await punches.store(db, docs)
        assert await db.punches.count_documents({}) == 0 and await db.punch_feed.count_documents({}) == 0
    run_async(mongo_uri, db_name, job)


def test_the_feed_is_read_in_the_order_it_was_stored(mongo_uri, db_name):
    async def job(db):
        received = dt.datetime.now(dt.timezone.utc)
        for k in range(punch_feed.READ_BATCH + 5):   # more documents than one hand-over holds
            await punches.store(db, _punches(1, received=received + dt.timedelta(milliseconds=10 * k), first=k))
        reads = [[p["worker_no"] for p in some] async for some in punch_feed.since(db, received)]
        assert len(reads) == 2 and [w for some in reads for w in some] == [100 + k for k in range(punch_feed.READ_BATCH + 5)]
    run_async(mongo_uri, db_name, job)


def test_one_punch_twice_in_a_write_is_stored_and_fed_once(mongo_uri, db_name):
    async def job(db):
        received = dt.datetime.now(dt.timezone.utc)
        docs = _punches(2, received=received)
        assert await punches.store(db, docs + [dict(docs[0])]) == set()
        assert await db.punches.count_documents({}) == 2
        assert sorted(p["_id"] for p in await _fed(db, received)) == sorted(d["_id"] for d in docs)
    run_async(mongo_uri, db_name, job)


def test_a_device_resending_on_a_new_connection_into_the_same_batch_gets_both_acknowledged(mongo_uri, db_name):
    # The simulator's dropped connections did this: the old connection's punch still waits when the new
    # connection re-sends it, and both land in one write.
    async def job(db):
        site = await build_site(db, workers=1, devices=1)
        project, worker = site["project_id"], site["workers"][0]["worker_no"]
        writer = punches.PunchWriter(db)
        moment = dt.datetime.now(SITE_TZ).replace(tzinfo=None, microsecond=0) - dt.timedelta(minutes=1)

        def punch() -> PunchIn:
            return PunchIn(vendor_code=VENDOR, device_id="DEV-0001", project_id=project, worker_no=worker,
                           device_time=moment, mode=6, photo=b"\xff\xd8\xff\xd9",
                           received_at=dt.datetime.now(dt.timezone.utc), flags=[])
        first, again = await asyncio.gather(writer.submit(punch()), writer.submit(punch()))
        assert (first, again) == (punches.STORED, punches.RESENT)
        stored = [d async for d in db.punches.find({})]
        assert len(stored) == 1 and stored[0]["resends"] == 1
        assert len(await _fed(db, moment.replace(tzinfo=SITE_TZ) - dt.timedelta(days=1))) == 1
    run_async(mongo_uri, db_name, job)
