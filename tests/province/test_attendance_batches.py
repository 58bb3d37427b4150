"""Attendance goes to the platform as batch records: per-item refusals, punches waiting for their worker,
the received-time watermark, and passes dying at each checkpoint of a batch — on the real embedded database
against the stand-in over HTTP."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time

from server.domain.site_clock import SITE_TZ
from server.province import pipeline
from server.province.client import HttpPlatform
from server.store import punch_feed, upload_results, uploads, workforce
from server.store import punches as punch_store
from server.store.db import open_database

from standin_helpers import PROJECT_CODE, arrange_upload_site, control, running_standin
from test_pipeline import CONFIG, _passes_until_settled


def _punch(site: dict, worker: dict, k: int, *, minutes_ago: float, received_at: dt.datetime | None = None) -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    moment = (now - dt.timedelta(minutes=minutes_ago)).astimezone(SITE_TZ)
    return {"_id": f"V|D|{worker['worker_no']}|new{k}", "project_id": site["project_id"], "vendor_code": "V",
            "device_id": "D", "worker_no": worker["worker_no"], "device_time": moment, "date": moment.date().isoformat(),
            "received_at": received_at or now, "mode": 6, "photo_len": 0, "flags": [], "test": False}


def _batched(docs: list[dict]) -> list[str]:
    return [i["punch_id"] for d in docs if d["kind"] == "attendance" for i in uploads.items_of(d)]


def _with_uploaded_site(mongo_uri, db_name, body, rules=lambda site: []) -> None:
    """Arrange the site, upload it to a stand-in (with rules injected) until settled, then run body."""
    async def main():
        client, db = await open_database(mongo_uri, db_name, app_name="tests")
        try:
            site = await arrange_upload_site(db)
            async with running_standin() as (state, base):
                await control(base, "/_sim/inject", {"rules": rules(site)})
                platform = HttpPlatform(base + "/api", request_timeout=2, connect_timeout=2)
                await _passes_until_settled(db, platform)
                await body(db, site, state, base, platform)
        finally:
            await client.close()
    asyncio.run(main())


def test_a_refused_item_leaves_the_rest_of_its_batch_accepted_and_is_listed_with_its_reason(mongo_uri, db_name):
    async def body(db, site, state, base, platform):
        # The platform loses one worker that we hold as 上传成功: its item of the next batch is refused.
        lost = site["workers"][0]
        del state.workers[(PROJECT_CODE, lost["id_number"])]
        same_team = site["workers"][:3]   # all in the site's team 土建: one batch
        await punch_store.store(db, [_punch(site, w, 0, minutes_ago=3) for w in same_team])
        docs = await _passes_until_settled(db, platform)
        [batch] = [d for d in docs if d["kind"] == "attendance" and any("new0" in i["punch_id"] for i in uploads.items_of(d))]
        assert batch["state"] == uploads.FAILED and batch["n"] == len(same_team) and batch["refused_n"] == 1
        refused_id = f"V|D|{lost['worker_no']}|new0"
        assert [r["punch_id"] for r in batch["refused"]] == [refused_id]
        assert "项目中不存在身份证为" in batch["refused"][0]["reason"]
        dump = await control(base, "/_sim/state")
        assert len(dump["attendance"]) == 8 + len(same_team) - 1

        # The results: per punch, the refused one listed with who, when, why and where to fix.
        counts = (await upload_results.summary(db, [site["project_id"]]))[site["project_id"]]["attendance"]
        assert counts == {uploads.SUCCEEDED: 8 + len(same_team) - 1, uploads.FAILED: 1}
        [row] = await upload_results.records(db, site["project_id"], kind="attendance")
        assert row["id"] == uploads.upload_id("attendance", refused_id) and row["batch"] == batch["_id"]
        assert lost["name"] in row["name"] and row["reason"] == batch["refused"][0]["reason"]
        assert row["fix_url"] == f"/attendance?project={site['project_id']}" and row["state"] == uploads.FAILED
        accepted = await upload_results.records(db, site["project_id"], kind="attendance", state=uploads.SUCCEEDED)
        assert len(accepted) == 8 + len(same_team) - 1 and refused_id not in {r["id"] for r in accepted}
    _with_uploaded_site(mongo_uri, db_name, body)


def test_a_punch_of_a_worker_not_yet_uploaded_waits_alone_and_goes_after_the_worker(mongo_uri, db_name):
    async def body(db, site, state, base, platform):
        refused = site["workers"][1]
        # New punches of the refused worker and of an uploaded one land together.
        other = site["workers"][0]
        await punch_store.store(db, [_punch(site, refused, 0, minutes_ago=2), _punch(site, other, 0, minutes_ago=2)])
        report = await pipeline.run_once(db, platform, CONFIG)
        assert report.marked["punches batched"] == 2
        docs = [d async for d in db.uploads.find({"kind": "attendance"})]
        mine = [d for d in docs if any(i["worker_no"] == refused["worker_no"] for i in uploads.items_of(d))]
        worker_id = uploads.upload_id("worker", site["project_id"], refused["worker_no"])
        # Its punches wait in batches of that worker alone, behind the worker record; nobody else's does.
        assert {d["state"] for d in mine} == {uploads.TO_SEND} and sum(d["n"] for d in mine) == 3
        assert all(d["depends_on"] == [worker_id] and {i["worker_no"] for i in uploads.items_of(d)} == {refused["worker_no"]}
                   for d in mine)
        [ready] = [d for d in docs if any(i["punch_id"] == f"V|D|{other['worker_no']}|new0" for i in uploads.items_of(d))]
        assert ready["depends_on"] == [] and ready["state"] == uploads.SUCCEEDED   # sent in the same pass
        await _passes_until_settled(db, platform)
        dump = await control(base, "/_sim/state")
        assert len(dump["attendance"]) == 7   # the other worker's new punch went; the refused one's three wait
        backlog = await uploads.backlog(db, pipeline.BACKLOG_STATES)
        assert backlog["attendance"] == {uploads.TO_SEND: 3}

        await control(base, "/_sim/inject", {"rules": []})
        await db.people.update_one({"worker_no": refused["worker_no"]}, {"$set": {"name": "改正名"}})
        docs = await _passes_until_settled(db, platform)
        assert {d["state"] for d in docs} == {uploads.SUCCEEDED}
        dump = await control(base, "/_sim/state")
        assert len(dump["attendance"]) == len({(a["idCardNumber"], a["date"]) for a in dump["attendance"]}) == 10
        # First punch of a worker's day 01 进, later ones 02 出: the refused worker's day holds one 01.
        mine = [a for a in dump["attendance"] if a["idCardNumber"] == refused["id_number"]]
        days = {a["date"][:10] for a in mine}
        assert len(mine) == 3 and [a["direction"] for a in mine].count("01") == len(days)
    _with_uploaded_site(mongo_uri, db_name, body, rules=lambda site: [
        {"kind": "fail", "method": "ProjectWorker.Add", "match": site["workers"][1]["name"], "times": None,
         "message": "姓名与身份证不符"}])


def test_the_watermark_takes_a_late_write_once_and_a_quiet_pass_reads_no_old_punch(mongo_uri, db_name):
    async def body(db, site, state, base, platform):
        mark = (await db.upload_state.find_one({"_id": pipeline.WATERMARK_ID}))["since"]
        mark = mark.replace(tzinfo=dt.timezone.utc)
        # A punch stamped before the last read but written only now (its grouped write was slow),
        # inside the margin: the next pass finds it, and no later pass batches it again.
        late = _punch(site, site["workers"][0], 0, minutes_ago=1, received_at=mark + dt.timedelta(seconds=1))
        await punch_store.store(db, [late])
        first = await pipeline.run_once(db, platform, CONFIG)
        assert first.marked["punches batched"] == 1
        docs = await _passes_until_settled(db, platform)
        assert _batched(docs).count(late["_id"]) == 1 and len(_batched(docs)) == 9
        again = await pipeline.run_once(db, platform, CONFIG)
        assert "punches batched" not in again.marked and again.marked["punches read"] > 0  # re-read, skipped
        dump = await control(base, "/_sim/state")
        assert len(dump["attendance"]) == 9

        # With the margin behind it, a pass after nothing new reads no punch at all.
        no_margin = dataclasses.replace(CONFIG, province_punch_margin_seconds=0.0)
        await pipeline.run_once(db, platform, no_margin)
        quiet = await pipeline.run_once(db, platform, no_margin)
        assert quiet.marked["punches read"] == 0 and quiet.sent == 0
        assert quiet.marked["looked at"] == len([d for d in docs if d["kind"] != "attendance"])
    _with_uploaded_site(mongo_uri, db_name, body)


def test_the_window_is_read_from_the_feed_and_once_from_the_punches_after_an_upgrade(mongo_uri, db_name):
    async def body(db, site, state, base, platform):
        # Stored as the gateway stores them: read from the feed, not from the punches.
        fed = [_punch(site, w, 0, minutes_ago=2) for w in site["workers"][:2]]
        await punch_store.store(db, fed)
        report = await pipeline.run_once(db, platform, CONFIG)
        assert report.marked["punches batched"] == 2 and "window read from the punches" not in report.marked
        # Punches stored before the feed existed (an upgrade): the first pass on a watermark from before
        # reads its window from the punches themselves, once; the watermark it stores is fed again.
        old = dict(_punch(site, site["workers"][2], 0, minutes_ago=1), _id="V|D|before-the-feed")
        await db.punches.insert_one(old)
        await db.upload_state.update_one({"_id": pipeline.WATERMARK_ID}, {"$unset": {"fed": ""}})
        report = await pipeline.run_once(db, platform, CONFIG)
        assert report.marked["window read from the punches"] == 1 and report.marked["punches batched"] == 1
        assert (await db.upload_state.find_one({"_id": pipeline.WATERMARK_ID}))["fed"] is True
        again = await pipeline.run_once(db, platform, CONFIG)
        assert "window read from the punches" not in again.marked and "punches batched" not in again.marked
        docs = await _passes_until_settled(db, platform)
        assert all(_batched(docs).count(p["_id"]) == 1 for p in fed + [old])
        dump = await control(base, "/_sim/state")
        assert len(dump["attendance"]) == 11
    _with_uploaded_site(mongo_uri, db_name, body)


def test_the_feed_a_week_behind_the_watermark_goes_and_its_punches_stay(mongo_uri, db_name):
    async def body(db, site, state, base, platform):
        now = dt.datetime.now(dt.timezone.utc)
        worker = site["workers"][0]
        old, recent = ([_punch(site, worker, k, minutes_ago=days * 1440, received_at=now - dt.timedelta(days=days))]
                       for k, days in ((1, 8), (2, 6)))
        for some in (old, recent):
            await punch_store.store(db, some)
        report = await pipeline.run_once(db, platform, CONFIG)
        assert report.marked["feed documents dropped"] == 1
        kept = {p["_id"] async for d in db.punch_feed.find({}) for p in punch_feed.punches_of(d, now - dt.timedelta(days=30))}
        assert recent[0]["_id"] in kept and old[0]["_id"] not in kept
        assert await db.punches.count_documents({"_id": {"$in": [old[0]["_id"], recent[0]["_id"]]}}) == 2
    _with_uploaded_site(mongo_uri, db_name, body)


def _gate_punch(project_id: int, gate: str, k: int, when: dt.datetime, received_at: dt.datetime) -> dict:
    """Worker 7's k-th punch, at `gate` for `project_id`."""
    moment = when.astimezone(SITE_TZ)
    return {"_id": f"V|{gate}|7|{k}", "project_id": project_id, "vendor_code": "V", "device_id": gate,
            "worker_no": 7, "device_time": moment, "date": moment.date().isoformat(),
            "received_at": received_at, "mode": 6, "photo_len": 0, "flags": [], "test": False}


def test_a_workers_day_at_two_gates_stored_apart_has_one_first(mongo_uri, db_name):
    """In at one gate, out at another, each stored by its own write (two feed documents) and read in the
    smallest chunks: the day's first punch is 01 进 and the later one 02 出, whichever chunk each is in."""
    async def main():
        client, db = await open_database(mongo_uri, db_name, app_name="tests")
        try:
            project = await workforce.create_project(db, name="两门项目", county="蓬江区")
            now = dt.datetime.now(dt.timezone.utc)
            day = dt.datetime(2026, 11, 30, tzinfo=SITE_TZ)   # one site day, whenever the test runs
            docs = [_gate_punch(project["_id"], gate, k, day + dt.timedelta(hours=hour), now + dt.timedelta(milliseconds=k))
                    for k, (gate, hour) in enumerate((("Z-in", 8), ("A-out", 17)))]
            for doc in docs:
                await punch_store.store(db, [doc])
            await db.upload_state.insert_one({"_id": pipeline.WATERMARK_ID, "since": now - dt.timedelta(hours=1),
                                              "projects": [project["_id"]], "fed": True})
            directions: dict[str, str] = {}

            async def take(found):
                directions.update(await pipeline.directions_of(db, found))
            await pipeline.new_punches(db, {project["_id"]}, CONFIG, pipeline.PassReport(), now, take, chunk_size=1)
            assert directions == {docs[0]["_id"]: "01", docs[1]["_id"]: "02"}
        finally:
            await client.drop_database(db_name)
            await client.close()
    asyncio.run(main())


class Killed(BaseException):
    """Stands for the worker dying: not an Exception, so nothing in the pass catches it."""


def test_a_pass_dying_at_each_checkpoint_of_a_batch_sends_each_punch_once(mongo_uri, db_name):
    async def body(db, site, state, base, platform):
        for n, point in enumerate(pipeline.CHECKPOINTS):
            await punch_store.store(db, [_punch(site, w, n, minutes_ago=5 - n) for w in site["workers"][:3]])

            async def die_at_a_batch(at, ids, point=point):
                if at == point and ids[0].startswith("attendance:"):
                    raise Killed
            end = time.monotonic() + 30
            while True:   # passes until the batch reaches the point (in_poll waits for its outcome)
                assert time.monotonic() < end, f"the pass never reached {point}"
                try:
                    await pipeline.run_once(db, platform, CONFIG, checkpoint=die_at_a_batch)
                except Killed:
                    break
            # The dead sender's lease runs out (its length is tested in tests/store).
            await uploads.release_stale(db, older_than=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
        # A pass dying after writing its batches, before storing its watermark: the next reads the same
        # punches again and finds them batched.
        saved = await db.upload_state.find_one({"_id": pipeline.WATERMARK_ID})
        await punch_store.store(db, [_punch(site, site["workers"][0], 9, minutes_ago=0.5)])
        await pipeline.run_once(db, platform, CONFIG)
        await db.upload_state.replace_one({"_id": pipeline.WATERMARK_ID}, saved)
        docs = await _passes_until_settled(db, platform)
        assert {d["state"] for d in docs} == {uploads.SUCCEEDED}, {d["_id"]: d["state"] for d in docs}
        batched = _batched(docs)
        assert len(batched) == len(set(batched)) == 8 + 3 * len(pipeline.CHECKPOINTS) + 1
        dump = await control(base, "/_sim/state")
        assert len(dump["attendance"]) == len(batched)
        # The batch taken before the death after its request was sent again: "already exists" per item.
        assert dump["counts"]["already_exists"] >= 1
    _with_uploaded_site(mongo_uri, db_name, body)
