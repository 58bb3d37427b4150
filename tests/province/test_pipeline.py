"""The upload pipeline against the stand-in over HTTP, with injected failures, on the real embedded database."""
from __future__ import annotations

import asyncio
import datetime as dt
import time

from server.config import Config
from server.province import pipeline
from server.province.client import HttpPlatform
from server.store import uploads
from server.store.db import open_database

from standin_helpers import arrange_upload_site, control, running_standin

CONFIG = Config.from_env({}, province_retry_seconds=0.05, province_attendance_batch=3,
                         province_connect_timeout=0.5, province_request_timeout=0.5)


def _settled(docs: list[dict]) -> bool:
    """Every record final, or waiting behind a refused record it depends on."""
    states = {d["_id"]: d["state"] for d in docs}

    def blocked(doc):
        return any(states.get(dep) == uploads.FAILED or (states.get(dep) == uploads.TO_SEND and blocked(by_id[dep]))
                   for dep in doc["depends_on"])
    by_id = {d["_id"]: d for d in docs}
    return all(d["state"] in uploads.FINAL or (d["state"] == uploads.TO_SEND and blocked(d)) for d in docs)


async def _passes_until_settled(db, platform, deadline: float = 60.0) -> list[dict]:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        await pipeline.run_once(db, platform, CONFIG)
        docs = [d async for d in db.uploads.find({}, {"history": 0})]
        if _settled(docs) and not any(d["state"] == uploads.TO_SEND and not d["depends_on"] for d in docs):
            return docs
        await asyncio.sleep(0.05)  # let the stand-in process and back-offs run out before the next pass
    raise AssertionError(f"not settled: { {d['_id']: d['state'] for d in docs} }")


def test_every_record_ends_final_once_on_the_platform_and_a_fix_goes_again(mongo_uri, db_name):
    async def main():
        client, db = await open_database(mongo_uri, db_name, app_name="tests")
        try:
            site = await arrange_upload_site(db)
            refused_worker = site["workers"][1]
            async with running_standin() as (state, base):
                await control(base, "/_sim/inject", {"rules": [
                    {"kind": "error", "method": "Team.Add", "status": 503},
                    {"kind": "lost_reply", "method": "ProjectSubContractor.Add"},
                    {"kind": "lost_reply", "method": "ProjectWorker.Add", "match": site["workers"][2]["name"]},
                    {"kind": "timeout", "method": "WorkerAttendance.Add", "delay": 2},
                    {"kind": "fail", "method": "ProjectWorker.Add", "match": refused_worker["name"],
                     "times": None, "message": "姓名与身份证不符"},
                ]})
                platform = HttpPlatform(base + "/api", request_timeout=0.5, connect_timeout=0.5)
                docs = await _passes_until_settled(db, platform)
                by_state = {}
                for d in docs:
                    by_state.setdefault(d["state"], []).append(d["_id"])
                failed = by_state.pop(uploads.FAILED)
                assert failed == [uploads.upload_id("worker", site["project_id"], refused_worker["worker_no"])]
                doc = await uploads.get(db, "worker", f"{site['project_id']}:{refused_worker['worker_no']}")
                assert doc["reason"] == "姓名与身份证不符"
                # What waits behind the refused worker: its entry and its two punches (one batch of that worker).
                waiting = [d for d in docs if d["state"] == uploads.TO_SEND]
                assert sum(d.get("n", 1) for d in waiting) == 3, by_state
                assert [d["depends_on"] for d in waiting if d["kind"] == "attendance"] == [[failed[0]]]
                dump = await control(base, "/_sim/state")
                ours = sorted(w["id_number"] for w in site["workers"] if w is not refused_worker)
                assert sorted(w["idCardNumber"] for w in dump["workers"]) == ours
                assert len(dump["units"]) == 1 and len(dump["teams"]) == 2
                # The lost replies were resent and answered "already exists": reconciled, not doubled.
                assert dump["counts"]["already_exists"] >= 2
                assert dump["counts"]["ProjectSubContractor.Add"] == 2
                assert len(dump["attendance"]) == 6 and len(dump["entry_exits"]) == 4 and len(dump["contracts"]) == 1

                # The project fixes the name; the next passes send the worker and what waited for it.
                await db.people.update_one({"worker_no": refused_worker["worker_no"]}, {"$set": {"name": "改正名"}})
                docs = await _passes_until_settled(db, platform)
                assert {d["state"] for d in docs} == {uploads.SUCCEEDED}
                dump = await control(base, "/_sim/state")
                assert sorted(w["idCardNumber"] for w in dump["workers"]) == sorted(w["id_number"] for w in site["workers"])
                sent = {(a["idCardNumber"], a["date"]) for a in dump["attendance"]}
                assert len(dump["attendance"]) == len(sent) == 8  # the test-environment punch never went
                assert len(dump["entry_exits"]) == 5  # four entries and one exit

                # A record changed after success goes again as an update, under its platform id.
                await db.teams.update_one({"_id": site["team_id"]}, {"$set": {"name": "土建一班"}})
                docs = await _passes_until_settled(db, platform)
                team = await uploads.get(db, "team", str(site["team_id"]))
                assert team["state"] == uploads.SUCCEEDED and team["operation"] == "update"
                dump = await control(base, "/_sim/state")
                names = {t["teamSysNo"]: t["teamName"] for t in dump["teams"]}
                assert names[team["platform_ids"]["teamSysNo"]] == "土建一班" and len(names) == 2
                # Nothing changed: a pass looks at every record, writes none and sends nothing.
                quiet = await pipeline.run_once(db, platform, CONFIG)
                assert quiet.sent == 0 and quiet.backlog == 0 and quiet.marked["looked at"] > 0
                assert [k for k in quiet.marked if k.startswith("marked")] == []
        finally:
            await client.close()
    asyncio.run(main())


class Killed(BaseException):
    """Stands for the worker dying: not an Exception, so nothing in the pass catches it."""


class DyingPlatform(HttpPlatform):
    """The real adapter; the pass dies right after the platform answered the n-th upload (or poll)."""

    def __init__(self, *args, die_after_upload: int = 0, die_in_poll: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.uploads_left, self.polls_left = die_after_upload, die_in_poll

    async def upload(self, *args, **kwargs):
        result = await super().upload(*args, **kwargs)
        self.uploads_left -= 1
        if self.uploads_left == 0:
            raise Killed  # the platform took it; its serial is never stored
        return result

    async def query_result(self, *args, **kwargs):
        result = await super().query_result(*args, **kwargs)
        self.polls_left -= 1
        if self.polls_left == 0:
            raise Killed
        return result


def test_a_pass_dying_after_the_request_or_while_polling_sends_nothing_twice(mongo_uri, db_name):
    async def main():
        client, db = await open_database(mongo_uri, db_name, app_name="tests")
        try:
            site = await arrange_upload_site(db)
            async with running_standin() as (state, base):
                # Die after the 1st upload (the unit), after the 2nd upload since (a team), then while polling.
                for dying in (DyingPlatform(base + "/api", die_after_upload=1),
                              DyingPlatform(base + "/api", die_after_upload=2),
                              DyingPlatform(base + "/api", die_in_poll=1)):
                    end = time.monotonic() + 30
                    while True:  # passes until this platform's death point comes
                        assert time.monotonic() < end, "the pass was meant to die"
                        try:
                            await pipeline.run_once(db, dying, CONFIG)
                        except Killed:
                            break
                        await asyncio.sleep(0.05)
                    # The lease of the dead sender's claims runs out (its length is tested in tests/store).
                    await uploads.release_stale(db, older_than=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
                stuck = await db.uploads.count_documents({"state": uploads.SENDING})
                assert stuck == 0
                docs = await _passes_until_settled(db, HttpPlatform(base + "/api"))
                assert {d["state"] for d in docs} == {uploads.SUCCEEDED}, {d["_id"]: d["state"] for d in docs}
                dump = await control(base, "/_sim/state")
                assert len(dump["units"]) == 1 and len(dump["teams"]) == 2
                assert sorted(w["idCardNumber"] for w in dump["workers"]) == sorted(w["id_number"] for w in site["workers"])
                assert len(dump["attendance"]) == 8 and len(dump["entry_exits"]) == 5 and len(dump["contracts"]) == 1
                # The unit and the team were taken before each death and sent again: answered "already exists".
                assert dump["counts"]["ProjectSubContractor.Add"] == 2 and dump["counts"]["already_exists"] >= 2
                teams = {t["teamSysNo"] for t in dump["teams"]}
                ours = {d["platform_ids"]["teamSysNo"] for d in docs if d["kind"] == "team"}
                assert ours == teams
        finally:
            await client.close()
    asyncio.run(main())


def test_a_pass_compares_new_projects_those_waiting_for_a_fix_and_the_next_in_turn(mongo_uri, db_name):
    """Comparing every record of every project each pass is what a city cannot afford: a pass takes the
    projects seen for the first time, those with a refused record (not a refused punch: punches do not
    change), those with punches waiting for a worker's record, and the next `sweep` in turn, wrapping."""
    async def main():
        client, db = await open_database(mongo_uri, db_name, app_name="tests")
        try:
            now = dt.datetime.now(dt.timezone.utc)
            await db.uploads.insert_many([
                uploads.new_document("worker", "5:1", project_id=5, content_hash="h", now=now) | {"state": uploads.FAILED},
                uploads.attendance_batch(1, [{"punch_id": "p", "worker_no": 1, "time": now, "direction": "01",
                                              "received_at": now}], team_id=None, now=now) | {"state": uploads.FAILED},
            ])

            async def pass_over(site_ids):
                chosen, state = await pipeline.projects_to_mark(db, set(site_ids), sweep=2)
                await db.upload_state.update_one({"_id": pipeline.SWEEP_ID}, {"$set": state}, upsert=True)
                return chosen
            assert await pass_over([1, 2, 3, 4, 5]) == [1, 2, 3, 4, 5]   # all new
            assert await pass_over([1, 2, 3, 4, 5]) == [3, 4, 5]         # 1, 2 had their turn; 5 waits for a fix
            assert await pass_over([1, 2, 3, 4, 5]) == [1, 5]            # wrapped: 5 and 1 in turn
            assert await pass_over([1, 2, 3, 4, 5, 6]) == [2, 3, 5, 6]   # 6 takes part for the first time
            await db.uploads.update_one({"_id": "worker:5:1"}, {"$set": {"state": uploads.SUCCEEDED}})
            assert await pass_over([1, 2, 3, 4, 5, 6]) == [4, 5]         # fixed: 5 only in its turn now
            # A punch of a worker project 2 entered since its turn waits for the worker's record: 2 goes now.
            await db.uploads.insert_one(uploads.attendance_batch(
                2, [{"punch_id": "q", "worker_no": 9, "time": now, "direction": "01", "received_at": now}],
                team_id=None, now=now, depends_on=["worker:2:9"]))
            assert await pass_over([1, 2, 3, 4, 5, 6]) == [1, 2, 6]
        finally:
            await client.drop_database(db_name)
            await client.close()
    asyncio.run(main())


def test_the_watermarks_window_is_read_in_equal_slices_the_last_open_ended():
    """The embedded server gathers every match of a query before its first answer: the window is read in
    slices so the first batches go out after a slice's work. Together they cover the window and beyond."""
    t0 = dt.datetime(2026, 12, 1, 8, tzinfo=dt.timezone.utc)
    slices = pipeline.read_slices(t0, t0 + dt.timedelta(minutes=8), 4)
    assert slices == [(t0, t0 + dt.timedelta(minutes=2)), (t0 + dt.timedelta(minutes=2), t0 + dt.timedelta(minutes=4)),
                      (t0 + dt.timedelta(minutes=4), t0 + dt.timedelta(minutes=6)), (t0 + dt.timedelta(minutes=6), None)]
    assert pipeline.read_slices(t0, t0, 4) == [(t0, None)]                          # nothing between: one read
    assert pipeline.read_slices(t0, t0 - dt.timedelta(seconds=1), 4) == [(t0, None)]  # a clock stepped back
