"""Attendance punches: grouped durable writes, idempotent against re-sent offline buffers.

A device deletes a punch from its buffer only after Flag 0, so Flag 0 must mean "in the
database". Writing each punch alone would cap the gateway at the database's single-insert rate;
instead every punch that arrives while a write is under way joins the next write (group commit),
which adds no waiting when the load is light and approaches the bulk-insert ceiling when it is
heavy. Each punch's future resolves only after its own write was acknowledged. A write stores its
punches and their feed document (punch_feed: what the upload reads) in one transaction.
"""
from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import logging
import os
import socket
import time

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, OperationFailure

from . import people, punch_feed, roster
from ..domain.site_clock import SITE_TZ, site_day
from .photos import photo_doc

log = logging.getLogger(__name__)

DUPLICATE_KEY = 11000


@dataclasses.dataclass(slots=True)
class PunchIn:
    vendor_code: str
    device_id: str
    project_id: int
    worker_no: int
    device_time: dt.datetime  # site local wall time as the device sent it (naive)
    mode: int
    photo: bytes
    received_at: dt.datetime  # UTC
    flags: list[str]
    test: bool = False
    key: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        # The identity of a punch across re-sends: same device, worker, time and mode.
        self.key = f"{self.vendor_code}|{self.device_id}|{self.worker_no}|{self.device_time:%Y%m%d%H%M%S}|{self.mode}"

    def document(self) -> dict:
        moment = self.device_time.replace(tzinfo=SITE_TZ)
        return {
            "_id": self.key, "project_id": self.project_id, "vendor_code": self.vendor_code,
            "device_id": self.device_id, "worker_no": self.worker_no, "device_time": moment,
            "date": site_day(moment).isoformat(), "received_at": self.received_at, "mode": self.mode,
            "photo_id": self.key, "photo_len": len(self.photo), "flags": self.flags, "test": self.test,
            "resends": 0,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class PunchOutcome:
    ok: bool
    duplicate: bool = False
    reason: str = ""     # English code, counted per device
    message: str = ""    # Chinese, shown on the device


STORED = PunchOutcome(True)
RESENT = PunchOutcome(True, duplicate=True)
UNKNOWN_WORKER = PunchOutcome(False, reason="unknown_worker", message="工人编号不存在")
NOT_ENTERED = PunchOutcome(False, reason="not_entered", message="人员未进场")
BATCH_FAILED = PunchOutcome(False, reason="batch_failed", message="服务器繁忙,请稍后重传")


def refusal_document(p: PunchIn, outcome: PunchOutcome) -> dict:
    """What stays of a refused punch (without its photo): nothing a device sent is silently lost."""
    return {"at": p.received_at, "vendor_code": p.vendor_code, "device_id": p.device_id,
            "project_id": p.project_id, "worker_no": p.worker_no,
            "device_time": p.device_time.replace(tzinfo=SITE_TZ), "mode": p.mode,
            "photo_len": len(p.photo), "reason": outcome.reason, "message": outcome.message}


class PunchWriter:
    def __init__(self, db: AsyncDatabase, *, batch_max: int = 256, writer_id: str | None = None):
        self.db = db
        self.writer_id = writer_id or f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self._session: AsyncClientSession | None = None   # one for all its writes, recorded (end_orphaned_writes)
        self.roster = roster.CurrentRosterCache(db)
        self.batch_max = batch_max
        self._pending: list[tuple[PunchIn, asyncio.Future]] = []
        self._refusals: list[dict] = []
        self._runner: asyncio.Task | None = None

    async def submit(self, punch: PunchIn) -> PunchOutcome:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((punch, future))
        self._kick()
        return await future

    def record_refusal(self, document: dict) -> None:
        """Refusals decided before the write (oversized photo, bad time) ride along with the next write."""
        self._refusals.append(document)
        self._kick()

    def _kick(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        if self._session is None:
            session = self.db.client.start_session()
            try:
                await end_orphaned_writes(self.db, self.writer_id, session)
            except Exception:  # noqa: BLE001 - the punches matter more than a dead writer's leftovers
                log.exception("could not look for the sessions of dead punch writers")
            self._session = session
        while self._pending or self._refusals:
            batch, self._pending = self._pending[:self.batch_max], self._pending[self.batch_max:]
            refusals, self._refusals = self._refusals, []
            try:
                outcomes = await self._write([p for p, _ in batch], refusals)
            except Exception:  # noqa: BLE001 - whatever broke this batch, the next one must run
                # The database refusing a write, a document the encoder cannot take, or a bug: every
                # waiting device gets a refusal (Flag 1, nothing acknowledged, so its re-send loses
                # nothing) instead of waiting for ever, and the punches that come next are written as usual.
                log.exception("punch batch of %d failed; devices will re-send", len(batch))
                outcomes = [BATCH_FAILED] * len(batch)
            for (_, future), outcome in zip(batch, outcomes):
                if not future.done():
                    future.set_result(outcome)

    async def _write(self, batch: list[PunchIn], refusals: list[dict]) -> list[PunchOutcome]:
        outcomes: list[PunchOutcome | None] = [None] * len(batch)
        entered = await self.roster.entered({(p.project_id, p.worker_no) for p in batch}, time.monotonic())
        missing = [p.worker_no for p in batch if (p.project_id, p.worker_no) not in entered]
        known = await people.existing_worker_nos(self.db, missing) if missing else set()
        accepted: list[int] = []
        for i, p in enumerate(batch):
            if (p.project_id, p.worker_no) in entered:
                accepted.append(i)
            else:
                outcomes[i] = NOT_ENTERED if p.worker_no in known else UNKNOWN_WORKER
                refusals.append(refusal_document(p, outcomes[i]))

        if accepted:
            # A device that re-sends on a new connection while its old one still waits puts one punch in
            # a batch twice: the first copy is written, the others are re-sends of it.
            first_of: dict[str, int] = {}
            for i in accepted:
                first_of.setdefault(batch[i].key, i)
            await _insert_ignoring_duplicates(
                self.db.photos, [photo_doc("punch", batch[i].photo, _id=batch[i].key) for i in first_of.values()])
            duplicates = await store(self.db, [batch[i].document() for i in first_of.values()], self._session)
            resent: collections.Counter[str] = collections.Counter()
            for i in accepted:
                key = batch[i].key
                if key in duplicates or first_of[key] != i:
                    outcomes[i] = RESENT
                    resent[key] += 1
                else:
                    outcomes[i] = STORED
            if resent:
                await self.db.punches.bulk_write(
                    [UpdateOne({"_id": k}, {"$inc": {"resends": n}}) for k, n in sorted(resent.items())], ordered=False)
        if refusals:
            await self.db.punch_refusals.insert_many(refusals, ordered=False)
        return outcomes  # type: ignore[return-value]


async def _insert_ignoring_duplicates(collection, documents: list[dict]) -> set:
    """Insert all; return the _ids that were already there. Any other write error propagates."""
    try:
        await collection.insert_many(documents, ordered=False)
        return set()
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        others = [e for e in errors if e.get("code") != DUPLICATE_KEY]
        if others:
            raise
        return {documents[e["index"]]["_id"] for e in errors}


async def store(db: AsyncDatabase, documents: list[dict], session: AsyncClientSession | None = None) -> set[str]:
    """Punch documents and their feed document (punch_feed) in one transaction: a punch is stored if and only
    if it is fed. Returns the ids that were stored already (re-sends: neither stored nor fed again)."""
    if session is None:
        async with db.client.start_session() as own:
            return await store(db, documents, own)
    unique: dict[str, dict] = {}
    for d in documents:
        unique.setdefault(d["_id"], d)   # one id twice in a call would fail every try: the first copy goes
    duplicates: set[str] = set()
    for _ in range(3):
        fresh = [d for d in unique.values() if d["_id"] not in duplicates]
        if not fresh:
            return duplicates
        try:
            async with await session.start_transaction():
                await db.punches.insert_many(fresh, ordered=False, session=session)
                await db.punch_feed.insert_one(punch_feed.document(fresh), session=session)
            return duplicates
        except BulkWriteError as exc:
            # A write error aborts the transaction, and the server need not name every duplicate: ask
            # which are stored, and store the rest (one writer, so the second try finds none).
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise
            stored = {d["_id"] async for d in db.punches.find({"_id": {"$in": [d["_id"] for d in fresh]}}, {"_id": 1})}
            if not stored - duplicates:
                raise   # a duplicate of nothing stored: trying again cannot go otherwise
            duplicates |= stored
    raise RuntimeError("punches kept turning out stored while they were written")


async def end_orphaned_writes(db: AsyncDatabase, me: str, session: AsyncClientSession) -> None:
    """Record this writer's session, and end the sessions of this host's writers that died: a gateway killed
    inside a transaction leaves it open on the server (for a minute on the embedded one), holding the ids of
    the punches it was writing, and the devices' re-sends of exactly those would conflict with it until then."""
    host = socket.gethostname()
    async for other in db.punch_writers.find({"host": host, "_id": {"$ne": me}}):
        if other["pid"] != os.getpid() and not _alive(other["pid"]):
            try:
                await db.client.admin.command("killSessions", [other["lsid"]])
            except OperationFailure:
                log.warning("could not end the session of the dead punch writer %s", other["_id"], exc_info=True)
            await db.punch_writers.delete_one({"_id": other["_id"]})
    await db.punch_writers.replace_one({"_id": me}, {"host": host, "pid": os.getpid(), "lsid": session.session_id,
                                                     "started_at": dt.datetime.now(dt.timezone.utc)}, upsert=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True    # someone else's process: not ours to judge
    return True


async def for_project_day(db: AsyncDatabase, project_id: int, day: dt.date, *, include_test: bool = False) -> list[dict]:
    query: dict = {"project_id": project_id, "date": day.isoformat()}
    if not include_test:
        query["test"] = False
    cursor = db.punches.find(query, {"photo_id": 0}).sort([("device_time", 1), ("worker_no", 1)])
    return [d async for d in cursor]
