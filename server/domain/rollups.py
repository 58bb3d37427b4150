"""Attendance rollups: what one fold of punches adds, and the rates the dashboards derive. No I/O.

Two rollups, both folded so that a punch folded twice changes nothing (re-sent offline buffers, a
tail restarted from an older resume token, a rebuild over days already folded):
- per project × site day × person: first and last punch (min / max device time), the set of punch
  ids and its size (`count`) — kept as one document per project × site day holding every person
  who punched (`people`, keyed by worker number): the embedded server writes ~1,000 small documents
  a second, so a fold batch must cost writes per project-day, never per person;
- per project × site day: the set of people who punched, and per manager job the people entered in
  that job that day who punched (the key posts — 项目经理, 技术负责人, 安全员 of the general
  contractor, 总监理工程师 of the supervising unit — are read from it), and whether the day is 停工.
Sets grow by union and min / max are idempotent, so folding is order-free as well: the incremental
tail and a rebuild from raw punches end in the same documents.

Definitions (domain.md, "Definitions the source leaves open"): a person attended on a day when the
platform holds at least one non-test punch of that person on that project that site-local day; the
site day is the punch's device time in site time (the gateway stores it as `date`), so a device
whose clock ran late files its punches under the day it says, and 23:59:59 and 00:00:00 are two days.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from . import vocabulary
from .site_clock import site_day

KEY_POSTS: tuple[str, ...] = (vocabulary.PROJECT_MANAGER, vocabulary.TECHNICAL_LEAD, vocabulary.SAFETY_OFFICER, vocabulary.CHIEF_SUPERVISOR)


def project_day_id(project_id: int, day: str) -> str:
    return f"{project_id}|{day}"


def counts(punch: dict) -> bool:
    """Test-environment punches (devices in 测试环境) never count."""
    return not punch.get("test", False)


def day_key(value: dt.datetime | None) -> str | None:
    """A stored datetime (site midnight for roster dates, read back in UTC) as its site day's key, YYYY-MM-DD."""
    day = site_day(value)
    return day.isoformat() if day is not None else None


def holds_on(entry: dict, day: str) -> bool:
    """A roster entry covers a day from its entry day up to, not including, its exit day
    (在场 = entered and not exited that day)."""
    return span_holds(day_key(entry.get("entry_date")), day_key(entry.get("exit_date")), day)


def span_holds(entry_day: str | None, exit_day: str | None, day: str) -> bool:
    return entry_day is not None and entry_day <= day and (exit_day is None or day < exit_day)


class Fold:
    """What a batch of punches adds to both rollups, grouped so each document is written once."""

    def __init__(self) -> None:
        self.person_days: dict[str, dict] = {}    # project-day key → its people's figures
        self.project_days: dict[str, dict] = {}

    def add(self, punch: dict, manager_jobs: Iterable[str] = ()) -> None:
        """`manager_jobs`: the manager jobs the punching person was entered in on that project that day."""
        if not counts(punch):
            return
        pid, day, worker, moment = punch["project_id"], punch["date"], punch["worker_no"], punch["device_time"]
        key = project_day_id(pid, day)
        people = self.person_days.setdefault(key, {"project_id": pid, "date": day, "people": {}})["people"]
        person = people.setdefault(worker, {"first": moment, "last": moment, "ids": set()})
        person["first"], person["last"] = min(person["first"], moment), max(person["last"], moment)
        person["ids"].add(punch["_id"])
        project = self.project_days.setdefault(key, {
            "project_id": pid, "date": day, "workers": set(), "managers": {}, "ids": set()})
        project["workers"].add(worker)
        project["ids"].add(punch["_id"])
        for job in manager_jobs:
            project["managers"].setdefault(job, set()).add(worker)

    def __bool__(self) -> bool:
        return bool(self.person_days)


def person_key(worker_no: int) -> str:
    """A person's field in their day's `people`: the worker number as text (a document's keys are text)."""
    return str(worker_no)


def person_day_document(key: str, doc: dict, now: dt.datetime) -> dict:
    """The project-day's people as folding them into nothing yields."""
    people = {}
    for worker, person in doc["people"].items():
        ids = sorted(person["ids"])
        people[person_key(worker)] = {"first": person["first"], "last": person["last"], "punch_ids": ids, "count": len(ids)}
    return {"_id": key, "project_id": doc["project_id"], "date": doc["date"], "people": people, "updated_at": now}


def merge_person_days(stored: dict, new: dict) -> dict:
    """A stored project-day of people with a batch's folded in: per person min / max of the times,
    the union of punch ids and its size. Folding the same again changes nothing."""
    people = {worker: dict(figures) for worker, figures in (stored.get("people") or {}).items()}
    for worker, figures in new["people"].items():
        held = people.get(worker)
        if held is None:
            people[worker] = dict(figures)
            continue
        ids = sorted(set(held["punch_ids"]) | set(figures["punch_ids"]))
        people[worker] = {"first": min(held["first"], figures["first"]), "last": max(held["last"], figures["last"]),
                          "punch_ids": ids, "count": len(ids)}
    return {**new, "people": people}


def people_of(doc: dict) -> list[dict]:
    """A stored project-day of people as one row per person (project_id, date, worker_no, first, last,
    punch_ids, count): what a reader of per-person figures works with."""
    return [{"project_id": doc["project_id"], "date": doc["date"], "worker_no": int(worker), **figures}
            for worker, figures in (doc.get("people") or {}).items()]


def project_day_document(key: str, doc: dict, stopped: bool, now: dt.datetime) -> dict:
    # The day's punch ids too, so that 首页's punch count reads one document per project, not per person.
    # updated_at on every write: rollups derived from project-days follow that watermark.
    return {"_id": key, "project_id": doc["project_id"], "date": doc["date"], "workers": sorted(doc["workers"]),
            "managers": {job: sorted(workers) for job, workers in doc["managers"].items()}, "stopped": stopped,
            "punch_ids": sorted(doc["ids"]), "updated_at": now}


def merge_project_days(stored: dict, new: dict) -> dict:
    """A stored project-day with a batch's folded in: unions of people, punch ids and each post's
    holders; 停工 as the batch found it (the project's periods as they are now)."""
    def union(a, b):
        return sorted(set(a or ()) | set(b or ()))
    managers = dict(stored.get("managers") or {})
    for job, workers in new["managers"].items():
        managers[job] = union(managers.get(job), workers)
    return {**new, "workers": union(stored.get("workers"), new["workers"]),
            "punch_ids": union(stored.get("punch_ids"), new["punch_ids"]), "managers": managers}


def posts_on_duty(project_day: dict | None) -> dict[str, bool]:
    """For each key post: whether somebody entered in it that day punched."""
    managers = (project_day or {}).get("managers") or {}
    return {post: bool(managers.get(post)) for post in KEY_POSTS}


# --- status and rates --------------------------------------------------------------------------

def status_on(project: dict, day: str) -> str | None:
    """The project's status on a day from its dated history; None before it was registered."""
    history = [h for h in project.get("status_history") or [] if h.get("date")]
    if not history:
        return project.get("status")
    status = None
    for change in sorted(history, key=lambda h: h["date"]):
        if change["date"] <= day:
            status = change["status"]
    return status


def ratio(numerator: float, denominator: float) -> float:
    """A share, 0 when there is nothing to share (the guide shows 0.00% for a supplier with no project)."""
    return numerator / denominator if denominator else 0.0


def percent(numerator: float, denominator: float) -> str:
    """Two decimals, rounded half up as people do by hand: 28 of 31 → 90.32%."""
    value = ratio(numerator, denominator) * 100
    return f"{int(value * 100 + 0.5 + 1e-9) / 100:.2f}%"


def days_between(first: dt.date, last: dt.date) -> list[str]:
    out, day = [], first
    while day <= last:
        out.append(day.isoformat())
        day += dt.timedelta(days=1)
    return out
