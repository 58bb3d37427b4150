"""Attendance rollups kept current from the punches: the fold, the change-stream tail, the rebuild.

Pages read these rollups only: aggregating raw punches on the embedded server runs at ~10k docs/s,
far too slow for a city's month. The fold itself (server/domain/rollups.py) is idempotent, which is
what makes the tail simple and safe:
- the tail saves the change stream's resume token only after a batch is folded, so a tail killed
  mid-batch starts again at the last saved token and folds some punches a second time — harmlessly;
- when the stream cannot resume (token unknown, history gone), it opens a new stream first and
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
from ..domain.site_clock import parse_day
from . import rollup_queries as q
from .db import utcnow
from .punches import _insert_ignoring_duplicates as insert_ignoring_duplicates  # one rule for "insert, tell me which existed"

log = logging.getLogger(__name__)

# A punch's received_at is stamped before its grouped write; a write that lands later than this
# after the stamp would be missed by a catch-up from the watermark (the gateway's writes take ms).
WATERMARK_MARGIN = dt.timedelta(minutes=10)
REBUILD_BATCH = 5000
FEW_PROJECTS = 8
TAIL_PIPELINE = [{"$match": {"operationType": "insert"}}]


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
                # updated_at: the month rollup (rollup_months.py) refolds project-days written since its watermark.
                ops.append(UpdateOne({"_id": day["_id"]}, {**update, "$set": {"updated_at": utcnow()}}))
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
    """Insert the documents new to the rollups, fold the rest into what is there.

    The embedded server inserts several times faster than it upserts, and most person-days are new
    when their first punch arrives; an insert that meets an existing document (the person's second
    punch, a re-fold) falls back to the idempotent update. Person-days first: a project-day never
    names a person whose day is not folded yet."""
    def stopped(doc):
        return project_status.is_stopped(periods.get(doc["project_id"], []), parse_day(doc["date"]))

    existing = await _insert_in_chunks(
        db[q.PERSON_DAYS], [fold_rules.person_day_document(k, d) for k, d in batch.person_days.items()])
    if existing:
        await db[q.PERSON_DAYS].bulk_write([UpdateOne({"_id": k}, fold_rules.person_day_update(batch.person_days[k]),
                                                      upsert=True) for k in sorted(existing)], ordered=False)
    now = utcnow()  # updated_at: the month rollup (rollup_months.py) refolds project-days written since its watermark
    existing = await _insert_in_chunks(
        db[q.PROJECT_DAYS], [{**fold_rules.project_day_document(k, d, stopped(d)), "updated_at": now}
                             for k, d in batch.project_days.items()])
    if existing:
        await db[q.PROJECT_DAYS].bulk_write([UpdateOne({"_id": k}, _stamped(fold_rules.project_day_update(
            batch.project_days[k], stopped(batch.project_days[k])), now), upsert=True) for k in sorted(existing)],
            ordered=False)


def _stamped(update: dict, now: dt.datetime) -> dict:
    return {**update, "$set": {**update.get("$set", {}), "updated_at": now}}


async def _fold_cursor(db: AsyncDatabase, query: dict) -> tuple[int, dt.datetime | None]:
    """Fold every punch matching query, in batches; (punches read, latest received_at)."""
    read, latest, chunk = 0, None, []
    async for punch in db.punches.find(query, {"photo_id": 0}, batch_size=REBUILD_BATCH):
        chunk.append(punch)
        latest = max(latest, punch["received_at"]) if latest else punch["received_at"]
        if len(chunk) >= REBUILD_BATCH:
            await fold(db, chunk)
            read, chunk = read + len(chunk), []
    if chunk:
        await fold(db, chunk)
        read += len(chunk)
    return read, latest


async def _punch_days(db: AsyncDatabase, first: dt.date | None) -> list[str]:
    """Every site day from `first` (or the first punch's) to the last punch's, oldest first."""
    ends = []
    for order in (1, -1):
        doc = await db.punches.find_one(q.since(first), {"date": 1}, sort=[("date", order)])
        ends.append(doc["date"] if doc else None)
    if ends[0] is None:
        return []
    return fold_rules.days_between(parse_day(ends[0]), parse_day(ends[1]))


async def rebuild(db: AsyncDatabase, first: dt.date | None = None) -> int:
    """Recompute both rollups from the raw punches, from a site day on (everything when None);
    returns the punches folded (test-environment punches are read but never count).

    Day by day, each day folded in one batch: its documents are then all new, and the embedded
    server inserts several times faster than it updates."""
    # Where a tail that never ran should start: the stream as it stands before the first read.
    async with await db.punches.watch(TAIL_PIPELINE) as stream:
        start_token, started = stream.resume_token, utcnow()
    await db[q.PERSON_DAYS].delete_many(q.since(first))
    await db[q.PROJECT_DAYS].delete_many(q.since(first))
    read = 0
    for day in await _punch_days(db, first):
        punches = [p async for p in db.punches.find(q.on_day(day), {"photo_id": 0}, batch_size=REBUILD_BATCH)]
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

    def __init__(self, db: AsyncDatabase, *, batch_max: int = 2000, await_ms: int = 500):
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
        return self.db.punches.watch(TAIL_PIPELINE, max_await_time_ms=self.await_ms, **kw)

    async def open(self) -> None:
        state = await self._state()
        if state.get("resume_token"):
            try:
                self._stream = await self._watch(resume_after=state["resume_token"])
                return
            except OperationFailure as exc:
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
