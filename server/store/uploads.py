"""Upload records (上传省厅): one per entity we send to the provincial platform, with its state and history.

States: 待上传 (to send: new, changed, fixed, or waiting out a transient failure), 上传中 (claimed by a
sender; the request may be on its way), 已提交待回执 (the platform took it: its requestSerialCode is stored
and the outcome is polled), 上传成功 (with the platform's ids, e.g. a team's teamSysNo), 上传失败 (the
platform refused; its reason is kept and the record waits for a fix — a changed record goes again).

A record's ``content_hash`` is what it looks like now and ``sent_hash`` what it looked like when last
sent (set when claimed): after success a different hash sends it again as an update. The serial code is written the moment
the platform answers, before anything else, so a sender killed later never sends the same record twice
blind; a sender killed before that leaves the record 上传中, and ``release_stale`` gives it back (the
platform then answers "already exists", which the pipeline reconciles).

Upload ids: ``unit:<unit _id>``, ``team:<team _id>``, ``worker:<project>:<worker no>`` (the platform keeps
one worker per project and ID number), ``entry_exit:<roster _id>:in|out``, ``contract:<contract _id>``,
``attendance:<project>:<first punch _id>``.

Attendance goes as batches (WorkerAttendance.Add takes up to REALNAME_PROVINCE_ATTENDANCE_BATCH punches of
one team), and one record stands for one batch: written twice per hundred punches (once the platform has
taken its request, already 已提交待回执 with the serial (``submitted_new``), and with its outcome; each
grouped over concurrent batches) rather than per punch, which is what the embedded server can keep up
with. It holds its items (punch id, worker no, moment, direction, in the request's dataList order; packed
in one text, read with
``items_of``), ``n`` of them, the team it goes under, and after the outcome the refused items with the
platform's reasons (``refused``, ``refused_n``): a batch with any item refused is 上传失败 (so the failing
list finds it on the state index) while its other items count as accepted. Results and backlogs of
attendance are counted per punch (``punch_counts``).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import secrets
from typing import Iterable

from pymongo.asynchronous.database import AsyncDatabase

from ..province.payloads import ORDER
from .db import find_in, in_slices, utcnow
from .punches import _insert_ignoring_duplicates

TO_SEND = "待上传"
SENDING = "上传中"
SUBMITTED = "已提交待回执"
SUCCEEDED = "上传成功"
FAILED = "上传失败"
STATES = (TO_SEND, SENDING, SUBMITTED, SUCCEEDED, FAILED)
FINAL = (SUCCEEDED, FAILED)

HISTORY_KEPT = 50
MAX_BACKOFF_SECONDS = 3600.0


def upload_id(kind: str, *parts: object) -> str:
    return ":".join([kind, *map(str, parts)])


def _event(state: str, now: dt.datetime, note: str = "", **more) -> dict:
    return {"at": now, "state": state, "note": note, **more}


def _push(event: dict) -> dict:
    return {"history": {"$each": [event], "$slice": -HISTORY_KEPT}}


def new_document(kind: str, entity_id: str, *, project_id: int | None, content_hash: str,
                 depends_on: Iterable[str] = (), now: dt.datetime, **extra) -> dict:
    return {"_id": upload_id(kind, entity_id), "kind": kind, "entity_id": str(entity_id), "project_id": project_id,
            "state": TO_SEND, "operation": "add", "content_hash": content_hash, "sent_hash": None,
            "depends_on": list(depends_on), "serial": None, "platform_ids": {}, "reason": "", "attempts": 0,
            "next_try_at": now, "claimed_at": None, "updated_at": now,
            "history": [_event(TO_SEND, now, "新记录")], **extra}


async def mark(db: AsyncDatabase, kind: str, entity_id: str, *, project_id: int | None, content_hash: str,
               depends_on: Iterable[str] = (), now: dt.datetime | None = None) -> str:
    """Note what a record looks like now; returns the state it is in afterwards.

    New → 待上传 (add). Succeeded or refused and changed since sent → 待上传 (update after success; after a
    refusal the same operation again, the fix). In flight: only the hash is noted; the outcome decides.
    """
    now = now or utcnow()
    depends_on = list(depends_on)
    _id = upload_id(kind, entity_id)
    for _ in range(5):
        doc = await db.uploads.find_one({"_id": _id}, {"history": 0})
        if doc is None:
            inserted = await _insert_ignoring_duplicates(db.uploads, [new_document(
                kind, entity_id, project_id=project_id, content_hash=content_hash, depends_on=depends_on, now=now)])
            if not inserted:
                return TO_SEND
            continue  # somebody else created it meanwhile: decide on theirs
        if doc["content_hash"] == content_hash and doc["depends_on"] == depends_on:
            return doc["state"]
        update: dict = {"$set": {"content_hash": content_hash, "depends_on": depends_on, "updated_at": now}}
        changed_since_sent = content_hash != doc["sent_hash"]
        if doc["state"] in FINAL and changed_since_sent:
            operation = "update" if doc["state"] == SUCCEEDED else doc["operation"]
            update["$set"].update(state=TO_SEND, operation=operation, attempts=0, next_try_at=now)
            update["$push"] = _push(_event(TO_SEND, now, "记录已修改，重新上传" if operation == "update" else "已修正，重新上传"))
        result = await db.uploads.update_one({"_id": _id, "state": doc["state"], "content_hash": doc["content_hash"]},
                                             update)
        if result.matched_count:
            return update["$set"].get("state", doc["state"])
    raise RuntimeError(f"upload record {_id} kept changing under mark()")


async def mark_new(db: AsyncDatabase, docs: list[dict]) -> int:
    """Bulk: create the records that do not exist yet (punches never change); returns how many were new."""
    return len(docs) - len(await insert_new(db, docs))


def attendance_batch(project_id: int, items: list[dict], *, team_id, depends_on: Iterable[str] = (),
                     now: dt.datetime) -> dict:
    """A new 待上传 record for one batch of punches (items: punch_id, worker_no, time, direction, received_at)."""
    first = items[0]["punch_id"]
    return new_document(
        "attendance", f"{project_id}:{first}", project_id=project_id, depends_on=depends_on, now=now,
        content_hash=hashlib.sha256("\n".join(i["punch_id"] for i in items).encode()).hexdigest(),
        packed_items=pack_items(items), n=len(items),
        team_id=team_id, received_max=max(i["received_at"] for i in items), refused=[], refused_n=0)


def pack_items(items: list[dict]) -> str:
    """A batch's items as one JSON text: the embedded server decodes, validates and copies a document value by
    value on every write, and a hundred items are four hundred values — a batch record is written three
    times (created claimed, submitted, outcome) and the text made each write about twice as cheap."""
    return json.dumps([[i["punch_id"], i["worker_no"], _epoch_ms(i["time"]), i["direction"]] for i in items],
                      ensure_ascii=False, separators=(",", ":"))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _epoch_ms(moment: dt.datetime) -> int:
    # As BSON keeps a datetime: milliseconds since the epoch, a naive one taken as UTC.
    # By the parts of the difference: exact, and cheaper than dividing timedeltas (once per punch batched).
    since = (moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)) - _EPOCH
    return (since.days * 86_400 + since.seconds) * 1000 + since.microseconds // 1000


def items_of(batch: dict) -> list[dict]:
    """An attendance batch's items {punch_id, worker_no, time (UTC, as the database gives datetimes),
    direction}, in their dataList order (records written before the items were packed hold them as a list)."""
    if "packed_items" not in batch:
        return batch.get("items", [])
    return [{"punch_id": punch_id, "worker_no": worker_no, "time": _EPOCH + dt.timedelta(milliseconds=ms), "direction": d}
            for punch_id, worker_no, ms, d in json.loads(batch["packed_items"])]


def batched_query(since: dt.datetime) -> dict:
    """Batches holding a punch received at or after `since` (a punch is in a batch at least as recent)."""
    return {"kind": "attendance", "received_max": {"$gte": since}}


def project_batches_query(project_id: int) -> dict:
    """A project's attendance batches (what a site taking part for the first time may already have)."""
    return {"project_id": project_id, "kind": "attendance"}


async def batched_punches(db: AsyncDatabase, query: dict) -> set[str]:
    """Punch ids inside the attendance batches matching query."""
    return {i["punch_id"] async for d in db.uploads.find(query, {"packed_items": 1, "items.punch_id": 1})
            for i in items_of(d)}


async def record_item_outcomes(db: AsyncDatabase, outcomes: dict[str, list[dict]], *,
                               now: dt.datetime | None = None) -> None:
    """Attendance batches' outcomes: batch id → refused [{punch_id, reason}] (none: 上传成功; any: 上传失败,
    the rest accepted). The wholly accepted go in one write."""
    now = now or utcnow()
    fields = {"claimed_at": None, "attempts": 0, "succeeded_at": now, "updated_at": now}
    accepted = [_id for _id, refused in outcomes.items() if not refused]
    await _set_many(db, accepted, {**fields, "state": SUCCEEDED, "reason": "", "refused": [], "refused_n": 0},
                    [_event(SUCCEEDED, now)])
    for _id, refused in outcomes.items():
        if refused:
            reason = f"{len(refused)} 条考勤被拒：{refused[0]['reason']}"
            await _set_many(db, [_id], {**fields, "state": FAILED, "reason": reason, "refused": {"$literal": refused},
                                        "refused_n": len(refused)}, [_event(FAILED, now, reason)])


def punch_count_pipeline(state: str, project_id: int | None = None) -> list[dict]:
    """Punches and refused punches of the attendance batches in a state, per project. One state (and one
    project) per ask: an `$in` of either beside the others is not planned on an index by the embedded server."""
    match: dict = {"state": state, "kind": "attendance"}
    if project_id is not None:
        match["project_id"] = project_id
    return [{"$match": match}, {"$group": {"_id": "$project_id", "n": {"$sum": "$n"}, "refused": {"$sum": "$refused_n"}}}]


async def punch_counts(db: AsyncDatabase, states: Iterable[str],
                       project_ids: Iterable[int] | None = None) -> dict[tuple, tuple[int, int]]:
    """(project, state) → (punches, refused punches) of the attendance batches in these states (every
    project's when project_ids is None)."""
    out = {}
    for project_id in [None] if project_ids is None else sorted(set(project_ids)):
        for state in states:
            async for row in await db.uploads.aggregate(punch_count_pipeline(state, project_id)):
                out[(row["_id"], state)] = (row["n"], row["refused"])
    return out


def kind_count_pipeline(state: str) -> list[dict]:
    """Records in a state per kind, with the punches and refused punches of the attendance batches among
    them (one state per ask, on the sender's index)."""
    return [{"$match": {"state": state}},
            {"$group": {"_id": "$kind", "records": {"$sum": 1}, "n": {"$sum": "$n"}, "refused": {"$sum": "$refused_n"}}}]


async def backlog(db: AsyncDatabase, states: Iterable[str]) -> dict[str, dict[str, int]]:
    """{kind: {state: n}} over every project of what is in these states and not 上传成功 (attendance
    counted in punches: a 上传失败 batch's accepted punches are not backlog)."""
    out: dict[str, dict[str, int]] = {}
    for state in states:
        async for row in await db.uploads.aggregate(kind_count_pipeline(state)):
            counted = punches_in(state, row["n"], row["refused"]) if row["_id"] == "attendance" else {state: row["records"]}
            for s, m in counted.items():
                if s != SUCCEEDED and m:
                    out.setdefault(row["_id"], {})[s] = out.get(row["_id"], {}).get(s, 0) + m
    return out


def punches_in(state: str, n: int, refused: int) -> dict[str, int]:
    """How a state's punches count: in a final state the accepted ones 上传成功 and the refused 上传失败."""
    if state in FINAL:
        return {k: v for k, v in ((SUCCEEDED, n - refused), (FAILED, refused)) if v}
    return {state: n} if n else {}


async def insert_new(db: AsyncDatabase, docs: list[dict]) -> set[str]:
    """Bulk: create the records that do not exist yet; returns the ids that were already there."""
    return await _insert_ignoring_duplicates(db.uploads, docs) if docs else set()


def claimed_new(docs: list[dict], now: dt.datetime) -> list[dict]:
    """New records claimed (上传中) by the sender that is about to send them, before they are written: a
    claim written after the insert would cost a write and a read of each record (an attendance batch
    carries its items). The pipeline writes them once the platform has answered (submitted_new when it
    took them); one written claimed whose sender then dies stays 上传中, and release_stale gives it back
    as it does any claim."""
    token = secrets.token_hex(8)
    return [{**d, "state": SENDING, "claimed_at": now, "claim": token, "sent_hash": d["content_hash"],
             "history": d["history"] + [_event(SENDING, now)]} for d in docs]


def submitted_new(doc: dict, serial: str, now: dt.datetime) -> dict:
    """A claimed new record (claimed_new) whose request the platform took before the record was written:
    written once, already 已提交待回执 with its serial code."""
    return {**doc, "state": SUBMITTED, "serial": serial, "submitted_at": now, "updated_at": now, "batch_index": 0,
            "history": doc["history"] + [_event(SUBMITTED, now, serial=serial)]}


async def existing_ids(db: AsyncDatabase, ids: list[str]) -> set[str]:
    return {d["_id"] for d in await find_in(db.uploads, "_id", ids, {"_id": 1})}


def marked_query(project_id: int, kinds: Iterable[str]) -> dict:
    return {"project_id": project_id, "kind": {"$in": list(kinds)}}


async def marked(db: AsyncDatabase, project_id: int, kinds: Iterable[str]) -> dict[str, tuple[str, list[str]]]:
    """upload id → (content_hash, depends_on) of a project's records of these kinds: a pass skips the unchanged."""
    cursor = db.uploads.find(marked_query(project_id, kinds), {"content_hash": 1, "depends_on": 1})
    return {d["_id"]: (d["content_hash"], d["depends_on"]) async for d in cursor}


def project_workers_query(project_id: int) -> dict:
    """A project's worker records (on the project_kind_state index): for the embedded server an `$in` of
    their upload ids costs a comparison per id for every record it finds."""
    return {"project_id": project_id, "kind": "worker"}


async def worker_states(db: AsyncDatabase, project_ids: Iterable[int]) -> dict[str, dict]:
    """upload id → {state, platform_ids} of these projects' worker records (a read per project, at once)."""
    reads = [db.uploads.find(project_workers_query(pid), {"state": 1, "platform_ids": 1}).to_list(None)
             for pid in sorted(set(project_ids))]
    return {d["_id"]: d for found in await asyncio.gather(*reads) for d in found}


async def states_of(db: AsyncDatabase, ids: Iterable[str]) -> dict[str, dict]:
    return {d["_id"]: d for d in await find_in(db.uploads, "_id", set(ids), {"state": 1, "platform_ids": 1})}


async def _claim(db: AsyncDatabase, ids: list[str], now: dt.datetime) -> list[dict]:
    """→ 上传中 in one write, guarded by the state and marked with a token: of two senders each gets only
    what it claimed (read back, in the order of ids)."""
    token = secrets.token_hex(8)
    await _set_many(db, ids, {"state": SENDING, "claimed_at": now, "claim": token, "sent_hash": "$content_hash",
                              "updated_at": now}, [_event(SENDING, now)], state=TO_SEND)
    # Filtered here, not in the query: _id plus claim is in no index, and the planner would scan.
    claimed = [d for d in await find_in(db.uploads, "_id", ids, {"history": 0}) if d.get("claim") == token]
    order = {_id: n for n, _id in enumerate(ids)}
    return sorted(claimed, key=lambda d: order[d["_id"]])


def ready_query(kind: str, now: dt.datetime) -> tuple[dict, list]:
    """待上传 records of a kind whose time has come, oldest first.

    `$lt` the next instant, never `$lte` now: the embedded planner drops rows equal to a `$lte`
    bound on a middle field of a compound index.
    """
    return {"state": TO_SEND, "kind": kind, "next_try_at": {"$lt": now + dt.timedelta(milliseconds=1)}}, \
        [("next_try_at", 1)]


async def take_batch(db: AsyncDatabase, *, limit: int, now: dt.datetime | None = None,
                     kinds: Iterable[str] = ORDER) -> list[dict]:
    """Claim (→ 上传中) up to `limit` records of the first kind, in dependency order, that has any ready.

    Ready: 待上传, its wait over, and everything it depends on 上传成功. Claiming is guarded by the state,
    so two senders never take the same record.
    """
    now = now or utcnow()
    for kind in kinds:
        # Records whose dependencies are not there yet are skipped; keep reading until the batch is full.
        query, sort = ready_query(kind, now)
        # Only what readiness needs: the claimed records are read whole once, by _claim.
        cursor = db.uploads.find(query, {"depends_on": 1}).sort(sort).batch_size(max(limit, 100))
        candidates = []
        async for doc in cursor:
            candidates.append(doc)
            if len(candidates) >= limit * 4:
                break
        if not candidates:
            continue
        deps = await states_of(db, (d for c in candidates for d in c["depends_on"]))
        ready = [doc["_id"] for doc in candidates
                 if all(deps.get(d, {}).get("state") == SUCCEEDED for d in doc["depends_on"])]
        taken: list[dict] = []
        # Another sender may have claimed some of these meanwhile: go on with the next ones.
        while ready and len(taken) < limit:
            want, ready = ready[:limit - len(taken)], ready[limit - len(taken):]
            taken += await _claim(db, want, now)
        if taken:
            return taken
    return []


async def _find(db: AsyncDatabase, ids: list[str], fields: dict) -> list[dict]:
    return await find_in(db.uploads, "_id", ids, fields)


IN_FLIGHT = {"$in": [SENDING, SUBMITTED]}


async def _set_many(db: AsyncDatabase, ids: list[str], fields: dict, events: list[dict], *, state=IN_FLIGHT) -> None:
    """One write for many records (per-record writes are what the embedded server is slowest at)."""
    if not ids:
        return
    history = {"$slice": [{"$concatArrays": ["$history", [{"$literal": e} for e in events]]}, -HISTORY_KEPT]}
    for part in in_slices(ids):
        await db.uploads.update_many({"_id": {"$in": part}, "state": state}, [{"$set": {**fields, "history": history}}])


async def record_submission(db: AsyncDatabase, ids: list[str], serial: str, *, now: dt.datetime | None = None) -> None:
    """The platform took the request: store its serial code first (batch_index: place in the batch's list)."""
    now = now or utcnow()
    await _set_many(db, ids, {"state": SUBMITTED, "serial": serial, "submitted_at": now, "updated_at": now,
                              "batch_index": {"$indexOfArray": [{"$literal": ids}, "$_id"]}},
                    [_event(SUBMITTED, now, serial=serial)], state=SENDING)


async def record_batch_submissions(db: AsyncDatabase, serials: dict[str, str], *, now: dt.datetime | None = None) -> None:
    """Several single-record requests taken by the platform (attendance batches: one record, one request
    each), their serial codes stored in one write."""
    now = now or utcnow()
    if len(serials) == 1:
        (_id, serial), = serials.items()
        return await record_submission(db, [_id], serial, now=now)
    by_id = {"$switch": {"branches": [{"case": {"$eq": ["$_id", _id]}, "then": serial} for _id, serial in serials.items()],
                         "default": None}}
    history = {"$slice": [{"$concatArrays": ["$history", [{"at": now, "state": SUBMITTED, "note": "", "serial": by_id}]]},
                          -HISTORY_KEPT]}
    for part in in_slices(list(serials)):
        await db.uploads.update_many({"_id": {"$in": part}, "state": SENDING},
                                     [{"$set": {"state": SUBMITTED, "serial": by_id, "submitted_at": now,
                                                "updated_at": now, "batch_index": 0, "history": history}}])


async def record_transient(db: AsyncDatabase, ids: list[str], reason: str, *, base_seconds: float,
                           now: dt.datetime | None = None) -> None:
    """Nothing is known (time-out, 5xx, no connection): back to 待上传 after a doubling wait."""
    now = now or utcnow()
    by_attempts: dict[int, list[str]] = {}
    for doc in await _find(db, ids, {"attempts": 1}):
        by_attempts.setdefault(doc["attempts"] + 1, []).append(doc["_id"])
    for attempts, same in by_attempts.items():
        wait = min(base_seconds * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
        await _set_many(db, same, {"state": TO_SEND, "attempts": attempts, "next_try_at": now + dt.timedelta(seconds=wait),
                                   "last_error": reason, "claimed_at": None, "updated_at": now},
                        [_event(TO_SEND, now, f"暂时失败，{wait:g} 秒后重试：{reason}")])


async def record_refusals(db: AsyncDatabase, reasons: dict[str, str], *, now: dt.datetime | None = None) -> None:
    """The platform refused: 上传失败 with its reason; the record waits for a fix (mark() sends it again)."""
    now = now or utcnow()
    by_reason: dict[str, list[str]] = {}
    for _id, reason in reasons.items():
        by_reason.setdefault(reason, []).append(_id)
    for reason, ids in by_reason.items():
        await _set_many(db, ids, {"state": FAILED, "reason": reason, "claimed_at": None, "attempts": 0, "updated_at": now},
                        [_event(FAILED, now, reason)])


async def record_successes(db: AsyncDatabase, ids: list[str], *, platform_ids: dict | None = None, note: str = "",
                           now: dt.datetime | None = None) -> None:
    """上传成功 with the platform's ids; a record changed while in flight goes again at once as an update."""
    now = now or utcnow()
    docs = await _find(db, ids, {"sent_hash": 1, "content_hash": 1})
    fields = {"state": SUCCEEDED, "reason": "", "claimed_at": None, "attempts": 0, "succeeded_at": now, "updated_at": now,
              "platform_ids": {"$mergeObjects": ["$platform_ids", {"$literal": platform_ids or {}}]}}
    await _set_many(db, [d["_id"] for d in docs if d["content_hash"] == d["sent_hash"]], fields,
                    [_event(SUCCEEDED, now, note)])
    await _set_many(db, [d["_id"] for d in docs if d["content_hash"] != d["sent_hash"]],
                    {**fields, "state": TO_SEND, "operation": "update", "next_try_at": now},
                    [_event(SUCCEEDED, now, note), _event(TO_SEND, now, "上传期间记录已修改，重新上传")])


SUBMITTED_QUERY = {"state": SUBMITTED}


async def submitted(db: AsyncDatabase, *, limit: int = 1000) -> dict[str, list[dict]]:
    """Records waiting for their outcome, by serial code, each list in its batch order."""
    by_serial: dict[str, list[dict]] = {}
    async for doc in db.uploads.find(SUBMITTED_QUERY, {"history": 0}).limit(limit):
        by_serial.setdefault(doc["serial"], []).append(doc)
    for docs in by_serial.values():
        docs.sort(key=lambda d: d.get("batch_index", 0))
    return by_serial


def failed_query(kind: str) -> dict:
    """上传失败 records of a kind (on the sender's index)."""
    return {"state": FAILED, "kind": kind}


def waiting_batches_query() -> dict:
    """待上传 attendance batches: those waiting for a worker's record, and those waiting out a retry."""
    return {"state": TO_SEND, "kind": "attendance"}


def stale_query(older_than: dt.datetime) -> dict:
    return {"state": SENDING, "claimed_at": {"$lt": older_than}}


async def release_stale(db: AsyncDatabase, *, older_than: dt.datetime, now: dt.datetime | None = None) -> int:
    """上传中 records claimed before `older_than` (their sender died): back to 待上传."""
    now = now or utcnow()
    result = await db.uploads.update_many(
        stale_query(older_than),
        {"$set": {"state": TO_SEND, "claimed_at": None, "next_try_at": now, "updated_at": now},
         "$push": _push(_event(TO_SEND, now, "上传中断，重新上传"))})
    return result.modified_count


async def get(db: AsyncDatabase, kind: str, entity_id: str) -> dict | None:
    return await db.uploads.find_one({"_id": upload_id(kind, entity_id)})


def count_query(project_id: int, kind: str, state: str) -> dict:
    return {"project_id": project_id, "kind": kind, "state": state}


async def counts(db: AsyncDatabase, project_id: int) -> dict[str, dict[str, int]]:
    """{kind: {state: n}} of one project (上传省厅结果查询)."""
    out: dict[str, dict[str, int]] = {kind: {} for kind in ORDER}
    for (_p, state), (n, refused) in (await punch_counts(db, STATES, [project_id])).items():
        for counted, m in punches_in(state, n, refused).items():
            out["attendance"][counted] = out["attendance"].get(counted, 0) + m
    for kind in ORDER:
        if kind == "attendance":
            continue
        for state in STATES:
            n = await db.uploads.count_documents(count_query(project_id, kind, state))
            if n:
                out[kind][state] = n
    return {k: v for k, v in out.items() if v}

