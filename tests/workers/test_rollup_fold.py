"""The rollup fold as the worker's periodic job: a punch acknowledged by the gateway is in the dashboards'
rollups within a minute, with two workers running and nothing folded twice. Real TCP, real database."""
from __future__ import annotations

import datetime as dt
import time

from server.device import codec
from server.store import jobs

from punch_support import person_day, person_days
from support import Device, WorkerThread, now_local

WITHIN = 60.0  # seconds: "a punch is reflected within one minute of its acknowledgement"


def wait_for(condition, what: str, deadline: float):
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {WITHIN:.0f} s: {what}"
        time.sleep(0.1)


def folded_count(sdb, punch) -> int:
    """The count of the person-day holding this punch (0 while the punch is not folded)."""
    day = person_day(sdb, punch["project_id"], punch["date"], punch["worker_no"])
    return day["count"] if day and punch["_id"] in day["punch_ids"] else 0


def last_pass(sdb):
    runs = sdb.jobs.find_one({"_id": jobs.periodic_id("rollup_fold")})["runs"]
    return runs[-1]["started_at"] if runs else None


def test_a_punch_through_the_gateway_is_in_the_rollups_within_a_minute(site, gateway, mongo_uri, db_name, sdb):
    workers = [WorkerThread(mongo_uri, db_name), WorkerThread(mongo_uri, db_name)]
    try:
        wait_for(lambda: sdb.rollup_state.find_one({"_id": "punch_tail"}), "the first pass",
                 time.monotonic() + WITHIN)
        device = Device(gateway().port, site["device_ids"][0])
        assert device.login().flag == codec.FLAG_OK
        person = site["workers"][0]["worker_no"]
        when = now_local() - dt.timedelta(minutes=1)
        assert device.punch(person, when).flag == codec.FLAG_OK
        acknowledged = time.monotonic()
        punch = sdb.punches.find_one({"worker_no": person})
        wait_for(lambda: folded_count(sdb, punch), "the punch in att_person_days", acknowledged + WITHIN)
        # The project-day (what the day pages read) is a second write of the same batch, a moment later.
        wait_for(lambda: person in (sdb.att_project_days.find_one({"project_id": site["project_id"],
                                                                   "date": punch["date"]}) or {}).get("workers", ()),
                 "the punch's person in att_project_days", acknowledged + WITHIN)
        # The month rollup the month pages read is carried by the same pass.
        month = f"{site['project_id']}|{punch['date'][:7]}"
        wait_for(lambda: (sdb.att_project_months.find_one({"_id": month}) or {}).get("people", {}).get(punch["date"]) == 1,
                 "the punch's day in att_project_months", acknowledged + WITHIN)

        # The same punch sent again (the device did not hear the answer) and a second one: each counted once.
        assert device.punch(person, when).flag == codec.FLAG_OK
        assert device.punch(person, when + dt.timedelta(seconds=30)).flag == codec.FLAG_OK
        acknowledged = time.monotonic()
        second = sdb.punches.find_one({"worker_no": person, "_id": {"$ne": punch["_id"]}})
        wait_for(lambda: folded_count(sdb, second) == 2, "the second punch folded", acknowledged + WITHIN)
        device.close()
        # Both workers have had their chance at later passes; the figures have not moved.
        last = last_pass(sdb)
        wait_for(lambda: last_pass(sdb) != last, "another pass", time.monotonic() + WITHIN)
        assert sdb.punches.count_documents({"worker_no": person}) == 2
        assert folded_count(sdb, punch) == 2
        assert len(person_days(sdb, {"project_id": site["project_id"]})) == 1
    finally:
        for w in workers:
            w.stop()
