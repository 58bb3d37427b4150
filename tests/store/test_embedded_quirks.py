"""Quirks of the embedded server that the code works around, each held here so that an upgrade that
fixes one shows (the developers' guide asks for a test per quirk)."""
from __future__ import annotations

import datetime as dt
import time

from pymongo import MongoClient

from server.store import rollups
from server.store.embedded import EmbeddedDatabase

from support import run_async


def test_a_sorted_query_reads_its_whole_index_range_before_its_limit(sdb):
    """Why rollups._punch_days never asks for the first or last punch by a sorted find_one."""
    sdb.quirk.create_index([("date", 1)])
    sdb.quirk.insert_many([{"date": f"2026-11-{n % 30 + 1:02d}"} for n in range(300)])
    stats = sdb.command("explain", {"find": "quirk", "filter": {}, "sort": {"date": 1}, "limit": 1},
                        verbosity="executionStats")["executionStats"]
    # A server that stops at the limit examines one key; this one examines them all.
    assert stats["totalKeysExamined"] == 300, stats


def test_the_rebuild_finds_punches_dated_outside_the_platforms_days(mongo_uri, db_name, sdb, site):
    """The days a rebuild reads run from the first project's registration to tomorrow; punches dated
    before (history, a clock set back) or long after (a clock set ahead) are found by their own dates."""
    from punch_support import people_of, write_punches
    from server.domain.site_clock import site_today
    pid, worker = site["project_id"], site["workers"][0]["worker_no"]
    today = site_today()
    days = [dt.date(2021, 3, 4), today, today + dt.timedelta(days=400)]
    run_async(mongo_uri, db_name, lambda db: write_punches(
        db, [(pid, worker, f"{day.isoformat()}T08:00:00", False, None) for day in days]))
    assert run_async(mongo_uri, db_name, lambda db: rollups.rebuild(db)) == 3
    assert {d["date"] for d in sdb.att_person_days.find() if people_of(d)} == {day.isoformat() for day in days}


def test_each_retryable_write_walks_and_sorts_every_one_the_server_keeps(tmp_path):
    """Why the embedded server's address turns retryable writes off (EmbeddedDatabase.uri): the server
    keeps each retryable write's reply for 30 minutes, up to 10,000 of them, and on every retryable write
    walks them all for the expired and sorts them all to drop the oldest over the cap. A busy half hour
    fills it, and then a write costs it ~15 ms instead of ~1 ms. Shown on the server's own registry (filled
    directly: ten thousand writes over the wire would take the suite half a minute)."""
    from secantus.transactions import TransactionRegistry
    reply = {"ok": 1.0, "n": 1}

    def hundred_writes(registry, first: int) -> float:
        started = time.perf_counter()
        for k in range(first, first + 100):
            registry.record_retryable(b"session", k, b"update", reply)
            registry.retryable_reply(b"session", k, b"update")
        return time.perf_counter() - started

    empty, full = TransactionRegistry(), TransactionRegistry()
    full._retryable.update({(b"other", k): (reply, time.time(), b"update") for k in range(10_000)})
    assert hundred_writes(full, 0) > 20 * hundred_writes(empty, 0)
    assert len(full._retryable) == 10_000   # the cap held by dropping the oldest on each write
    assert MongoClient(EmbeddedDatabase(tmp_path, port=27999).uri, connect=False).options.retry_writes is False


def test_a_range_of_ids_is_planned_as_a_collection_scan(sdb):
    """Why uploads.worker_states asks for a project's worker records on the project_kind_state index and
    not as the range of their upload ids (worker:<project>:…) on _id."""
    sdb.quirk_ids.insert_many([{"_id": f"worker:{p}:{n}"} for p in range(3) for n in range(5)])
    plan = str(sdb.quirk_ids.find({"_id": {"$gte": "worker:1:", "$lt": "worker:1;"}}).explain()["queryPlanner"]["winningPlan"])
    assert "COLLSCAN" in plan, plan
    assert len(list(sdb.quirk_ids.find({"_id": {"$gte": "worker:1:", "$lt": "worker:1;"}}))) == 5


def test_a_collections_stream_token_after_a_command_of_its_database_does_not_resume(sdb):
    """Why rollups.PunchTail takes a refused resume of this kind calmly: a stream on one collection also
    reads its database's command entries (a collection created, an index made), and the token after one
    names the command namespace, which the server's own scope check then refuses to resume from."""
    from pymongo.errors import OperationFailure
    sdb.quirk_watched.insert_one({"n": 1})
    with sdb.quirk_watched.watch([{"$match": {"operationType": "insert"}}], max_await_time_ms=50) as stream:
        sdb.quirk_watched.insert_one({"n": 2})
        assert stream.try_next()["fullDocument"]["n"] == 2
        resumable = stream.resume_token
        sdb.create_collection("quirk_other")
        assert stream.try_next() is None
        token = stream.resume_token
    with sdb.quirk_watched.watch(resume_after=resumable, max_await_time_ms=50) as stream:
        assert stream.try_next() is None
    try:
        with sdb.quirk_watched.watch(resume_after=token, max_await_time_ms=50) as stream:
            stream.try_next()
    except OperationFailure as exc:
        assert exc.code == rollups.SCOPE_REFUSED, exc
    else:
        raise AssertionError("the server resumed from a token naming its command namespace: the quirk is fixed")
