"""The month rollup (server/store/rollup_months.py) says what the project-days say, whatever happened
to them: folds, re-folds of the same punches, a manager refiled, a late punch for a past day, a rebuild."""
from __future__ import annotations

import datetime as dt

from server.store import rollup_months, rollup_queries as q, rollups

from support import run_async
from punch_support import months_from_project_days as from_project_days, stored_months as stored
from test_rollups import becomes_manager_on_the_2nd, load, tail_through


def refresh(mongo_uri, db_name) -> int:
    return run_async(mongo_uri, db_name, rollup_months.refresh)


def test_the_month_rollup_says_what_the_project_days_say_after_folds_refolds_and_a_manager_change(
        mongo_uri, db_name, sdb, site):
    from server.store import roster_entries
    since = dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    sdb.roster.update_many({"project_id": site["project_id"]}, {"$set": {"entry_date": since}})
    tail_through(mongo_uri, db_name, load(site, 1, 10))
    refresh(mongo_uri, db_name)
    assert stored(sdb) == from_project_days(sdb) and len(stored(sdb)) == 1
    pid, worker = site["project_id"], site["workers"][0]["worker_no"]
    assert stored(sdb)[f"{pid}|2026-10"]["people"]["2026-10-10"] == 2

    # The same punches again (a device re-sending its buffer): nothing changes.
    before = stored(sdb)
    tail_through(mongo_uri, db_name, load(site, 1, 10))
    refresh(mongo_uri, db_name)
    assert stored(sdb) == before == from_project_days(sdb)

    # 项目经理 from the 2nd, recorded only now: refresh_managers refiles the past project-days.
    run_async(mongo_uri, db_name, lambda db: becomes_manager_on_the_2nd(db, site, worker))
    tail_through(mongo_uri, db_name)
    refresh(mongo_uri, db_name)
    month = stored(sdb)[f"{pid}|2026-10"]
    assert month == from_project_days(sdb)[f"{pid}|2026-10"]
    on_duty = month["managers"]["项目经理"]
    # load(): worker 0 punches on days n with n % 3 == 0 (23:59:59, 09:00) and n % 3 == 2 (00:00:00).
    assert "2026-10-01" not in on_duty and on_duty["2026-10-02"] == [worker] and on_duty["2026-10-03"] == [worker]

    # The manager's entry withdrawn back to nothing: the post's days leave the month document too.
    async def exits(db):
        await roster_entries.exit_person(db, project_id=pid, worker_no=worker, exit_date=dt.date(2026, 10, 2))
    run_async(mongo_uri, db_name, exits)
    tail_through(mongo_uri, db_name)
    refresh(mongo_uri, db_name)
    assert stored(sdb) == from_project_days(sdb)
    assert not stored(sdb)[f"{pid}|2026-10"]["managers"].get("项目经理")


def test_a_late_punch_for_a_past_day_reaches_its_month_even_the_months_last_day(mongo_uri, db_name, sdb, site):
    pid, workers = site["project_id"], [w["worker_no"] for w in site["workers"]]
    tail_through(mongo_uri, db_name, [(pid, workers[0], "2026-10-30T08:00:00", False, None),
                                      (pid, workers[0], "2026-11-02T08:00:00", False, None)])
    refresh(mongo_uri, db_name)
    # Received today, for the 31st (the last day of its month) and the 30th: both reach October's document.
    tail_through(mongo_uri, db_name, [(pid, workers[1], "2026-10-31T23:59:59", False, None),
                                      (pid, workers[1], "2026-10-30T09:00:00", False, None)])
    assert refresh(mongo_uri, db_name) >= 2
    october = stored(sdb)[f"{pid}|2026-10"]
    assert october["people"] == {"2026-10-30": 2, "2026-10-31": 1}
    assert stored(sdb) == from_project_days(sdb)
    # Months asked [September, October] end with $lt November, so October itself is read.
    assert [d["month"] for d in sdb[q.PROJECT_MONTHS].find(q.months("2026-09", "2026-10"))] == ["2026-10"]


def test_a_pass_reads_only_the_project_days_written_since_its_watermark(mongo_uri, db_name, sdb, site):
    pid, worker = site["project_id"], site["workers"][0]["worker_no"]
    tail_through(mongo_uri, db_name, [(pid, worker, f"2026-10-{d:02d}T08:00:00", False, None) for d in range(1, 11)])
    assert refresh(mongo_uri, db_name) == 10   # no watermark yet: every month made from scratch
    # Stamped before the margin a pass looks back: no longer read (the index on updated_at answers).
    now = dt.datetime.now(dt.timezone.utc)
    sdb.att_project_days.update_many({}, {"$set": {"updated_at": now - 3 * rollup_months.WATERMARK_MARGIN}})
    sdb.rollup_state.update_one({"_id": rollup_months.STATE_ID}, {"$set": {"watermark": now - rollup_months.WATERMARK_MARGIN}})
    tail_through(mongo_uri, db_name, [(pid, worker, "2026-10-11T08:00:00", False, None)])
    assert refresh(mongo_uri, db_name) == 1
    assert stored(sdb) == from_project_days(sdb)


def test_a_rebuild_of_the_project_days_rebuilds_their_months(mongo_uri, db_name, sdb, site):
    tail_through(mongo_uri, db_name, load(site, 1, 10))
    refresh(mongo_uri, db_name)
    before = stored(sdb)
    # A project-day the raw punches do not hold (deleted by the rebuild) must leave its month too.
    sdb.att_project_days.insert_one({"_id": f"{site['project_id']}|2026-10-20", "project_id": site["project_id"],
                                     "date": "2026-10-20", "workers": [1], "managers": {}, "stopped": False,
                                     "updated_at": dt.datetime.now(dt.timezone.utc)})
    refresh(mongo_uri, db_name)
    assert stored(sdb) != before

    async def rebuild(db):
        await rollups.rebuild(db, dt.date(2026, 10, 5))
        return await rollup_months.rebuild(db, dt.date(2026, 10, 5))
    run_async(mongo_uri, db_name, rebuild)
    assert stored(sdb) == before == from_project_days(sdb)
