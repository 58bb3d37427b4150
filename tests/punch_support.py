"""Punches written the way the gateway writes them (PunchWriter), and the rollup tail folding them."""
from __future__ import annotations

import datetime as dt

from server.domain.rollups import people_of
from server.store.punches import PunchIn, PunchWriter
from server.store.rollups import PunchTail

JPEG = b"\xff\xd8\xff\xe0punch-photo\xff\xd9"


async def write_punches(db, punches) -> None:
    """punches: (project_id, worker_no, "YYYY-MM-DDTHH:MM:SS" site wall time, test, received_at | None)."""
    writer = PunchWriter(db)
    for project_id, worker_no, when, test, received in punches:
        outcome = await writer.submit(PunchIn(
            vendor_code="TESTVENDOR", device_id="DEV-0001", project_id=project_id, worker_no=worker_no,
            device_time=dt.datetime.fromisoformat(when), mode=6, photo=JPEG,
            received_at=received or dt.datetime.now(dt.timezone.utc), flags=[], test=test))
        assert outcome.ok, outcome


async def drain(tail: PunchTail) -> None:
    """Step the tail until its stream has nothing more (each step waits briefly on the server)."""
    while await tail.step():
        pass


def person_days(sdb, query: dict | None = None) -> list[dict]:
    """Every person-day (one row per project × day × person) of the project-days matching query."""
    return [row for doc in sdb.att_person_days.find(query or {}) for row in people_of(doc)]


def person_day(sdb, project_id: int, day: str, worker_no: int) -> dict | None:
    return next((row for row in person_days(sdb, {"project_id": project_id, "date": day})
                 if row["worker_no"] == worker_no), None)


def snapshot(sdb) -> tuple[list, list]:
    """Both rollups in comparable form: sets sorted (the fold promises no order), and a manager set
    emptied by a refile ($pull) reads like one never made — as every reader treats it."""
    people = sorted((f"{d['project_id']}|{d['date']}|{d['worker_no']}", d["first"], d["last"], sorted(d["punch_ids"]),
                     d["count"]) for d in person_days(sdb))
    projects = sorted((d["_id"], sorted(d["workers"]), {k: sorted(v) for k, v in (d.get("managers") or {}).items() if v},
                       d.get("stopped")) for d in sdb.att_project_days.find())
    return people, projects


def months_from_project_days(sdb) -> dict:
    """The month documents worked out here from the project-days, in comparable form."""
    months: dict = {}
    for d in sdb.att_project_days.find():
        doc = months.setdefault(f"{d['project_id']}|{d['date'][:7]}", {
            "project_id": d["project_id"], "month": d["date"][:7], "people": {}, "managers": {}, "stopped": {}})
        doc["people"][d["date"]] = len(d["workers"])
        doc["stopped"][d["date"]] = bool(d.get("stopped"))
        for post, workers in (d.get("managers") or {}).items():
            if workers:
                doc["managers"].setdefault(post, {})[d["date"]] = sorted(workers)
    return months


def stored_months(sdb) -> dict:
    """The month rollup as stored, in the same form (a post's days emptied by a refile read as none)."""
    out = {}
    for d in sdb.att_project_months.find({}, {"updated_at": 0}):
        managers = {post: {day: sorted(ws) for day, ws in by_day.items()}
                    for post, by_day in (d.get("managers") or {}).items() if by_day}
        key = d.pop("_id")
        out[key] = {**d, "managers": managers}
    return out
