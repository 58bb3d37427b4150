"""Upload records (上传省厅) on the real embedded database: marking, dependency order, claims, outcomes, backoff."""
from __future__ import annotations

import datetime as dt

from server.store import uploads

from support import run_async

T0 = dt.datetime(2026, 6, 1, 8, tzinfo=dt.timezone.utc)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _states(docs):
    return {d["_id"]: d["state"] for d in docs}


def test_dependency_order_and_a_kind_waits_for_what_it_needs(mongo_uri, db_name):
    async def job(db):
        await uploads.mark(db, "unit", "u1", project_id=1, content_hash="h-u1", now=T0)
        await uploads.mark(db, "team", "t1", project_id=1, content_hash="h-t1", depends_on=["unit:u1"], now=T0)
        await uploads.mark(db, "worker", "1:7", project_id=1, content_hash="h-w", depends_on=["team:t1"], now=T0)
        first = await uploads.take_batch(db, limit=10, now=at(1))
        assert [d["_id"] for d in first] == ["unit:u1"] and first[0]["state"] == "上传中"
        # Nothing else is ready while the unit is in flight: the team waits for the unit's success.
        assert await uploads.take_batch(db, limit=10, now=at(2)) == []
        await uploads.record_submission(db, ["unit:u1"], "S1", now=at(2))
        assert (await uploads.submitted(db))["S1"][0]["_id"] == "unit:u1"
        await uploads.record_successes(db, ["unit:u1"], now=at(3))
        second = await uploads.take_batch(db, limit=10, now=at(4))
        assert [d["_id"] for d in second] == ["team:t1"]
        await uploads.record_submission(db, ["team:t1"], "S2", now=at(4))
        await uploads.record_successes(db, ["team:t1"], platform_ids={"teamSysNo": 100001}, now=at(5))
        team = await uploads.get(db, "team", "t1")
        assert team["state"] == "上传成功" and team["platform_ids"] == {"teamSysNo": 100001} and team["serial"] == "S2"
        assert [h["state"] for h in team["history"]] == ["待上传", "上传中", "已提交待回执", "上传成功"]
        assert [d["_id"] for d in await uploads.take_batch(db, limit=10, now=at(6))] == ["worker:1:7"]
        assert await uploads.counts(db, 1) == {"unit": {"上传成功": 1}, "team": {"上传成功": 1}, "worker": {"上传中": 1}}
    run_async(mongo_uri, db_name, job)


def test_a_record_changed_after_success_goes_again_as_an_update_and_unchanged_stays(mongo_uri, db_name):
    async def job(db):
        await uploads.mark(db, "unit", "u1", project_id=1, content_hash="v1", now=T0)
        [doc] = await uploads.take_batch(db, limit=5, now=at(1))
        # Changed while in flight: the outcome decides, then it goes again.
        assert await uploads.mark(db, "unit", "u1", project_id=1, content_hash="v2", now=at(1)) == "上传中"
        await uploads.record_submission(db, ["unit:u1"], "S1", now=at(2))
        await uploads.record_successes(db, ["unit:u1"], now=at(3))
        again = await uploads.get(db, "unit", "u1")
        assert (again["state"], again["operation"]) == ("待上传", "update")
        [doc] = await uploads.take_batch(db, limit=5, now=at(4))
        await uploads.record_submission(db, ["unit:u1"], "S2", now=at(4))
        await uploads.record_successes(db, ["unit:u1"], now=at(5))
        assert await uploads.mark(db, "unit", "u1", project_id=1, content_hash="v2", now=at(6)) == "上传成功"
        assert await uploads.mark(db, "unit", "u1", project_id=1, content_hash="v3", now=at(7)) == "待上传"
        assert (await uploads.get(db, "unit", "u1"))["operation"] == "update"
    run_async(mongo_uri, db_name, job)


def test_a_refused_record_waits_for_a_fix_and_then_goes_again(mongo_uri, db_name):
    async def job(db):
        await uploads.mark(db, "worker", "1:7", project_id=1, content_hash="big-photo", now=T0)
        await uploads.take_batch(db, limit=5, now=at(1))
        await uploads.record_refusals(db, {"worker:1:7": "头像 headImage 大于 50KB"}, now=at(2))
        doc = await uploads.get(db, "worker", "1:7")
        assert (doc["state"], doc["reason"]) == ("上传失败", "头像 headImage 大于 50KB")
        assert await uploads.mark(db, "worker", "1:7", project_id=1, content_hash="big-photo", now=at(3)) == "上传失败"
        assert await uploads.take_batch(db, limit=5, now=at(4)) == []
        assert await uploads.mark(db, "worker", "1:7", project_id=1, content_hash="small-photo", now=at(5)) == "待上传"
        doc = await uploads.get(db, "worker", "1:7")
        assert doc["operation"] == "add" and doc["history"][-1]["note"] == "已修正，重新上传"
        assert [d["_id"] for d in await uploads.take_batch(db, limit=5, now=at(6))] == ["worker:1:7"]
    run_async(mongo_uri, db_name, job)


def test_transient_failures_back_off_doubling_and_stale_claims_are_released(mongo_uri, db_name):
    async def job(db):
        await uploads.mark(db, "unit", "u1", project_id=1, content_hash="h", now=T0)
        waits = []
        now = at(0)
        for _ in range(3):
            [doc] = await uploads.take_batch(db, limit=5, now=now)
            await uploads.record_transient(db, [doc["_id"]], "HTTP 503", base_seconds=30, now=now)
            doc = await uploads.get(db, "unit", "u1")
            waits.append((doc["next_try_at"] - now).total_seconds())
            assert await uploads.take_batch(db, limit=5, now=doc["next_try_at"] - dt.timedelta(seconds=1)) == []
            now = doc["next_try_at"]
        assert waits == [30, 60, 120] and doc["attempts"] == 3 and doc["last_error"] == "HTTP 503"
        # A sender killed after claiming: the record stays 上传中 until released.
        [doc] = await uploads.take_batch(db, limit=5, now=now)
        assert await uploads.release_stale(db, older_than=now, now=now) == 0
        assert await uploads.release_stale(db, older_than=now + dt.timedelta(seconds=1), now=now) == 1
        assert (await uploads.get(db, "unit", "u1"))["state"] == "待上传"
    run_async(mongo_uri, db_name, job)


def test_two_senders_never_claim_the_same_record_and_bulk_marking_skips_existing(mongo_uri, db_name):
    async def job(db):
        docs = [uploads.new_document("attendance", f"p{i}", project_id=1, content_hash=f"h{i}", now=T0) for i in range(5)]
        assert await uploads.mark_new(db, docs) == 5
        assert await uploads.mark_new(db, docs + [uploads.new_document("attendance", "p9", project_id=1,
                                                                       content_hash="h9", now=T0)]) == 1
        assert await uploads.existing_ids(db, ["attendance:p0", "attendance:p7"]) == {"attendance:p0"}
        import asyncio
        a, b = await asyncio.gather(uploads.take_batch(db, limit=4, now=at(1)), uploads.take_batch(db, limit=4, now=at(1)))
        ids = [d["_id"] for d in a + b]
        assert len(ids) == len(set(ids)) == 6
        await uploads.record_submission(db, [d["_id"] for d in a], "B1", now=at(2))
        batch = (await uploads.submitted(db))["B1"]
        assert [d["batch_index"] for d in batch] == list(range(len(a)))
        assert [d["_id"] for d in batch] == [d["_id"] for d in a]
    run_async(mongo_uri, db_name, job)


def test_long_lists_go_in_slices_and_keep_every_record_and_the_batch_order(mongo_uri, db_name):
    """The embedded server's $in slows with the square of its length, so lists longer than IN_CHUNK are
    asked and written in slices: nothing is lost at a slice's edge, and a batch keeps its places."""
    from server.store.db import IN_CHUNK

    async def job(db):
        n = 2 * IN_CHUNK + 7
        docs = [uploads.new_document("attendance", f"p{i:04d}", project_id=1, content_hash="h", now=T0) for i in range(n)]
        assert await uploads.mark_new(db, docs) == n
        ids = [d["_id"] for d in docs]
        assert await uploads.existing_ids(db, ids + ["attendance:none"]) == set(ids)
        taken = await uploads.take_batch(db, limit=n, now=at(1))
        assert [d["_id"] for d in taken] == ids
        await uploads.record_submission(db, ids, "BIG", now=at(2))
        batch = (await uploads.submitted(db))["BIG"]
        assert [d["batch_index"] for d in batch] == list(range(n))
        await uploads.record_successes(db, ids, now=at(3))
        assert set((await uploads.states_of(db, ids)).keys()) == set(ids)
        assert {d["state"] for d in (await uploads.states_of(db, ids)).values()} == {uploads.SUCCEEDED}
    run_async(mongo_uri, db_name, job)


def test_batches_written_claimed_and_their_serials_and_outcomes_stored_together(mongo_uri, db_name):
    """A pass writes the batches it sends at once already 上传中; their serial codes and outcomes go in one
    write each, every record getting its own serial, only while in the state the write expects."""
    def batch(first: str) -> dict:
        return uploads.attendance_batch(1, [{"punch_id": f"{first}{k}", "worker_no": k, "time": T0, "direction": "01",
                                             "received_at": T0} for k in range(3)], team_id=None, now=T0)

    async def job(db):
        docs = uploads.claimed_new([batch("a"), batch("b"), batch("c")], at(1))
        assert await uploads.insert_new(db, docs) == set()
        ids = [d["_id"] for d in docs]
        # The items come back as they went in (packed in one text), in their dataList order.
        assert uploads.items_of(await db.uploads.find_one({"_id": ids[1]})) == [
            {"punch_id": f"b{k}", "worker_no": k, "time": T0, "direction": "01"} for k in range(3)]
        assert uploads.items_of({"items": [{"punch_id": "old"}]}) == [{"punch_id": "old"}]   # a record from before
        # As the database keeps a moment: to the millisecond, a naive one taken as UTC.
        moment = dt.datetime(2026, 6, 1, 8, 30, 15, 123456)
        [item] = uploads.items_of({"packed_items": uploads.pack_items(
            [{"punch_id": "p", "worker_no": 1, "time": moment, "direction": "02"}])})
        assert item["time"] == moment.replace(microsecond=123000, tzinfo=dt.timezone.utc)
        stored = await uploads.states_of(db, ids)
        assert {d["state"] for d in stored.values()} == {uploads.SENDING}
        # A record given back meanwhile (its sender presumed dead) is not taken as submitted by a late answer.
        await db.uploads.update_one({"_id": ids[2]}, {"$set": {"state": uploads.TO_SEND, "serial": None}})
        await uploads.record_batch_submissions(db, {ids[0]: "S-a", ids[1]: "S-b", ids[2]: "S-c"}, now=at(3))
        got = {d["_id"]: d async for d in db.uploads.find({"_id": {"$in": ids}})}
        assert [(got[i]["state"], got[i]["serial"]) for i in ids] == [
            (uploads.SUBMITTED, "S-a"), (uploads.SUBMITTED, "S-b"), (uploads.TO_SEND, None)]
        assert got[ids[1]]["history"][-1] | {"at": None} == {"at": None, "state": uploads.SUBMITTED, "note": "", "serial": "S-b"}
        assert set(await uploads.submitted(db)) == {"S-a", "S-b"}
        await uploads.record_item_outcomes(db, {ids[0]: [], ids[1]: [{"punch_id": "b1", "reason": "日期晚于今天"}]}, now=at(4))
        got = {d["_id"]: d async for d in db.uploads.find({"_id": {"$in": ids}})}
        assert (got[ids[0]]["state"], got[ids[0]]["refused_n"]) == (uploads.SUCCEEDED, 0)
        assert (got[ids[1]]["state"], got[ids[1]]["refused_n"], got[ids[1]]["reason"]) == (
            uploads.FAILED, 1, "1 条考勤被拒：日期晚于今天")
        assert await uploads.backlog(db, [uploads.TO_SEND, uploads.FAILED]) == {
            "attendance": {uploads.TO_SEND: 3, uploads.FAILED: 1}}
    run_async(mongo_uri, db_name, job)


def test_a_projects_worker_states_are_its_own(mongo_uri, db_name):
    async def job(db):
        for pid, worker_no in ((1, 7), (1, 70), (12, 7), (10, 3), (2, 1)):
            await uploads.mark(db, "worker", f"{pid}:{worker_no}", project_id=pid, content_hash="h", now=T0)
        await uploads.mark(db, "team", "1:7", project_id=1, content_hash="h", now=T0)
        states = await uploads.worker_states(db, [1, 2])
        assert {k: v["state"] for k, v in states.items()} == {"worker:1:7": "待上传", "worker:1:70": "待上传",
                                                             "worker:2:1": "待上传"}
        assert await uploads.worker_states(db, [99]) == {}
        assert set(await uploads.worker_states(db, [12, 10])) == {"worker:12:7", "worker:10:3"}
    run_async(mongo_uri, db_name, job)
