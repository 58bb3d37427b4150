"""The upload as the worker's periodic job, with real processes: `realname worker` killed with SIGKILL at
each point of a pass and restarted, `realname province-sim` on a free port; then the platform holds every
record exactly once and its state equals ours."""
from __future__ import annotations

from server.store import jobs, uploads
from server.workers import province_upload

from standin_helpers import StandinProcess, arrange_upload_site
from support import run_async, wait_until

JOB = province_upload.JOB_ID


def _worker_env(standin: StandinProcess, **more) -> dict:
    return {"REALNAME_PROVINCE_URL": standin.api, "REALNAME_PROVINCE_UPLOAD_SECONDS": "0.2",
            "REALNAME_PROVINCE_RETRY_SECONDS": "0.1", "REALNAME_PROVINCE_CONNECT_TIMEOUT": "5",
            "REALNAME_PROVINCE_REQUEST_TIMEOUT": "10", "REALNAME_WORKER_LEASE_SECONDS": "1.5",
            # Every quiet pass re-reads the test's punches inside the watermark's margin, however long the
            # run takes on a loaded machine (a pass reading none once the margin is past: tests/province).
            "REALNAME_PROVINCE_PUNCH_MARGIN_SECONDS": "3600", **more}


def test_a_worker_killed_before_after_the_request_and_while_polling_sends_each_record_once(
        mongo_uri, db_name, sdb, worker_process):
    site = run_async(mongo_uri, db_name, arrange_upload_site)
    unit_upload = uploads.upload_id("unit", site["unit_id"])
    standin = StandinProcess()
    try:
        def paused_at(point):
            def check():
                progress = (sdb.jobs.find_one({"_id": JOB}) or {}).get("progress", {})
                return progress.get("ids") if progress.get("paused_at") == point else None
            return check

        # 1. Killed before the request: the unit is claimed (上传中), the platform has seen nothing.
        worker = worker_process(**_worker_env(standin, REALNAME_PROVINCE_TEST_PAUSE_AT="before_request"))
        assert wait_until(paused_at("before_request"), timeout=60, message="no pause before the request") == [unit_upload]
        assert sdb.uploads.find_one({"_id": unit_upload})["state"] == uploads.SENDING
        worker.kill()
        assert standin.control("/_sim/state")["units"] == []

        # 2. Killed after the request, before the serial code is stored: the platform has the unit, we have
        # no serial. The restarted worker takes the job over and gives the dead worker's claim back at once.
        worker = worker_process(**_worker_env(standin, REALNAME_PROVINCE_TEST_PAUSE_AT="after_request"))
        assert wait_until(paused_at("after_request"), timeout=60, message="no pause after the request") == [unit_upload]
        unit = sdb.uploads.find_one({"_id": unit_upload})
        assert unit["state"] == uploads.SENDING and unit["serial"] is None
        assert any(e["note"] == "上传中断，重新上传" for e in unit["history"])
        worker.kill()
        # The stand-in files what it accepted a moment after answering (it answers asynchronously).
        wait_until(lambda: len(standin.control("/_sim/state")["units"]) == 1, timeout=30,
                   message="the platform did not keep the unit it accepted")

        # 3. Killed while polling: the resend was taken (serial stored), its outcome read but not stored.
        worker = worker_process(**_worker_env(standin, REALNAME_PROVINCE_TEST_PAUSE_AT="in_poll"))
        assert wait_until(paused_at("in_poll"), timeout=60, message="no pause in the poll") == [unit_upload]
        unit = sdb.uploads.find_one({"_id": unit_upload})
        assert unit["state"] == uploads.SUBMITTED and unit["serial"]
        worker.kill()

        # 4. A worker with no pause finishes the job.
        worker = worker_process(**_worker_env(standin))

        def all_succeeded():
            states = {d["_id"]: d["state"] for d in sdb.uploads.find({}, {"state": 1})}
            return states if states and set(states.values()) == {uploads.SUCCEEDED} else None
        wait_until(all_succeeded, timeout=120, interval=0.3, message="uploads did not all succeed")
        # Each record, attendance by its punches (one record per batch).
        ours = [d["_id"] for d in sdb.uploads.find({}, {"_id": 1, "kind": 1}) if d["kind"] != "attendance"]
        ours += [uploads.upload_id("attendance", i["punch_id"])
                 for d in sdb.uploads.find({"kind": "attendance"}) for i in uploads.items_of(d)]
        dump = standin.control("/_sim/state")
        # Exactly once on the platform: the unit went twice (after the 2nd kill its resend was answered
        # "already exists" and reconciled); everything else once.
        assert dump["counts"]["ProjectSubContractor.Add"] == 2 and dump["counts"]["already_exists"] == 1
        assert len(dump["units"]) == 1
        by_kind = {}
        for _id in ours:
            by_kind[_id.split(":")[0]] = by_kind.get(_id.split(":")[0], 0) + 1
        assert by_kind == {"unit": 1, "team": 2, "worker": 4, "entry_exit": 5, "contract": 1, "attendance": 8}
        assert len(dump["teams"]) == 2 and len(dump["entry_exits"]) == 5 and len(dump["contracts"]) == 1
        assert len(dump["attendance"]) == 8
        assert sorted(w["idCardNumber"] for w in dump["workers"]) == sorted(w["id_number"] for w in site["workers"])
        team_nos = {d["platform_ids"]["teamSysNo"] for d in sdb.uploads.find({"kind": "team"})}
        assert team_nos == {t["teamSysNo"] for t in dump["teams"]}
        assert sum(dump["counts"].get(m, 0) for m in ("Team.Add", "ProjectWorker.Add", "WorkerEntryExit.Add",
                                                      "WorkerContract.Add")) == 2 + 4 + 5 + 1

        # The job's stored result: the last pass's rate and backlog per kind, for the results page. (The
        # pass that sent the last records may already show an empty backlog; wait for one with nothing to do.)
        def quiet_result():
            result = (sdb.jobs.find_one({"_id": JOB}) or {}).get("result") or {}
            return result if result.get("sent") == 0 and result.get("backlog") == 0 else None
        result = wait_until(quiet_result, timeout=30, message="no quiet pass stored")
        assert result["backlog_by_kind"] == {} and result["rate"] == 0 and result["seconds"] > 0
        assert result["marked"]["looked at"] == sum(by_kind.values())
        worker.stop()
    finally:
        standin.stop()


def test_the_job_reports_throughput_and_backlog_per_kind(mongo_uri, db_name, sdb, worker_process):
    """A refused worker keeps its punches and entry waiting: the job's result says so per kind and state."""
    site = run_async(mongo_uri, db_name, arrange_upload_site)
    standin = StandinProcess()
    try:
        refused = site["workers"][1]
        standin.control("/_sim/inject", {"rules": [{"kind": "fail", "method": "ProjectWorker.Add",
                                                     "match": refused["name"], "times": None, "message": "姓名与身份证不符"}]})
        worker_process(**_worker_env(standin))

        def settled():
            result = (sdb.jobs.find_one({"_id": JOB}) or {}).get("result") or {}
            return result if result.get("backlog_by_kind", {}).get("worker") == {uploads.FAILED: 1} \
                and result.get("sent") == 0 else None
        result = wait_until(settled, timeout=120, interval=0.3, message="the refusal never showed in the backlog")
        assert result["backlog_by_kind"] == {"worker": {uploads.FAILED: 1}, "entry_exit": {uploads.TO_SEND: 1},
                                             "attendance": {uploads.TO_SEND: 2}}
        assert result["backlog"] == 3
        runs = sdb.jobs.find_one({"_id": JOB})["runs"]
        assert len(runs) >= 2 and not any(r["error"] for r in runs)
    finally:
        standin.stop()


def test_without_a_platform_address_the_job_uploads_nothing(mongo_uri, db_name, sdb, worker_process):
    run_async(mongo_uri, db_name, arrange_upload_site)
    worker_process(REALNAME_PROVINCE_UPLOAD_SECONDS="0.2")
    result = wait_until(lambda: (sdb.jobs.find_one({"_id": JOB}) or {}).get("result"), timeout=60,
                        message="the upload job never ran")
    assert result == {"skipped": "REALNAME_PROVINCE_URL is not set"}
    assert sdb.uploads.count_documents({}) == 0
    assert jobs.periodic_id("province_upload") == JOB
