"""Attendance rollups kept current from the punches: the fold, the change-stream tail, the rebuild.

Pages read these rollups only: aggregating raw punches on the embedded server runs at ~10k docs/s,
far too slow for a city's month. The fold itself (server/domain/rollups.py) is idempotent, which is
what makes the tail simple and safe:
- the tail saves the change stream's resume token only after a batch is folded, so a tail killed
  mid-batch starts again at the last saved token and folds some punches a second time — harmlessly;
- when the stream cannot resume (token unknown, history gone, or one the embedded server gave after a
  command of the database and then refuses), it opens a new stream first and
  then folds again every punch received since its watermark (the latest received_at it folded,
  less a margin for writes that took long to land), so nothing falls in the gap;
- a rebuild deletes the rollups from a day on and folds the raw punches again; a tail folding
  meanwhile only adds what the rebuild adds too.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging

from pymongo import ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from ..domain import attendance_grid, project_status, vocabulary
from ..domain import rollups as fold_rules
from ..domain.site_clock import parse_day, site_day, site_today
from . import rollup_queries as q
from .db import utcnow
from .punches import _insert_ignoring_duplicates as insert_ignoring_duplicates  # one rule for "insert, tell me which existed"

log = logging.getLogger(__name__)

# A punch's received_at is stamped before its grouped write; a write that lands later than this
# after the stamp would be missed by a catch-up from the watermark (the gateway's writes take ms).
WATERMARK_MARGIN = dt.timedelta(minutes=10)
REBUILD_BATCH = 5000
# Punches a tail folds in one batch at most. A batch costs about two writes per project-day it
# touches (~5 ms each on the embedded server for a day's document), so the larger the batch, the
# fewer writes per punch: a tail that falls behind catches up in batches large enough to outrun the
# gateway (docs/benchmarks.md, "Rollup fold"); one batch still folds in seconds.
TAIL_BATCH = 20_000
# A batch whose writes keep meeting another writer's goes round this often before the fold fails
# (the tail then starts again from its saved token).
MERGE_ROUNDS = 5
FEW_PROJECTS = 8
FEW_DAYS = 8
TAIL_PIPELINE = [{"$match": {"operationType": "insert"}}]
# What the embedded server answers a resume from a token its own stream gave after a command of the
# database (a collection created, an index made): the token names the command namespace and its scope
# check refuses it (tests/store/test_embedded_quirks.py). Expected, so not worth a warning; a refusal
# for want of rights (the same code on a real server) still shows, as the new stream is refused too.
SCOPE_REFUSED = 13


def manager_jobs_query(project_ids: set[int]) -> dict:
    # Never $in on both fields: the embedded planner then scans the whole roster. A few projects:
    # their entries (project_current index); many: every manager entry in the city (job_project).
    if len(project_ids) <= FEW_PROJECTS:
        return {"project_id": {"$in": sorted(project_ids)}}
    return {"job": {"$in": list(vocabulary.MANAGER_JOBS)}}


async def _manager_jobs(db: AsyncDatabase, project_ids: set[int]) -> dict[tuple[int, int], list[dict]]:
    """(project, worker) → that person's manager-job roster entries on those projects (any time)."""
    found: dict[tuple[int, int], list[dict]] = {}
    async for entry in db.roster.find(manager_jobs_query(project_ids), {"project_id": 1, "worker_no": 1, "job": 1, "entry_date": 1, "exit_date": 1}):
        if entry["project_id"] in project_ids and vocabulary.is_manager_job(entry["job"]):
            found.setdefault((entry["project_id"], entry["worker_no"]), []).append(entry)
    return found


def _marks(entries: list[dict]) -> list[list]:
    """What the project-days' manager sets depend on for one person: their manager entries' days."""
    marks = [[e["job"], fold_rules.day_key(e.get("entry_date")), fold_rules.day_key(e.get("exit_date"))]
             for e in entries]
    return sorted(marks, key=lambda m: (m[0], m[1] or "", m[2] or "~"))


async def refresh_managers(db: AsyncDatabase, project_id: int) -> int:
    """Bring a project's per-day manager sets in line with its roster as it is now.

    The fold files a punching manager under the jobs they held when the punch was folded; an entry
    recorded later with an earlier date, or an exit dated back, changes who held a post on past days.
    The manager entries each project-day set reflects are kept (`rollup_state` managers|<project>);
    only people whose entries changed are refiled. Returns the project-days changed."""
    entries = {w: found for (_, w), found in (await _manager_jobs(db, {project_id})).items()}
    marks = {str(w): _marks(found) for w, found in entries.items()}
    state_id = f"managers|{project_id}"
    stored = (await db[q.STATE].find_one({"_id": state_id}) or {}).get("marks", {})
    changed = {int(w) for w in set(marks) | set(stored) if marks.get(w) != stored.get(w)}
    ops = []
    if changed:
        async for day in db[q.PROJECT_DAYS].find(q.of_project(project_id), {"date": 1, "workers": 1, "managers": 1}):
            held_by = (day.get("managers") or {})
            add, pull = {}, {}
            for worker in changed.intersection(day.get("workers", ())):
                held = {e["job"] for e in entries.get(worker, ()) if fold_rules.holds_on(e, day["date"])}
                add.update({f"managers.{j}": worker for j in held if worker not in held_by.get(j, ())})
                pull.update({f"managers.{j}": worker for j, ws in held_by.items() if worker in ws and j not in held})
            update = {k: v for k, v in (("$addToSet", add), ("$pull", pull)) if v}
            if update:
                # version: a fold that read the day before this write merges again instead of overwriting it.
                ops.append(UpdateOne({"_id": day["_id"]}, {**update, "$set": {"updated_at": utcnow()},
                                                           "$inc": {"version": 1}}))
    if ops:
        await db[q.PROJECT_DAYS].bulk_write(ops, ordered=False)
    await db[q.STATE].update_one({"_id": state_id}, {"$set": {"marks": marks}}, upsert=True)
    return len(ops)


async def _stop_periods(db: AsyncDatabase, project_ids: set[int]) -> dict[int, list[dict]]:
    # Many projects (a rebuilt day): the whole small collection; an $in of hundreds of ids costs the
    # embedded server ~20x a plain read.
    query = {"_id": {"$in": sorted(project_ids)}} if len(project_ids) <= FEW_PROJECTS else {}
    cursor = db.projects.find(query, {"stop_periods": 1, "status_history": 1})
    return {p["_id"]: attendance_grid.project_stop_periods(p) async for p in cursor if p["_id"] in project_ids}


async def fold(db: AsyncDatabase, punches: list[dict]) -> int:
    """Fold punch documents into both rollups; returns how many counted (test punches never do)."""
    counting = [p for p in punches if fold_rules.counts(p)]
    if not counting:
        return 0
    project_ids = {p["project_id"] for p in counting}
    managers = await _manager_jobs(db, project_ids)
    periods = await _stop_periods(db, project_ids)
    batch = fold_rules.Fold()
    for punch in counting:
        entries = managers.get((punch["project_id"], punch["worker_no"]), ())
        batch.add(punch, [e["job"] for e in entries if fold_rules.holds_on(e, punch["date"])])
    await _write(db, batch, periods)
    return len(counting)


def _spans(entries) -> list[list]:
    """[entry day, exit day or None] per entry, in a stable order (None: still entered)."""
    spans = [[fold_rules.day_key(e.get("entry_date")), fold_rules.day_key(e.get("exit_date"))] for e in entries]
    return sorted(spans, key=lambda s: (s[0] or "", s[1] or "~"))


_SPAN_FIELDS = {"project_id": 1, "entry_date": 1, "exit_date": 1}


async def refresh_roster(db: AsyncDatabase, project_id: int) -> None:
    """Keep the project's roster spans (att_rosters) in line with its roster: 在职人数 on any day
    is then read from one small document per project instead of every roster entry of the city."""
    entries = [e async for e in db.roster.find({"project_id": project_id}, _SPAN_FIELDS)]
    await db[q.ROSTERS].replace_one({"_id": project_id}, {"spans": _spans(entries), "updated_at": utcnow()}, upsert=True)


async def refresh_all_rosters(db: AsyncDatabase) -> None:
    by_project: dict[int, list[dict]] = {}
    async for e in db.roster.find({}, _SPAN_FIELDS):
        by_project.setdefault(e["project_id"], []).append(e)
    now = utcnow()
    ops = [ReplaceOne({"_id": pid}, {"spans": _spans(entries), "updated_at": now}, upsert=True)
           for pid, entries in by_project.items()]
    if ops:
        await db[q.ROSTERS].bulk_write(ops, ordered=False)


async def _insert_in_chunks(collection, documents: list[dict]) -> set:
    """insert_ignoring_duplicates, REBUILD_BATCH documents at a time: one write of a whole rebuilt
    day (tens of thousands of person-days) outlasted the driver's socket timeout on a loaded server."""
    existing: set = set()
    for start in range(0, len(documents), REBUILD_BATCH):
        existing |= await insert_ignoring_duplicates(collection, documents[start:start + REBUILD_BATCH])
    return existing


async def _write(db: AsyncDatabase, batch: fold_rules.Fold, periods: dict[int, list[dict]]) -> None:
    """Fold a batch into both rollups: one read and one write per project-day and rollup, whatever
    the number of people. Person-days first: a project-day never names a person whose day is not
    folded yet."""
    now = utcnow()

    def stopped(doc):
        return project_status.is_stopped(periods.get(doc["project_id"], []), parse_day(doc["date"]))

    await _merge_into(db[q.PERSON_DAYS], {k: fold_rules.person_day_document(k, d, now)
                                          for k, d in batch.person_days.items()}, fold_rules.merge_person_days)
    await _merge_into(db[q.PROJECT_DAYS], {k: fold_rules.project_day_document(k, d, stopped(d), now)
                                           for k, d in batch.project_days.items()}, fold_rules.merge_project_days)


async def _stored(collection, documents: dict[str, dict]) -> dict[str, dict]:
    """The stored documents of a batch's keys. A batch of a few days (the tail's, a rebuilt day's)
    reads those days whole on the by_day index: on the embedded server an $in of hundreds of _ids
    costs ~10x reading the day's every document."""
    days = {doc["date"] for doc in documents.values()}
    if len(days) > FEW_DAYS:
        return {d["_id"]: d async for d in collection.find({"_id": {"$in": sorted(documents)}})}
    stored = {}
    for day in sorted(days):
        async for doc in collection.find(q.on_day(day)):
            if doc["_id"] in documents:
                stored[doc["_id"]] = doc
    return stored


async def _merge_into(collection, documents: dict[str, dict], merge) -> None:
    """Read the stored documents of a batch's keys, merge the batch into them in Python and write each
    back whole, unless another writer changed it since it was read (its `version`).

    Why not update operators: on the embedded server an $addToSet of a few dozen ids into a day's
    document, or an update pipeline over its people, costs 15–40 ms; reading it and replacing it
    whole costs ~4 ms. New documents are inserted (several times faster again). A write lost to
    another writer (a rebuild deleting or inserting, a roster refile, a second tail) makes the whole
    batch go round again: merging is idempotent, so a document merged twice is merged once."""
    for _ in range(MERGE_ROUNDS):
        stored = await _stored(collection, documents)
        replaced = []
        for key in sorted(stored):
            version = stored[key].get("version")
            replaced.append(ReplaceOne({"_id": key, "version": version},
                                       {**merge(stored[key], documents[key]), "version": (version or 0) + 1}))
        clashed = await _insert_in_chunks(collection, [{**documents[k], "version": 1} for k in documents if k not in stored])
        matched = (await collection.bulk_write(replaced, ordered=False)).matched_count if replaced else 0
        if not clashed and matched == len(replaced):
            return
        log.info("rollup write met another writer in %s; merging the batch again", collection.name)
    raise RuntimeError(f"rollup batch could not be written to {collection.name} in {MERGE_ROUNDS} rounds")


async def _fold_cursor(db: AsyncDatabase, query: dict) -> tuple[int, dt.datetime | None]:
    """Fold every punch matching query, TAIL_BATCH at a time; (punches read, latest received_at)."""
    read, latest, chunk = 0, None, []
    async for punch in db.punches.find(query, {"photo_id": 0}, batch_size=REBUILD_BATCH):
        chunk.append(punch)
        latest = max(latest, punch["received_at"]) if latest else punch["received_at"]
        if len(chunk) >= TAIL_BATCH:
            await fold(db, chunk)
            read, chunk = read + len(chunk), []
    if chunk:
        await fold(db, chunk)
        read += len(chunk)
    return read, latest


async def _punch_days(db: AsyncDatabase, first: dt.date | None) -> list[str]:
    """Every site day that may hold punches from `first` on, oldest first — without sorting the punches:
    the embedded server reads a sorted query's whole index range before applying its limit, so a
    find_one sorted on date took minutes over a city's million punches (test_embedded_quirks).

    The days run from `first` (else the earliest project registration) to tomorrow; an empty day costs
    one index probe. Punches dated outside that span (a device clock set wrong, attendance from before
    a project was registered) are few, and their own days are added."""
    today = site_today()
    start = first
    if start is None:
        registered = [site_day(p["created_at"]) async for p in db.projects.find({}, {"created_at": 1}) if p.get("created_at")]
        start = min(registered, default=today)
    end = today + dt.timedelta(days=1)
    days = set(fold_rules.days_between(start, end))
    outside = [q.dated_after(end)] + ([] if first else [q.dated_before(start)])
    for query in outside:
        days |= {d["date"] async for d in db.punches.find(query, {"date": 1})}
    return sorted(days)


async def rebuild(db: AsyncDatabase, first: dt.date | None = None) -> int:
    """Recompute both rollups from the raw punches, from a site day on (everything when None);
    returns the punches folded (test-environment punches are read but never count).

    Day by day, each day folded in one batch (small days gathered into one): its documents are then
    all new, and the embedded server inserts several times faster than it updates."""
    # Where a tail that never ran should start: the stream as it stands before the first read.
    async with await db.punches.watch(TAIL_PIPELINE) as stream:
        start_token, started = stream.resume_token, utcnow()
    await db[q.PERSON_DAYS].delete_many(q.since(first))
    await db[q.PROJECT_DAYS].delete_many(q.since(first))
    read, punches = 0, []
    for day in await _punch_days(db, first):
        punches += [p async for p in db.punches.find(q.on_day(day), {"photo_id": 0}, batch_size=REBUILD_BATCH)]
        if len(punches) >= REBUILD_BATCH:   # whole days only, several small ones together
            read, punches = read + await fold(db, punches), []
    read += await fold(db, punches)
    # Days before `first` may still reflect an older roster: the next roster change refiles them all.
    await db[q.STATE].delete_many({"_id": {"$regex": "^managers\\|"}})
    await refresh_all_rosters(db)
    try:
        # A tail started later resumes here instead of folding every punch again; a running one keeps its place.
        await db[q.STATE].insert_one({"_id": q.TAIL_STATE_ID, "resume_token": start_token, "watermark": started,
                                      "updated_at": utcnow()})
    except DuplicateKeyError:
        pass
    await db[q.STATE].update_one({"_id": "rebuild"}, {"$set": {"from": q.day_text(first) if first else None,
                                                                "punches": read, "at": utcnow()}}, upsert=True)
    return read


async def data_updated_at(db: AsyncDatabase) -> dt.datetime | None:
    state = await db[q.STATE].find_one({"_id": q.TAIL_STATE_ID})
    return state.get("updated_at") if state else None


class PunchTail:
    """Follows inserts into punches and folds them; one per deployment (the worker's rollup job)."""

    def __init__(self, db: AsyncDatabase, *, batch_max: int = TAIL_BATCH, await_ms: int = 500):
        self.db, self.batch_max, self.await_ms = db, batch_max, await_ms
        self._stream = None
        self.folded = 0

    async def _state(self) -> dict:
        return await self.db[q.STATE].find_one({"_id": q.TAIL_STATE_ID}) or {}

    async def _save(self, token, latest: dt.datetime | None, roster_seen: dt.datetime | None = None) -> None:
        update: dict = {"$set": {"resume_token": token, "updated_at": utcnow()}}
        if roster_seen is not None:
            update["$set"]["roster_seen"] = roster_seen
        if latest is not None:
            update["$max"] = {"watermark": latest}
        await self.db[q.STATE].update_one({"_id": q.TAIL_STATE_ID}, update, upsert=True)

    def _watch(self, **kw):
        return self.db.punches.watch(TAIL_PIPELINE, max_await_time_ms=self.await_ms, batch_size=2000, **kw)

    async def open(self) -> None:
        state = await self._state()
        if state.get("resume_token"):
            try:
                self._stream = await self._watch(resume_after=state["resume_token"])
                return
            except OperationFailure as exc:
                if exc.code == SCOPE_REFUSED:
                    log.info("punch tail: the saved token followed a command of the database and the server "
                             "does not resume from it; catching up from the watermark")
                else:
                    log.warning("punch tail cannot resume (%s); catching up from the watermark", exc)
        await self._restart(state)

    async def _restart(self, state: dict) -> None:
        # The new stream is opened before the catch-up reads, so a punch landing in between is in one or both.
        self._stream = await self._watch()
        watermark = state.get("watermark")
        since = watermark - WATERMARK_MARGIN if watermark else None
        read, latest = await _fold_cursor(self.db, q.punches_received_since(since))
        self.folded += read
        await self._save(self._stream.resume_token, latest)

    async def step(self) -> int:
        """Fold what the stream has (waiting up to await_ms for something); returns punches read."""
        if self._stream is None:
            await self.open()
        punches: list[dict] = []
        try:
            while len(punches) < self.batch_max:
                event = await self._stream.try_next()
                if event is None:
                    break
                punches.append(event["fullDocument"])
        except OperationFailure as exc:
            log.warning("punch stream failed (%s); catching up from the watermark", exc)
            await self._close()
            await self._restart(await self._state())
            return 0
        if punches:
            await fold(self.db, punches)
            self.folded += len(punches)
        roster_seen = await self._refresh_changed_rosters()
        await self._save(self._stream.resume_token, max((p["received_at"] for p in punches), default=None),
                         roster_seen)
        return len(punches)

    async def _refresh_changed_rosters(self) -> dt.datetime | None:
        """Refile the manager sets of projects whose roster changed since the last look (roster_changes)."""
        seen = (await self._state()).get("roster_seen")
        if seen is None:
            # A first start folds with the roster as it is: only later changes need refiling (less a
            # margin for writers' clocks a little behind ours).
            started = utcnow() - dt.timedelta(seconds=5)
            await refresh_all_rosters(self.db)
            return started
        latest = None
        # $gte: two stamps in the same millisecond are both seen; refiling twice changes nothing.
        async for change in self.db.roster_changes.find({"changed_at": {"$gte": seen}}).sort("changed_at", 1):
            await refresh_managers(self.db, change["_id"])
            await refresh_roster(self.db, change["_id"])
            latest = change["changed_at"]
        return latest

    async def close(self) -> None:
        await self._close()

    async def _close(self) -> None:
        if self._stream is not None:
            try:
                await self._stream.close()
            except PyMongoError:
                pass
            self._stream = None

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.step()
                except PyMongoError:
                    # The database went away for a moment: start again from the saved token.
                    log.exception("punch tail step failed; reopening")
                    await self._close()
                    try:
                        await asyncio.wait_for(stop.wait(), 1.0)
                    except TimeoutError:
                        pass
        finally:
            await self._close()
