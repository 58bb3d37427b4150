"""The attendance rollups: the change-stream tail and a rebuild from raw punches agree exactly, a tail
killed mid-stream loses and double-counts nothing, and a tail that cannot resume catches up."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

from server.domain import rollups as fold_rules
from server.store import rollups
from server.store.rollups import PunchTail

from punch_support import drain, person_day, person_days, snapshot, write_punches
from support import run_async


def load(site, first_day: int, count: int) -> list:
    """Re-sends, late device clocks (every device time here is weeks behind its receipt), punches at
    23:59:59 and 00:00:00 site time, test punches."""
    pid, workers = site["project_id"], [w["worker_no"] for w in site["workers"]]
    out = []
    for n in range(first_day, first_day + count):
        day = f"2026-10-{n:02d}"
        w = workers[n % len(workers)]
        out += [(pid, w, f"{day}T23:59:59", False, None), (pid, w, f"{day}T23:59:59", False, None),
                (pid, workers[(n + 1) % len(workers)], f"{day}T00:00:00", False, None),
                (pid, w, f"{day}T12:00:00", True, None), (pid, w, f"{day}T09:00:00", False, None)]
    return out


def tail_through(mongo_uri, db_name, punches=()) -> int:
    """A tail opened (catching up), then following the stream while punches arrive, until drained;
    returns the punches it read."""
    async def job(db):
        tail = PunchTail(db)
        await tail.open()
        await write_punches(db, punches)
        await drain(tail)
        return tail.folded
    return run_async(mongo_uri, db_name, job)


def test_rebuild_yields_exactly_what_the_tail_folded(mongo_uri, db_name, sdb, site):
    tail_through(mongo_uri, db_name, load(site, 1, 10))
    folded = snapshot(sdb)
    w = site["workers"]
    # Day 1: the 23:59:59 punch (sent twice) of worker 1 % 3 and the 00:00:00 punch of worker 2 % 3.
    first = person_day(sdb, site["project_id"], "2026-10-01", w[1]["worker_no"])
    assert first["count"] == 2 and first["first"].astimezone(dt.timezone(dt.timedelta(hours=8))).hour == 9
    assert len(first["punch_ids"]) == 2
    assert len(person_days(sdb, {"date": "2026-10-01"})) == 2
    assert len(person_days(sdb)) == 20
    # One document per project × day holds its people (writes per project-day, not per person).
    assert sdb.att_person_days.count_documents({}) == 10
    assert sorted(sdb.att_project_days.find_one({"date": "2026-10-10"})["workers"]) == sorted(
        [w[10 % 3]["worker_no"], w[11 % 3]["worker_no"]])
    run_async(mongo_uri, db_name, lambda db: rollups.rebuild(db))
    assert snapshot(sdb) == folded
    # A partial rebuild leaves the days before it alone and yields the same again.
    run_async(mongo_uri, db_name, lambda db: rollups.rebuild(db, dt.date(2026, 10, 5)))
    assert snapshot(sdb) == folded


def _tail(mongo_uri, db_name) -> subprocess.Popen:
    env = dict(os.environ, MONGODB_URI=mongo_uri, REALNAME_DB_NAME=db_name)
    return subprocess.Popen([sys.executable, "-m", "server.cli", "rollups", "tail"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_tail_killed_mid_stream_loses_and_double_counts_nothing(mongo_uri, db_name, sdb, site):
    proc = _tail(mongo_uri, db_name)
    try:
        _wait_for(lambda: sdb.rollup_state.find_one({"_id": "punch_tail"}), "the tail to start")
        run_async(mongo_uri, db_name, lambda db: write_punches(db, load(site, 1, 8)))
        _wait_for(lambda: person_days(sdb), "some punches folded")
        proc.send_signal(signal.SIGKILL)          # wherever it is: mid-batch, before saving its token …
        proc.wait(30)
        run_async(mongo_uri, db_name, lambda db: write_punches(db, load(site, 9, 8)))
        proc = _tail(mongo_uri, db_name)
        _wait_for(lambda: len(person_days(sdb)) == 32, "every person-day")
        expected_ids = {d["_id"] for d in sdb.punches.find({"test": False})}
        _wait_for(lambda: sum(d["count"] for d in person_days(sdb)) == len(expected_ids), "every punch")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    folded = snapshot(sdb)
    assert {i for d in person_days(sdb) for i in d["punch_ids"]} == expected_ids
    run_async(mongo_uri, db_name, lambda db: rollups.rebuild(db))
    assert snapshot(sdb) == folded


def test_a_tail_that_cannot_resume_catches_up_from_its_watermark(mongo_uri, db_name, sdb, site):
    tail_through(mongo_uri, db_name, load(site, 1, 3))
    # The stored token no longer resumes (history gone); punches arrive while no tail runs.
    sdb.rollup_state.update_one({"_id": "punch_tail"}, {"$set": {"resume_token": {"_data": "00"}}})
    run_async(mongo_uri, db_name, lambda db: write_punches(db, load(site, 4, 3)))
    tail_through(mongo_uri, db_name)
    assert len(person_days(sdb)) == 12
    folded = snapshot(sdb)
    run_async(mongo_uri, db_name, lambda db: rollups.rebuild(db))
    assert snapshot(sdb) == folded


async def becomes_manager_on_the_2nd(db, site, worker: int) -> None:
    """Worked as 普通工人 until the 2nd, 项目经理 from the 2nd: recorded only now."""
    from server.store import roster_entries, workforce
    pid = site["project_id"]
    await roster_entries.exit_person(db, project_id=pid, worker_no=worker, exit_date=dt.date(2026, 10, 2))
    team = await workforce.manager_team(db, site["unit_id"])
    await roster_entries.enter_person(db, project_id=pid, worker_no=worker, team_id=team["_id"], job="项目经理",
                                      entry_date=dt.date(2026, 10, 2))


def test_a_manager_entered_later_with_an_earlier_date_is_refiled(mongo_uri, db_name, sdb, site):
    since = dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    sdb.roster.update_many({"project_id": site["project_id"]}, {"$set": {"entry_date": since}})
    pid, worker = site["project_id"], site["workers"][0]["worker_no"]
    tail_through(mongo_uri, db_name, [(pid, worker, f"2026-10-0{d}T08:00:00", False, None) for d in (1, 2, 3)])
    assert all(not d.get("managers") for d in sdb.att_project_days.find())
    before = {d["date"]: d["updated_at"] for d in sdb.att_project_days.find()}

    run_async(mongo_uri, db_name, lambda db: becomes_manager_on_the_2nd(db, site, worker))
    tail_through(mongo_uri, db_name)
    managers = {d["date"]: d.get("managers", {}) for d in sdb.att_project_days.find()}
    assert managers["2026-10-01"].get("项目经理", []) == []
    assert managers["2026-10-02"]["项目经理"] == [worker] and managers["2026-10-03"]["项目经理"] == [worker]
    # A refile is a write like any other: derived rollups see it by updated_at.
    after = {d["date"]: d["updated_at"] for d in sdb.att_project_days.find()}
    assert after["2026-10-02"] > before["2026-10-02"] and after["2026-10-03"] > before["2026-10-03"]
    folded = snapshot(sdb)
    run_async(mongo_uri, db_name, lambda db: rollups.rebuild(db))
    assert snapshot(sdb) == folded



def test_a_tail_started_after_a_rebuild_resumes_where_the_rebuild_began(mongo_uri, db_name, sdb, site):
    run_async(mongo_uri, db_name, lambda db: write_punches(db, load(site, 1, 4)))
    run_async(mongo_uri, db_name, lambda db: rollups.rebuild(db))
    later = load(site, 5, 1)
    # The day's five punches less the re-send (no insert, so no event) — not every punch folded again.
    assert tail_through(mongo_uri, db_name, later) == len(later) - 1
    folded = snapshot(sdb)
    run_async(mongo_uri, db_name, lambda db: rollups.rebuild(db))
    assert snapshot(sdb) == folded


def test_folding_punch_by_punch_equals_one_batch_and_folding_again_changes_nothing(mongo_uri, db_name, sdb, site):
    """The merge path (a project-day already there: a later punch of a person, a new person, a
    re-fold) ends where one batch of inserts does; every write stamps updated_at."""
    # More days than a batch reads day by day: the re-fold at the end reads the stored days by _id.
    days = rollups.FEW_DAYS + 2
    run_async(mongo_uri, db_name, lambda db: write_punches(db, load(site, 1, days)))
    punches = list(sdb.punches.find({}, {"photo_id": 0}).sort("received_at", 1))
    run_async(mongo_uri, db_name, lambda db: rollups.fold(db, punches))
    at_once = snapshot(sdb)
    stamped = {d["_id"]: d["updated_at"] for d in sdb.att_project_days.find()}
    assert len(stamped) == days
    sdb.att_person_days.delete_many({})
    sdb.att_project_days.delete_many({})

    async def one_by_one(db):
        for punch in punches:                       # each its own batch: from the second on, a merge
            await rollups.fold(db, [punch])
        await rollups.fold(db, punches)             # a batch folded again after a crash
    run_async(mongo_uri, db_name, one_by_one)
    assert snapshot(sdb) == at_once
    again = {d["_id"]: d["updated_at"] for d in sdb.att_project_days.find()}
    assert again.keys() == stamped.keys() and all(again[k] > stamped[k] for k in stamped)
    assert all(d["updated_at"] >= min(again.values()) for d in sdb.att_person_days.find())


def test_a_write_between_the_folds_read_and_its_write_is_kept(mongo_uri, db_name, sdb, site):
    """The fold reads a project-day, merges in Python and replaces it only if its version is still the
    one it read; a roster refile (or a rebuild) writing in between makes it merge again, never overwrite."""
    pid, worker = site["project_id"], site["workers"][0]["worker_no"]
    run_async(mongo_uri, db_name, lambda db: write_punches(db, [(pid, worker, "2026-10-01T08:00:00", False, None),
                                                                 (pid, worker, "2026-10-01T18:00:00", False, None)]))
    first, second = sorted(sdb.punches.find({}, {"photo_id": 0}), key=lambda p: p["device_time"])
    run_async(mongo_uri, db_name, lambda db: rollups.fold(db, [first]))
    key = f"{pid}|2026-10-01"
    merges = []

    def merge_meeting_another_writer(stored, new):
        if not merges:   # between this fold's read and its write, somebody else writes the day
            sdb.att_project_days.update_one({"_id": key}, {"$addToSet": {"managers.安全员": 424242}, "$inc": {"version": 1}})
        merges.append(stored.get("version"))
        return fold_rules.merge_project_days(stored, new)

    async def fold_second(db):
        batch = fold_rules.Fold()
        batch.add(second)
        now = dt.datetime.now(dt.timezone.utc)
        await rollups._merge_into(db.att_project_days, {k: fold_rules.project_day_document(k, d, False, now)
                                                        for k, d in batch.project_days.items()}, merge_meeting_another_writer)
    run_async(mongo_uri, db_name, fold_second)
    day = sdb.att_project_days.find_one({"_id": key})
    assert merges == [1, 2]                          # went round once more, from the other writer's version
    assert day["managers"]["安全员"] == [424242] and day["version"] == 3
    assert sorted(day["punch_ids"]) == sorted([first["_id"], second["_id"]])


def test_a_database_of_the_per_person_shape_starts_with_the_new_index(mongo_uri, db_name, sdb):
    """att_person_days was one document per person-day, indexed (project_id, date, worker_no) as
    project_day: a start drops that index, so the new project_day (project_id, date) can be made."""
    from server.store.schema import ensure_schema
    sdb.att_person_days.drop()
    sdb.att_person_days.create_index([("project_id", 1), ("date", 1), ("worker_no", 1)], name="project_day")
    run_async(mongo_uri, db_name, ensure_schema)
    keys = {i["name"]: list(i["key"]) for i in sdb.att_person_days.list_indexes()}
    assert keys["project_day"] == ["project_id", "date"] and keys["by_day"] == ["date", "project_id"]
    run_async(mongo_uri, db_name, ensure_schema)     # and a second start leaves it be
    assert {i["name"]: list(i["key"]) for i in sdb.att_person_days.list_indexes()} == keys


def test_a_tail_whose_token_followed_a_new_collection_catches_up_without_a_warning(mongo_uri, db_name, sdb, site, caplog):
    """The embedded server's quirk (test_embedded_quirks): a collection made while the tail follows the
    stream leaves it a token the server will not resume from; the next pass catches up, quietly."""
    async def first_pass(db):
        tail = PunchTail(db)
        await tail.open()
        await write_punches(db, load(site, 1, 2))
        await drain(tail)
        await db.create_collection("made_while_folding")
        await tail.step()
        await tail.close()
    run_async(mongo_uri, db_name, first_pass)
    run_async(mongo_uri, db_name, lambda db: write_punches(db, load(site, 3, 2)))
    with caplog.at_level("INFO", logger="server.store.rollups"):
        tail_through(mongo_uri, db_name)
    assert [r.levelname for r in caplog.records if "punch tail" in r.message] == ["INFO"]
    assert len(person_days(sdb)) == 8
    folded = snapshot(sdb)
    run_async(mongo_uri, db_name, lambda db: rollups.rebuild(db))
    assert snapshot(sdb) == folded
