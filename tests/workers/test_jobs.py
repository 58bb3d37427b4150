"""Worker processes and their jobs, against the real database: a worker killed with SIGKILL in the
middle of an Excel import is taken over after its lease and every row is entered exactly once;
workers started together never run one job twice; a periodic job runs once per interval across
two workers."""
from __future__ import annotations

import asyncio
import datetime as dt
import random
import time

from server import synthetic
from server.store import jobs
from server.workers.registry import JobKind
from support import WorkerThread, run_async, wait_until
from support import roster_import_workbook as workbook, upload_roster as upload, wait_import as wait_done

UNIT, TEAM = "江门市测试建筑工程有限公司", "土建"


def rows(n: int, seed: int) -> list[list]:
    rng = random.Random(seed)
    return [[synthetic.id_number(rng), synthetic.chinese_name(rng), None, None, None, None, UNIT, TEAM, "普通工人", None]
            for _ in range(n)]


def test_killed_worker_import_is_finished_by_another_exactly_once(web, site, sdb, worker_process):
    pid = site["project_id"]
    status, reply = upload(web, pid, workbook(rows(1000, 7)))
    assert status == 202, reply
    import_id = sdb.import_jobs.find_one({})["_id"]
    # Each chunk holds between entering its rows and its checkpoint: the kill lands inside a chunk.
    first = worker_process(REALNAME_IMPORT_TEST_PAUSE_SECONDS="2", REALNAME_WORKER_LEASE_SECONDS="2")
    wait_until(lambda: sdb.roster.count_documents({"import_id": import_id}) > 0, 60, "first rows entered")
    held = sdb.jobs.find_one({"_id": import_id})
    first.kill()
    report = sdb.import_jobs.find_one({"_id": import_id})
    entered_by_first = sdb.roster.count_documents({"import_id": import_id})
    assert report["state"] == "running" and report["done"] < 1000 and entered_by_first > report["entered"], report

    worker_process(REALNAME_WORKER_LEASE_SECONDS="2")
    job = wait_done(web, reply["job_url"], timeout=120)
    assert job["state"] == "done" and job["total"] == 1000, job
    # Every row entered or reported, and no row entered twice.
    entries = list(sdb.roster.find({"import_id": import_id}, {"import_row": 1, "worker_no": 1}))
    assert len(entries) == job["entered"] and job["entered"] + len(job["errors"]) == 1000, job
    assert len({e["import_row"] for e in entries}) == len(entries)
    assert len({e["worker_no"] for e in entries}) == len(entries)
    assert job["created"] == sdb.people.count_documents({"created_from.import_id": import_id}) == job["entered"]
    assert not {e["row"] for e in job["errors"]} & {e["import_row"] for e in entries}
    # Taken over by the second worker, and only after the first one's lease ran out.
    done = sdb.jobs.find_one({"_id": import_id})
    assert done["state"] == "done" and done["attempts"] == 2 and done["finished_by"] != held["lease_owner"]
    assert done["started_at"] >= held["lease_expires"]


def _recording_kind(name: str, every=None) -> JobKind:
    async def run(ctx, job):
        await ctx.db.job_runs.insert_one({"job_id": job["_id"], "worker": job["lease_owner"],
                                          "at": dt.datetime.now(dt.timezone.utc)})
        await asyncio.sleep(0.01)  # a run takes a moment: a second claimer would overlap it
        return {"ok": True}
    return JobKind(name, run, every=every)


def test_workers_started_together_never_run_one_job_twice(mongo_uri, db_name, sdb):
    kinds = {"record": _recording_kind("record")}
    ids = run_async(mongo_uri, db_name, lambda db: asyncio.gather(
        *(jobs.submit(db, "record", {"n": n}) for n in range(60))))
    workers = [WorkerThread(mongo_uri, db_name, kinds=kinds) for _ in range(3)]
    try:
        wait_until(lambda: sdb.jobs.count_documents({"state": "done"}) == 60, 60, "all jobs done")
    finally:
        for w in workers:
            w.stop()
    runs = list(sdb.job_runs.find({}))
    assert sorted(r["job_id"] for r in runs) == sorted(ids)  # each job ran, and ran once
    assert all(j["attempts"] == 1 for j in sdb.jobs.find({}))
    assert len({r["worker"] for r in runs}) >= 2  # they really competed


def test_periodic_job_runs_once_per_interval_across_two_workers(mongo_uri, db_name, sdb):
    interval = 0.5
    kinds = {"tick": _recording_kind("tick", every=lambda config: interval)}
    workers = [WorkerThread(mongo_uri, db_name, kinds=kinds) for _ in range(2)]
    try:
        # The run's own record is written while it runs, its entry in the job's history after: wait for
        # what is checked below (a clean-clone run read the history between the two).
        wait_until(lambda: len((sdb.jobs.find_one({"_id": jobs.periodic_id("tick")}) or {}).get("runs", [])) >= 6,
                   60, "six periodic runs in the job's history")
    finally:
        for w in workers:
            w.stop()
    assert sdb.jobs.count_documents({"kind": "tick"}) == 1
    history = sdb.jobs.find_one({"_id": jobs.periodic_id("tick")})["runs"]
    assert len(history) >= 6 and all(not run["error"] for run in history)
    claimed = sorted(run["started_at"] for run in history)
    gaps = [(b - a).total_seconds() for a, b in zip(claimed, claimed[1:])]
    # Stored times are whole milliseconds, hence the 2 ms of slack.
    assert min(gaps) >= interval - 0.002, gaps
    # Every run recorded by the kind is one of the claims (none ran outside its interval).
    assert sdb.job_runs.count_documents({}) == len(history) or sdb.job_runs.count_documents({}) > len(history) == 20
