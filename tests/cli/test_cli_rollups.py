"""`realname rollups rebuild`, run as an operator would run it."""
from __future__ import annotations

from punch_support import person_days, write_punches
from support import run_async

from test_cli_devices import realname


def test_rollups_rebuild_from_a_day(mongo_uri, db_name, sdb, site):
    pid, worker = site["project_id"], site["workers"][0]["worker_no"]
    run_async(mongo_uri, db_name, lambda db: write_punches(db, [
        (pid, worker, "2026-10-04T23:59:59", False, None), (pid, worker, "2026-10-05T00:00:00", False, None),
        (pid, worker, "2026-10-05T18:00:00", False, None), (pid, worker, "2026-10-06T08:00:00", True, None)]))
    done = realname(mongo_uri, db_name, "rollups", "rebuild", "--from", "2026-10-05")
    assert done.returncode == 0, done.stderr
    assert "2 punches folded" in done.stdout, done.stdout       # the test punch is read but never counts
    days = {d["date"]: d["count"] for d in person_days(sdb)}
    assert days == {"2026-10-05": 2}                            # the 4th lies before --from
    bad = realname(mongo_uri, db_name, "rollups", "rebuild", "--from", "5.10.2026")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
