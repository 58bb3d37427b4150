"""One pass of the upload to the provincial platform: mark what changed, collect outcomes, send what is ready.

``run_once(db, platform, config)`` is what the worker calls periodically (a job kind: "province_upload").
A pass is safe to interrupt anywhere: every step is a state change of an upload record
(server/store/uploads.py), the serial code is stored the moment the platform answers, a record whose
sender died is given back after a lease, and an "already exists" answer to a resend is reconciled
with the platform's copy instead of counted as a failure.

A project takes part when it carries its platform credentials: ``project.province = {appid, appsecret,
project_code}`` (appid and secret are issued per project).
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections import Counter
from typing import Awaitable, Callable

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from ..store import people as people_store
from ..store import photos, punch_feed, punches, uploads
from ..domain.site_clock import SITE_TZ
from ..store.db import find_in, in_slices, utcnow
from ..store.rollup_queries import punches_received_between
from ..store.write_groups import WriteGroup
from . import codes, payloads
from .id_numbers import ID_NUMBERS
from .client import Accepted, Credentials, Outcome, Platform, Refused, Transient

log = logging.getLogger(__name__)

SEND_CONCURRENCY = 8
PUNCH_DAYS_BACK = 1          # a site's first pass (and the very first) takes punches from yesterday (site day) on
# Attendance batches claimed at once (each up to REALNAME_PROVINCE_ATTENDANCE_BATCH punches): the senders
# stay busy through the whole claim instead of waiting for the slowest of a small one.
ATTENDANCE_TAKE = 800
FOLLOW_WAITS = (0.05, 0.1, 0.2, 0.4)   # seconds before each early outcome query of a sent batch
# How long the first answer waits for others to be written with it: ~2 ms of the embedded server's per
# write against a few more milliseconds before the batch's outcome is asked for.
GROUP_LINGER = 0.02
WATERMARK_ID = "attendance_watermark"
SWEEP_ID = "structure_sweep"
PUNCH_CHUNK = 2000   # punches read before their full batches are written and sent (a few projects' worth)
READ_SLICES = 32     # spans the window is read in by time (the first batches go after the first span)
BACKLOG_STATES = (uploads.TO_SEND, uploads.SENDING, uploads.SUBMITTED, uploads.FAILED)

# Where a pass may be stopped from outside (the job kind's test pause): the claimed records not yet sent,
# the platform's answer not yet stored, an outcome read but not yet stored.
CHECKPOINTS = ("before_request", "after_request", "in_poll")
Checkpoint = Callable[[str, list[str]], Awaitable[None]]


async def no_checkpoint(point: str, ids: list[str]) -> None:
    return None


@dataclasses.dataclass
class Site:
    project_id: int
    code: str
    creds: Credentials


@dataclasses.dataclass
class PassReport:
    marked: Counter = dataclasses.field(default_factory=Counter)
    sent: int = 0
    outcomes: Counter = dataclasses.field(default_factory=Counter)
    released: int = 0
    backlog: int = 0
    backlog_by_kind: dict = dataclasses.field(default_factory=dict)   # {kind: {state: n}}, final 上传成功 left out
    seconds: float = 0.0
    phases: dict = dataclasses.field(default_factory=dict)   # seconds per step of the pass, for the log
    _clock: float = dataclasses.field(default_factory=time.monotonic)

    def phase(self, name: str) -> None:
        now = time.monotonic()
        self.phases[name] = round(self.phases.get(name, 0.0) + now - self._clock, 2)
        self._clock = now

    @property
    def rate(self) -> float:
        """Records sent per second of this pass."""
        return self.sent / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        backlog = "; ".join(f"{kind} " + ", ".join(f"{state} {n}" for state, n in states.items())
                            for kind, states in self.backlog_by_kind.items())
        return (f"province pass: {dict(self.marked)}, sent {self.sent} ({self.rate:.0f}/s), "
                f"outcomes {dict(self.outcomes)}, released {self.released}, backlog {self.backlog}"
                + (f" ({backlog})" if backlog else "") + f"; seconds {self.phases}")

    def summary(self) -> dict:
        """What the job stores as its result, for the worker's operators and the results page."""
        return {"seconds": round(self.seconds, 3), "sent": self.sent, "rate": round(self.rate, 1),
                "marked": dict(self.marked), "outcomes": dict(self.outcomes), "released": self.released,
                "backlog": self.backlog, "backlog_by_kind": self.backlog_by_kind, "phases": self.phases}


async def sites(db: AsyncDatabase) -> dict[int, Site]:
    out = {}
    async for p in db.projects.find({"province.appid": {"$exists": True}}, {"province": 1, "permit_no": 1}):
        province = p["province"]
        out[p["_id"]] = Site(p["_id"], province.get("project_code") or p.get("permit_no") or str(p["_id"]),
                             Credentials(province["appid"], province["appsecret"]))
    return out


class Records:
    """Our records as a pass reads them, each read once per pass."""

    def __init__(self, db: AsyncDatabase):
        self.db = db
        self._enterprises: dict = {}
        self._units: dict = {}

    async def preload(self, units: list[dict], contracts: list[dict]) -> None:
        """Remember these units and read their enterprises and the contracts' in one query."""
        for unit in units:
            self._units[unit["_id"]] = unit
        wanted = {u["enterprise_id"] for u in units} | {c.get("enterprise_id") for c in contracts}
        wanted = {e for e in wanted if e is not None and e not in self._enterprises}
        found = {e["_id"]: e for e in await find_in(self.db.enterprises, "_id", list(wanted))}
        self._enterprises.update({e: found.get(e) for e in wanted})

    async def enterprise(self, enterprise_id) -> dict | None:
        if enterprise_id not in self._enterprises:
            self._enterprises[enterprise_id] = await self.db.enterprises.find_one({"_id": enterprise_id})
        return self._enterprises[enterprise_id]

    async def unit(self, unit_id) -> dict | None:
        if unit_id not in self._units:
            self._units[unit_id] = await self.db.units.find_one({"_id": unit_id})
        return self._units[unit_id]

    async def enterprise_of_unit(self, unit_id) -> dict | None:
        unit = await self.unit(unit_id)
        return await self.enterprise(unit["enterprise_id"]) if unit else None

    async def latest_entries(self, project_id: int, worker_nos) -> dict[int, dict]:
        found = await find_in(self.db.roster, "worker_no", sorted(set(worker_nos)), query={"project_id": project_id})
        return latest_of(found)

    async def team_sys_nos(self, project_id: int, worker_nos) -> dict[int, int]:
        """worker no → the teamSysNo of the team of their latest entry, for teams the platform has."""
        latest = await self.latest_entries(project_id, worker_nos)
        teams = await uploads.states_of(self.db, (uploads.upload_id("team", e["team_id"]) for e in latest.values()))
        out = {}
        for n, entry in latest.items():
            team = teams.get(uploads.upload_id("team", entry["team_id"]), {})
            if team.get("state") == uploads.SUCCEEDED and "teamSysNo" in team.get("platform_ids", {}):
                out[n] = team["platform_ids"]["teamSysNo"]
        return out


def latest_of(entries) -> dict[int, dict]:
    """worker no → their latest roster entry among these (the one the platform's worker record follows)."""
    latest: dict[int, dict] = {}
    for entry in entries:
        if entry["worker_no"] not in latest or entry["entry_date"] > latest[entry["worker_no"]]["entry_date"]:
            latest[entry["worker_no"]] = entry
    return latest


# --- marking ---------------------------------------------------------------------------------

def _worker_hash_payload(site: Site, entry: dict, person: dict, enterprise: dict) -> dict:
    # The hash stands for our record, not the platform's ids: the team by our id, the photo by its id.
    photo = str(person.get("capture_photo_id") or person.get("id_photo_id") or "").encode()
    return payloads.worker_payload(site.code, entry, person, enterprise, str(entry["team_id"]), photo, site.creds.appsecret)


def sites_records_query(project_ids) -> dict:
    """The taking-part projects' units, teams, roster entries or contracts: what a pass marks for upload
    (asked in slices of project ids, one query per collection for all of them)."""
    return {"project_id": {"$in": sorted(project_ids)}}


PERSON_FIELDS = ("name", "id_number", "sex", "nation", "address", "capture_photo_id", "id_photo_id")


@dataclasses.dataclass
class Structure:
    """The taking-part projects' units, teams, roster entries and contracts (by project) and their people."""
    units: dict[int, list[dict]]
    teams: dict[int, list[dict]]
    roster: dict[int, list[dict]]
    contracts: dict[int, list[dict]]
    people: dict[int, dict]


async def read_structure(db: AsyncDatabase, sites_: dict[int, Site], records: Records) -> Structure:
    """These projects' records, read for all of them at once: a query per collection, not per project
    (~2 ms a query on the embedded server whatever it returns)."""
    ids = sorted(sites_)
    found: dict[str, dict[int, list[dict]]] = {}
    for name in ("units", "teams", "roster", "contracts"):
        found[name] = {pid: [] for pid in ids}
        for part in in_slices(ids):
            async for doc in db[name].find(sites_records_query(part)):
                found[name][doc["project_id"]].append(doc)

    def everything(name: str) -> list[dict]:
        return [d for docs in found[name].values() for d in docs]
    await records.preload(everything("units"), everything("contracts"))
    people = await people_store.by_worker_nos(db, (e["worker_no"] for e in everything("roster")), PERSON_FIELDS)
    ID_NUMBERS.learn(db, people)
    return Structure(found["units"], found["teams"], found["roster"], found["contracts"], people)


async def entered_teams(db: AsyncDatabase, project_ids) -> dict[int, dict[int, ObjectId]]:
    """Per project, its entered workers' teams (worker no → team of the latest entry): what batching needs."""
    by_project: dict[int, list[dict]] = {pid: [] for pid in project_ids}
    for part in in_slices(sorted(by_project)):
        async for e in db.roster.find(sites_records_query(part), {"project_id": 1, "worker_no": 1, "team_id": 1,
                                                                  "entry_date": 1}):
            by_project[e["project_id"]].append(e)
    return {pid: {n: e["team_id"] for n, e in latest_of(entries).items()} for pid, entries in by_project.items()}


async def projects_to_mark(db: AsyncDatabase, site_ids: set[int], sweep: int) -> tuple[list[int], dict]:
    """The projects this pass compares with what was uploaded: those taking part for the first time, those
    with a refused record (waiting for its fix), those with punches waiting for their worker's record (a
    worker entered since their project's last turn), and the next `sweep` in turn — comparing every
    project's every record in every pass is what a city cannot afford. Returns them and the sweep's state
    to store once they are marked (a pass killed before marks them again)."""
    state = await db.upload_state.find_one({"_id": SWEEP_ID}) or {}
    seen, after = set(state.get("seen", [])), state.get("after", -1)
    ids = sorted(site_ids)
    due = set()
    for kind in payloads.ORDER:
        if kind != "attendance":   # a refused punch does not change; a refused record waits for its fix
            due |= {d["project_id"] async for d in db.uploads.find(uploads.failed_query(kind), {"project_id": 1})}
    due |= {d["project_id"] async for d in db.uploads.find(uploads.waiting_batches_query(), {"project_id": 1, "depends_on": 1})
            if d["depends_on"]}
    turn = ([p for p in ids if p > after] + [p for p in ids if p <= after])[:max(1, sweep)]
    chosen = sorted({p for p in ids if p not in seen} | (due & site_ids) | set(turn))
    return chosen, {"seen": sorted(seen | site_ids), "after": turn[-1] if turn else after}


async def mark_structure(db: AsyncDatabase, sites_: dict[int, Site], records: Records, report: PassReport,
                         now: dt.datetime, sweep: int) -> None:
    """Mark this pass's projects (projects_to_mark) against what was uploaded."""
    started = time.monotonic()
    chosen, sweep_state = await projects_to_mark(db, set(sites_), sweep)
    structure = await read_structure(db, {pid: sites_[pid] for pid in chosen}, records)
    for pid in chosen:
        await mark_project(db, sites_[pid], records, report, now, units=structure.units[pid],
                           teams=structure.teams[pid], entries=structure.roster[pid],
                           contracts=structure.contracts[pid], people=structure.people)
    await db.upload_state.update_one({"_id": SWEEP_ID}, {"$set": sweep_state}, upsert=True)
    report.marked["projects compared"] += len(chosen)
    report.phases["mark structure (beside the punches)"] = round(time.monotonic() - started, 2)


async def mark_project(db: AsyncDatabase, site: Site, records: Records, report: PassReport, now: dt.datetime, *,
                       units: list[dict], teams: list[dict], entries: list[dict], contracts: list[dict],
                       people: dict[int, dict]) -> None:
    """Mark one project's records (read by read_structure)."""
    pid, secret = site.project_id, site.creds.appsecret

    known = await uploads.marked(db, pid, [k for k in payloads.ORDER if k != "attendance"])

    async def mark(kind, entity_id, payload, depends_on=()):
        content_hash = payloads.content_hash(payload)
        report.marked["looked at"] += 1
        if known.get(uploads.upload_id(kind, entity_id)) == (content_hash, list(depends_on)):
            return  # unchanged since the last pass: no write
        state = await uploads.mark(db, kind, entity_id, project_id=pid, content_hash=content_hash,
                                   depends_on=depends_on, now=now)
        report.marked[f"marked {state}"] += 1

    for unit in units:
        enterprise = await records.enterprise(unit["enterprise_id"])
        if enterprise is not None:
            await mark("unit", unit["_id"], payloads.unit_payload(site.code, unit, enterprise, secret))
    for team in teams:
        enterprise = await records.enterprise_of_unit(team["unit_id"])
        if enterprise is not None:
            await mark("team", team["_id"], payloads.team_payload(site.code, team, enterprise),
                       [uploads.upload_id("unit", team["unit_id"])])
    latest = latest_of(entries)
    for n, entry in latest.items():
        enterprise = await records.enterprise_of_unit(entry["unit_id"])
        if n in people and enterprise is not None:
            await mark("worker", f"{pid}:{n}", _worker_hash_payload(site, entry, people[n], enterprise),
                       [uploads.upload_id("team", entry["team_id"])])
    # Each entry/exit waits for the one before it (the platform refuses a date before the previous one).
    previous: dict[int, str] = {}
    for entry in sorted(entries, key=lambda e: (e["worker_no"], e["entry_date"], e["_id"])):
        enterprise = await records.enterprise_of_unit(entry["unit_id"])
        person = people.get(entry["worker_no"])
        if person is None or enterprise is None:
            continue
        for suffix, event_type, day in payloads.entry_exit_events(entry):
            needs = [uploads.upload_id("worker", pid, entry["worker_no"]), uploads.upload_id("team", entry["team_id"])]
            if entry["worker_no"] in previous:
                needs.append(previous[entry["worker_no"]])
            entity = f"{entry['_id']}:{suffix}"
            await mark("entry_exit", entity,
                       payloads.entry_exit_payload(site.code, person, enterprise, str(entry["team_id"]), event_type, day, secret),
                       needs)
            previous[entry["worker_no"]] = uploads.upload_id("entry_exit", entity)
    for contract in contracts:
        enterprise = await records.enterprise(contract.get("enterprise_id"))
        person = people.get(contract["worker_no"])
        if person is not None and enterprise is not None:
            await mark("contract", contract["_id"], payloads.contract_payload(site.code, contract, person, enterprise, secret),
                       [uploads.upload_id("worker", pid, contract["worker_no"])])


def start_of_yesterday(now: dt.datetime) -> dt.datetime:
    day = now.astimezone(SITE_TZ).date() - dt.timedelta(days=PUNCH_DAYS_BACK)
    return dt.datetime.combine(day, dt.time(), SITE_TZ).astimezone(dt.timezone.utc)


async def new_punches(db: AsyncDatabase, site_ids: set[int], config, report: PassReport, now: dt.datetime,
                      take: Callable[[list[dict]], Awaitable[None]], chunk_size: int = PUNCH_CHUNK) -> dict:
    """Punches not yet in a batch, read from the watermark on received_at instead of whole days, handed to
    `take` in chunks of at least chunk_size as the read goes (so their batches go out while the rest is
    read). The window is read from the punches' feed (server/store/punch_feed.py: each stored group of
    punches as one packed document, written with them), in the order they were stored, so a worker's first
    punch of a day comes before their later ones. Only the very first pass, and the first one after an
    upgrade from before the feed (its watermark not `fed`), reads the punches themselves, by received time
    (`by_time`), since the feed began later than its window may.

    A punch's received_at is stamped before its grouped write lands, so the watermark is kept a margin
    behind the time of the read (REALNAME_PROVINCE_PUNCH_MARGIN_SECONDS): what landed late inside the
    margin is read again, and whatever a batch already holds is skipped. A site seen for the first time
    (credentials given later) catches up on its punches of yesterday and today. Returns the watermark to
    store once the batches are written — stored after, so a pass killed in between reads the same punches
    again and finds them batched.
    """
    state = await db.upload_state.find_one({"_id": WATERMARK_ID})
    read_at = utcnow()
    since = state["since"].replace(tzinfo=dt.timezone.utc) if state else start_of_yesterday(now)
    started = set(state["projects"]) if state else set(site_ids)   # the very first read covers every site
    seen: set[str] = set()
    chunk: list[dict] = []
    read = looked_at = 0   # what the reads returned; of that, the punches of our sites that may be sent

    def found(p: dict, known: set[str]) -> None:
        nonlocal looked_at
        looked_at += 1
        if p["_id"] not in known and p["_id"] not in seen:
            seen.add(p["_id"])
            chunk.append(p)

    async def hand_over(at_least: int = chunk_size) -> None:
        # Only between a read's groups (a first pass's project-days, the feed's documents of one read), never
        # inside one: a project-day read whole goes to `take` whole, so its directions see the day's first.
        if len(chunk) >= at_least:
            await take(chunk[:])
            chunk.clear()
    for pid in sorted(site_ids - started):
        known = await uploads.batched_punches(db, uploads.project_batches_query(pid))
        today = now.astimezone(SITE_TZ).date()
        for back in range(PUNCH_DAYS_BACK, -1, -1):
            for p in await punches.for_project_day(db, pid, today - dt.timedelta(days=back)):
                read += 1
                found(p, known)
        await hand_over()
    known = await uploads.batched_punches(db, uploads.batched_query(since))
    if state and state.get("fed"):
        reads = punch_feed.since(db, since)
    else:
        reads = by_time(db, since, read_at)
        report.marked["window read from the punches"] += 1
    async for some in reads:
        for p in some:
            read += 1
            if p["project_id"] in site_ids and not p.get("test"):
                found(p, known)
        await hand_over()
    await hand_over(1)
    report.marked["looked at"] += looked_at
    report.marked["punches read"] += read
    return {"since": max(since, read_at - dt.timedelta(seconds=config.province_punch_margin_seconds)),
            "projects": sorted(started | site_ids), "fed": True}


async def by_time(db: AsyncDatabase, since: dt.datetime, read_at: dt.datetime):
    """Punches received since `since`, span by span of received time: READ_SLICES commands whatever the
    number of devices, but every team's punches come interleaved with the whole city's."""
    for start, end in read_slices(since, read_at):
        yield await db.punches.find(punches_received_between(start, end)).to_list(None)


def read_slices(since: dt.datetime, read_at: dt.datetime, n: int = READ_SLICES) -> list[tuple]:
    """The watermark's window cut into n equal spans of received_at, the last open-ended (a punch stamped
    after the read's clock, by a skewed gateway, is read too)."""
    step = max(read_at - since, dt.timedelta(0)) / n
    bounds = [since + k * step for k in range(n)] if step else [since]
    return list(zip(bounds, bounds[1:] + [None]))


async def directions_of(db: AsyncDatabase, found: list[dict]) -> dict[str, str]:
    """Punch id → 01 进 for the first punch of a worker's site day on a project, 02 出 for the later ones.

    The first punch of each worker and day is kept per project-day (upload_state ``firsts:<project>:<day>``),
    so a pass reads one small document per project-day instead of the day's punches. Written before the
    batches: a pass killed between finds the same first again.
    """
    by_day: dict[tuple[int, str], list[dict]] = {}
    for p in found:
        by_day.setdefault((p["project_id"], p["date"]), []).append(p)
    ids = [f"firsts:{pid}:{day}" for pid, day in by_day]
    stored = {d["_id"]: d.get("w", {}) for d in await find_in(db.upload_state, "_id", ids)}
    out: dict[str, str] = {}
    writes = []
    for (pid, day), day_punches in by_day.items():
        _id = f"firsts:{pid}:{day}"
        firsts = dict(stored.get(_id, {}))
        changed = {}
        for p in sorted(day_punches, key=lambda p: (p["device_time"], p["_id"])):
            key, mine = str(p["worker_no"]), {"t": p["device_time"], "id": p["_id"]}
            first = firsts.get(key)
            if first is None or (mine["t"], mine["id"]) < (first["t"], first["id"]):
                firsts[key] = changed[key] = mine
        for p in day_punches:
            first = firsts[str(p["worker_no"])]
            out[p["_id"]] = codes.DIRECTION_IN if first["id"] == p["_id"] else codes.DIRECTION_OUT
        if changed:
            writes.append(UpdateOne({"_id": _id}, {"$set": {"project_id": pid, "date": day,
                                                            **{f"w.{k}": v for k, v in changed.items()}}}, upsert=True))
    if writes:   # one command for all the project-days (~2 ms of the embedded server's per command)
        await db.upload_state.bulk_write(writes, ordered=False)
    return out


async def mark_punches(db: AsyncDatabase, sites_: dict[int, Site], config,
                       report: PassReport, now: dt.datetime, sender: Sender | None = None,
                       read: asyncio.Event | None = None) -> None:
    """New punches into attendance batches of one team each (test-environment punches are never taken),
    sent by `sender` as they fill (without one they wait, 待上传, for the next claim); `read` is set once
    the punches are read (their last batches may still be on their way).

    A punch of a worker the platform has (worker record 上传成功) goes into a batch of its team, ready at
    once; a punch of a worker not yet there waits in a batch of that worker alone, depending on the worker
    record, so it holds up nobody else and goes when the worker has. Punches come in chunks as they are
    read; a team's full batches are handed to the sender at once, its remainder waits for the
    next chunk or the end of the read. Directions are decided chunk by chunk: a chunk holds whole
    projects' reads (by device: all of a project's devices), or spans of received time (by time: the
    gateway receives a worker's punches in their order), so the first read is the first of the day.
    """
    size = config.province_attendance_batch
    entered: dict[int, dict] = {}          # their entered workers' teams, of the projects in projects_read
    on_platform: dict[int, dict] = {}      # of those, the workers whose record is 上传成功 (worker no → team)
    projects_read: set[int] = set()
    ready: dict[tuple, list[dict]] = {}     # (project, team) → items not yet in a batch
    waiting: dict[tuple, list[dict]] = {}   # (project, worker no) → items of a worker the platform lacks
    sending: list[asyncio.Future] = []

    async def write(batches: list[dict]) -> None:
        if not batches:
            return
        going = []
        if sender is not None:   # what goes at once is claimed by this pass, and written once answered
            going = uploads.claimed_new([b for b in batches if not b["depends_on"]], now)
            batches = [b for b in batches if b["depends_on"]]
        already = await uploads.insert_new(db, batches)
        fresh = [b for b in batches if b["_id"] not in already]
        if fresh:
            report.marked[f"marked {uploads.TO_SEND}"] += len(fresh)
        if going:   # never written 待上传: they are in the platform's hands before they are written at all
            report.marked["batched and sent"] += len(going)
        if fresh or going:
            report.marked["punches batched"] += sum(b["n"] for b in fresh + going)
        if going:
            sending.append(asyncio.ensure_future(sender.send_fresh(going)))

    def full(groups: dict, make, *, everything: bool) -> list[dict]:
        out = []
        for key, items in list(groups.items()):
            cut = len(items) if everything else len(items) - len(items) % size
            out += [make(key, items[k:min(k + size, cut)]) for k in range(0, cut, size)]
            if cut == len(items):
                del groups[key]
            else:
                groups[key] = items[cut:]
        return out

    def ready_batch(key, items):
        return uploads.attendance_batch(key[0], items, team_id=key[1], now=now)

    def waiting_batch(key, items):
        pid, worker_no = key
        return uploads.attendance_batch(pid, items, team_id=entered.get(pid, {}).get(worker_no), now=now,
                                        depends_on=[uploads.upload_id("worker", pid, worker_no)])

    async def take(found: list[dict]) -> None:
        unread = {p["project_id"] for p in found} - projects_read
        projects_read.update(unread)
        # Read as their punches come (the first batches wait for their own projects only).
        direction, states, teams = await asyncio.gather(directions_of(db, found), uploads.worker_states(db, unread),
                                                        entered_teams(db, unread))
        entered.update(teams)
        for pid in unread:   # once per worker, not per punch (a project's day: hundreds of punches, dozens of workers)
            on_platform[pid] = {n: team for n, team in teams[pid].items()
                                if states.get(uploads.upload_id("worker", pid, n), {}).get("state") == uploads.SUCCEEDED}
        going: set[int] = set()
        for p in sorted(found, key=lambda p: (p["device_time"], p["_id"])):
            pid, worker_no = p["project_id"], p["worker_no"]
            item = {"punch_id": p["_id"], "worker_no": worker_no, "time": p["device_time"],
                    "direction": direction[p["_id"]], "received_at": p["received_at"]}
            team = on_platform[pid].get(worker_no)
            if team is not None:
                ready.setdefault((pid, team), []).append(item)
                going.add(worker_no)
            else:
                waiting.setdefault((pid, worker_no), []).append(item)
        if sender is not None:
            sender.expect(going)
        await write(full(ready, ready_batch, everything=False))

    try:
        watermark = await new_punches(db, set(sites_), config, report, now, take)
    finally:
        if read is not None:
            read.set()
    await write(full(ready, ready_batch, everything=True) + full(waiting, waiting_batch, everything=True))
    await asyncio.gather(*sending)   # the batches sent are written once answered: the watermark after them
    await db.upload_state.update_one({"_id": WATERMARK_ID}, {"$set": watermark}, upsert=True)
    if dropped := await punch_feed.forget_read(db, watermark["since"]):
        report.marked["feed documents dropped"] += dropped
    report.phase("mark and send punches")


# --- sending -----------------------------------------------------------------------------------

class Gone(Exception):
    """The record was deleted here after it was marked."""


async def build_payload(db: AsyncDatabase, site: Site, records: Records, doc: dict) -> dict:
    kind, secret = doc["kind"], site.creds.appsecret
    if kind == "unit":
        unit = await records.unit(ObjectId(doc["entity_id"]))
        enterprise = unit and await records.enterprise(unit["enterprise_id"])
        if not enterprise:
            raise Gone
        return payloads.unit_payload(site.code, unit, enterprise, secret)
    if kind == "team":
        team = await db.teams.find_one({"_id": ObjectId(doc["entity_id"])})
        enterprise = team and await records.enterprise_of_unit(team["unit_id"])
        if not enterprise:
            raise Gone
        update = doc["operation"] == "update"
        return payloads.team_payload(site.code, team, enterprise,
                                     team_sys_no=doc["platform_ids"].get("teamSysNo") if update else None)
    if kind == "worker":
        worker_no = int(doc["entity_id"].split(":")[1])
        entry = (await records.latest_entries(site.project_id, [worker_no])).get(worker_no)
        person = await db.people.find_one({"worker_no": worker_no})
        enterprise = entry and await records.enterprise_of_unit(entry["unit_id"])
        team_sys_no = (await records.team_sys_nos(site.project_id, [worker_no])).get(worker_no)
        if not (person and enterprise and team_sys_no):
            raise Gone
        photo = await photos.get(db, person.get("capture_photo_id") or person.get("id_photo_id"))
        return payloads.worker_payload(site.code, entry, person, enterprise, team_sys_no, photo or b"", secret)
    if kind == "entry_exit":
        roster_id, _, suffix = doc["entity_id"].rpartition(":")
        entry = await db.roster.find_one({"_id": ObjectId(roster_id)})
        events = {s: (t, d) for s, t, d in payloads.entry_exit_events(entry)} if entry else {}
        if suffix not in events:
            raise Gone
        person = await db.people.find_one({"worker_no": entry["worker_no"]})
        enterprise = await records.enterprise_of_unit(entry["unit_id"])
        team = await uploads.states_of(db, [uploads.upload_id("team", entry["team_id"])])
        team_sys_no = next(iter(team.values()), {}).get("platform_ids", {}).get("teamSysNo")
        if not (person and enterprise and team_sys_no):
            raise Gone
        return payloads.entry_exit_payload(site.code, person, enterprise, team_sys_no, *events[suffix], secret)
    if kind == "contract":
        contract = await db.contracts.find_one({"_id": ObjectId(doc["entity_id"])})
        person = contract and await db.people.find_one({"worker_no": contract["worker_no"]})
        enterprise = contract and await records.enterprise(contract.get("enterprise_id"))
        if not (person and enterprise):
            raise Gone
        return payloads.contract_payload(site.code, contract, person, enterprise, secret)
    raise ValueError(f"no payload for kind {kind!r}")


class Sender:
    def __init__(self, db: AsyncDatabase, platform: Platform, config, sites_: dict[int, Site], report: PassReport,
                 checkpoint: Checkpoint = no_checkpoint):
        self.db, self.platform, self.config, self.sites, self.report = db, platform, config, sites_, report
        self.checkpoint = checkpoint
        self.records = Records(db)
        self.limit = asyncio.Semaphore(SEND_CONCURRENCY)
        self.id_cards: dict[int, dict[int, str]] = {}   # project → worker no → encrypted ID number, per pass
        self.people: dict[int, dict] = {}               # worker no → {id_number}, this pass's (ID_NUMBERS)
        self._people_reads: list[asyncio.Future] = []
        self._people_asked: set[int] = set()
        # Attendance batches are one record per request: their serials and outcomes are written together.
        self.submissions = WriteGroup(lambda entries: uploads.record_batch_submissions(db, dict(entries)), linger=GROUP_LINGER)
        self.item_outcomes = WriteGroup(lambda entries: uploads.record_item_outcomes(db, dict(entries)), linger=GROUP_LINGER)
        self.unwritten = WriteGroup(lambda records: uploads.insert_new(db, records), linger=GROUP_LINGER)

    async def transient(self, ids: list[str], reason: str) -> None:
        self.report.outcomes["transient"] += len(ids)
        await uploads.record_transient(self.db, ids, reason, base_seconds=self.config.province_retry_seconds)

    async def answer(self, docs: list[dict], result) -> None:
        ids = [d["_id"] for d in docs]
        if isinstance(result, Accepted) and docs[0]["kind"] == "attendance":
            await self.submissions.add((ids[0], result.serial))
        elif isinstance(result, Accepted):
            await uploads.record_submission(self.db, ids, result.serial)
        elif isinstance(result, Refused) and result.already_exists:
            for doc in docs:
                await self.reconcile(doc)
        elif isinstance(result, Refused) and docs[0]["kind"] == "attendance":
            for doc in docs:
                await self.refuse_items(doc, {n: result.message for n in range(doc["n"])})
        elif isinstance(result, Refused):
            self.report.outcomes["refused"] += len(ids)
            await uploads.record_refusals(self.db, dict.fromkeys(ids, result.message))
        else:
            await self.transient(ids, result.reason)

    async def send_one(self, doc: dict) -> None:
        site = self.sites.get(doc["project_id"])
        if site is None:
            return await self.transient([doc["_id"]], "项目未配置省厅 appid")
        try:
            payload = await build_payload(self.db, site, self.records, doc)
        except Gone:
            self.report.outcomes["gone"] += 1
            return await uploads.record_refusals(self.db, {doc["_id"]: "本地记录已删除或不完整，未上传"})
        async with self.limit:
            await self.checkpoint("before_request", [doc["_id"]])
            result = await self.platform.upload(site.creds, doc["kind"], payload, update=doc["operation"] == "update")
            await self.checkpoint("after_request", [doc["_id"]])
        self.report.sent += 1
        await self.answer([doc], result)

    def expect(self, worker_nos: set[int]) -> None:
        """Start reading these workers' ID numbers: their punches are being batched to go this pass, so the
        numbers are read beside the rest of the read instead of in front of each batch's request."""
        wanted = worker_nos - self._people_asked
        if wanted:
            self._people_asked |= wanted
            self._people_reads.append(asyncio.ensure_future(self._read_people(wanted)))

    async def _read_people(self, worker_nos) -> None:
        self.people.update(await ID_NUMBERS.of(self.db, worker_nos))

    async def send_attendance(self, docs: list[dict], *, unwritten: bool = False) -> None:
        """Each batch record is one request; its items carry what the payload needs but the ID numbers.
        `unwritten`: records not yet in the database (send_fresh), written when the platform has answered."""
        records = {d["_id"]: d for d in docs} if unwritten else {}
        docs = [{**d, "items": uploads.items_of(d)} for d in docs]
        await asyncio.gather(*self._people_reads)
        await self._read_people({i["worker_no"] for d in docs for i in d["items"]} - set(self.people))
        people = self.people
        teams = await uploads.states_of(self.db, {uploads.upload_id("team", d["team_id"]) for d in docs if d.get("team_id")})

        async def team_sys_no(doc) -> int | None:
            if doc.get("team_id") is None:   # a worker entered after their punch was batched
                return (await self.records.team_sys_nos(doc["project_id"], [doc["items"][0]["worker_no"]])).get(
                    doc["items"][0]["worker_no"])
            return teams.get(uploads.upload_id("team", doc["team_id"]), {}).get("platform_ids", {}).get("teamSysNo")

        async def written(doc, serial: str | None = None) -> None:
            record = records.pop(doc["_id"], None)
            if record is not None:
                await self.unwritten.add(uploads.submitted_new(record, serial, utcnow()) if serial else record)

        async def one(doc):
            site = self.sites.get(doc["project_id"])
            if site is None:
                await written(doc)
                return await self.transient([doc["_id"]], "项目未配置省厅 appid")
            number = await team_sys_no(doc)
            if number is None or any(i["worker_no"] not in people for i in doc["items"]):
                await written(doc)
                return await self.transient([doc["_id"]], "考勤记录或工人班组暂缺")
            workers = {i["worker_no"] for i in doc["items"]}
            missing = workers - set(self.id_cards.get(site.project_id, {}))
            self.id_cards.setdefault(site.project_id, {}).update(payloads.id_cards(people, missing, site.creds.appsecret))
            payload = payloads.attendance_payload(site.code, number, doc["items"], self.id_cards[site.project_id])
            async with self.limit:
                await self.checkpoint("before_request", [doc["_id"]])
                result = await self.platform.upload(site.creds, "attendance", payload)
                await self.checkpoint("after_request", [doc["_id"]])
            self.report.sent += doc["n"]
            if isinstance(result, Accepted) and doc["_id"] in records:
                await written(doc, result.serial)   # one write, already 已提交待回执 with its serial
            else:
                await written(doc)
                await self.answer([doc], result)
            if isinstance(result, Accepted):
                await self.follow(result.serial, [doc])
        await asyncio.gather(*(one(d) for d in docs))

    async def follow(self, serial: str, docs: list[dict]) -> None:
        """Ask for a batch's outcome a few times soon after it was taken (the platform answers within
        moments when it is well); what is still pending is asked again by the next polls."""
        for wait in FOLLOW_WAITS:
            await asyncio.sleep(wait)
            if await self.poll_one(serial, docs):
                return

    async def send_fresh(self, batches: list[dict]) -> None:
        """Batches this pass has just made (claimed, not yet written), sent while the pass reads on. Each is
        written once the platform has answered, taken (已提交待回执 with its serial: one write where a
        record written before its request takes two) or not; a pass that dies before has left its punches
        in no batch, and as the watermark is stored after its batches the next pass reads them again."""
        await self.send_attendance(batches, unwritten=True)

    async def send_ready(self, *, budget: int) -> None:
        while budget > 0:
            docs = await uploads.take_batch(self.db, limit=min(budget, self.config.province_attendance_batch * SEND_CONCURRENCY),
                                            kinds=[k for k in payloads.ORDER if k != "attendance"])
            docs = docs or await uploads.take_batch(self.db, limit=min(budget, ATTENDANCE_TAKE), kinds=["attendance"])
            self.report.phase("claim")
            if not docs:
                return
            budget -= len(docs)
            if docs[0]["kind"] == "attendance":
                await self.send_attendance(docs)
            else:
                await asyncio.gather(*(self.send_one(d) for d in docs))
            self.report.phase("send")

    # --- outcomes ---------------------------------------------------------------------------

    async def reconcile(self, doc: dict) -> None:
        """The platform already has it: take its copy as ours (a team: read its teamSysNo back)."""
        self.report.outcomes["reconciled"] += 1
        ids = {}
        if doc["kind"] == "team":
            site = self.sites[doc["project_id"]]
            try:
                payload = await build_payload(self.db, site, self.records, doc)
            except Gone:
                return await uploads.record_refusals(self.db, {doc["_id"]: "本地记录已删除"})
            found = await self.platform.query(site.creds, f"{codes.TEAM}.Query",
                                              {"projectCode": site.code, "corpCode": payload["corpCode"],
                                               "teamName": payload["teamName"]})
            if isinstance(found, Transient):
                return await self.transient([doc["_id"]], found.reason)
            if isinstance(found, Refused) or not found.data:
                return await uploads.record_refusals(self.db, {doc["_id"]: "平台称班组已存在，但查询不到该班组"})
            ids = {"teamSysNo": found.data[0]["teamSysNo"]}
        await uploads.record_successes(self.db, [doc["_id"]], platform_ids=ids, note="平台已存在，已核对")

    async def poll(self) -> None:
        await asyncio.gather(*(self.poll_one(serial, docs) for serial, docs in (await uploads.submitted(self.db)).items()))

    async def poll_one(self, serial: str, docs: list[dict]) -> bool:
        """Ask for one request's outcome and store it; False while it is still pending (asked again later)."""
        site = self.sites.get(docs[0]["project_id"])
        if site is None:
            return False
        async with self.limit:
            result = await self.platform.query_result(site.creds, serial)
            await self.checkpoint("in_poll", [d["_id"] for d in docs])
        if isinstance(result, Transient) or (isinstance(result, Outcome) and result.pending):
            return False
        if isinstance(result, Refused):
            # The platform does not know the serial: as if never sent (a resend reconciles).
            await self.transient([d["_id"] for d in docs], f"回执查询失败：{result.message}")
            return True
        await self.outcome(docs, result)
        return True

    async def refuse_items(self, doc: dict, reasons: dict[int, str]) -> None:
        """An attendance batch's outcome by item place: the refused with their reasons, the others accepted."""
        items = uploads.items_of(doc) if reasons else []
        refused = [{"punch_id": items[n]["punch_id"], "reason": reason} for n, reason in sorted(reasons.items())]
        self.report.outcomes["succeeded"] += doc["n"] - len(refused)
        self.report.outcomes["refused"] += len(refused)
        await self.item_outcomes.add((doc["_id"], refused))

    async def outcome(self, docs: list[dict], result: Outcome) -> None:
        items = result.data.get("items") if isinstance(result.data, dict) else None
        if docs[0]["kind"] == "attendance" and (items or not (result.succeeded or result.already_exists)):
            # One record per batch: its items' answers, by place in the dataList.
            by_index = {item["index"]: item for item in items or []}
            for doc in docs:
                reasons = {}
                for n in range(doc["n"]):
                    item = by_index.get(n)
                    if item is None:
                        reasons[n] = result.message or "平台未返回该条结果"
                    elif item["code"] != codes.OK and not codes.is_already_exists(item["message"]):
                        reasons[n] = item["message"]
                await self.refuse_items(doc, reasons)
            return
        if items:
            by_index = {item["index"]: item for item in items}
            ok, refused = [], {}
            for doc in docs:
                item = by_index.get(doc.get("batch_index"))
                if item is None:
                    refused[doc["_id"]] = result.message or "平台未返回该条结果"
                elif item["code"] == codes.OK or codes.is_already_exists(item["message"]):
                    ok.append(doc["_id"])
                else:
                    refused[doc["_id"]] = item["message"]
            self.report.outcomes["succeeded"] += len(ok)
            self.report.outcomes["refused"] += len(refused)
            await uploads.record_successes(self.db, ok)
            await uploads.record_refusals(self.db, refused)
            return
        if result.succeeded:
            self.report.outcomes["succeeded"] += len(docs)
            ids = {"teamSysNo": result.data["teamSysNo"]} if "teamSysNo" in result.data else {}
            await uploads.record_successes(self.db, [d["_id"] for d in docs], platform_ids=ids)
        elif result.already_exists:
            for doc in docs:
                await self.reconcile(doc)
        else:
            self.report.outcomes["refused"] += len(docs)
            await uploads.record_refusals(self.db, {d["_id"]: result.message for d in docs})


async def run_once(db: AsyncDatabase, platform: Platform, config, *, budget: int = 10_000,
                   claims_before: dt.datetime | None = None, checkpoint: Checkpoint = no_checkpoint) -> PassReport:
    """One pass: release stale claims, mark changes, collect outcomes, send what is ready, collect again.

    `claims_before`: claims older than this are released whatever the lease says (the caller knows their
    sender is dead: the job kind, when it takes over the job of a killed worker). `checkpoint(point, ids)`
    is awaited at each of CHECKPOINTS.
    """
    started = time.monotonic()
    now = utcnow()
    report = PassReport()
    lease = dt.timedelta(seconds=2 * (config.province_connect_timeout + config.province_request_timeout) + 30)
    stale = now - lease if claims_before is None else max(now - lease, claims_before)
    report.released = await uploads.release_stale(db, older_than=stale, now=now)
    known = await sites(db)
    sender = Sender(db, platform, config, known, report, checkpoint)
    # The punches are read first and their batches sent as they fill; the structure is marked once the read
    # is done, while those batches are still being sent (so the platform is kept busy from the start and
    # the read does not wait behind the marking): batching only reads worker records' states, a worker
    # marked for an update meanwhile is still on the platform, and a new worker's punches wait for them.
    punches_read = asyncio.Event()

    async def marking():
        await punches_read.wait()
        await mark_structure(db, known, sender.records, report, now, config.province_sweep_projects)
    await asyncio.gather(marking(), mark_punches(db, known, config, report, now,
                                                 sender=sender, read=punches_read))
    await sender.poll()
    report.phase("poll")
    await sender.send_ready(budget=budget)
    await sender.poll()
    report.phase("poll")
    report.backlog_by_kind = await uploads.backlog(db, BACKLOG_STATES)
    report.backlog = sum(n for states in report.backlog_by_kind.values() for state, n in states.items()
                         if state != uploads.FAILED)
    report.seconds = time.monotonic() - started
    log.info(report.line())
    return report
