"""The attendance rollups: the change-stream tail and a rebuild from raw punches agree exactly, a tail
killed mid-stream loses and double-counts nothing, and a tail that cannot resume catches up."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

from server.store import rollups
from server.store.rollups import PunchTail

from punch_support import drain, snapshot, write_punches
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
    first = sdb.att_person_days.find_one({"_id": f"{site['project_id']}|2026-10-01|{w[1]['worker_no']}"})
    assert first["count"] == 2 and first["first"].astimezone(dt.timezone(dt.timedelta(hours=8))).hour == 9
    assert sdb.att_person_days.count_documents({"date": "2026-10-01"}) == 2
    assert sdb.att_person_days.count_documents({}) == 20
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
        _wait_for(lambda: sdb.att_person_days.count_documents({}) > 0, "some punches folded")
        proc.send_signal(signal.SIGKILL)          # wherever it is: mid-batch, before saving its token …
        proc.wait(30)
        run_async(mongo_uri, db_name, lambda db: write_punches(db, load(site, 9, 8)))
        proc = _tail(mongo_uri, db_name)
        _wait_for(lambda: sdb.att_person_days.count_documents({}) == 32, "every person-day")
        expected_ids = {d["_id"] for d in sdb.punches.find({"test": False})}
        _wait_for(lambda: sum(d["count"] for d in sdb.att_person_days.find()) == len(expected_ids), "every punch")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    folded = snapshot(sdb)
    assert {i for d in sdb.att_person_days.find() for i in d["punch_ids"]} == expected_ids
    run_async(mongo_uri, db_name, lambda db: rollups.rebuild(db))
    assert snapshot(sdb) == folded


def test_a_tail_that_cannot_resume_catches_up_from_its_watermark(mongo_uri, db_name, sdb, site):
    tail_through(mongo_uri, db_name, load(site, 1, 3))
    # The stored token no longer resumes (history gone); punches arrive while no tail runs.
    sdb.rollup_state.update_one({"_id": "punch_tail"}, {"$set": {"resume_token": {"_data": "00"}}})
    run_async(mongo_uri, db_name, lambda db: write_punches(db, load(site, 4, 3)))
    tail_through(mongo_uri, db_name)
    assert sdb.att_person_days.count_documents({}) == 12
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

    run_async(mongo_uri, db_name, lambda db: becomes_manager_on_the_2nd(db, site, worker))
    tail_through(mongo_uri, db_name)
    managers = {d["date"]: d.get("managers", {}) for d in sdb.att_project_days.find()}
    assert managers["2026-10-01"].get("项目经理", []) == []
    assert managers["2026-10-02"]["项目经理"] == [worker] and managers["2026-10-03"]["项目经理"] == [worker]
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
