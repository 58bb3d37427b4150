"""From our records to the platform's payloads, and the order they must go in. Pure: no database, no network.

Every ID number is encrypted with the project's secret (``signing.encrypt``); every date is the site's
(China) calendar day. The dependency order is the platform's: a team needs its unit, a worker needs the
``teamSysNo`` the platform gave the team, entry/exit, contracts and attendance need the worker.

Attendance direction: our devices report no direction (848 carries a recognition mode), so the first
punch of a worker's site day is 01 进 and every later punch that day 02 出.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
from typing import Iterable

from ..domain import vocabulary
from ..domain.site_clock import site_day, site_time_text
from . import codes, signing

# Upload kinds, dependency order first. A kind waits until what it depends on has succeeded.
ORDER: tuple[str, ...] = ("enterprise", "project", "unit", "team", "worker", "entry_exit", "contract", "attendance")
DEPENDS_ON: dict[str, tuple[str, ...]] = {
    "enterprise": (), "project": (), "unit": ("project", "enterprise"), "team": ("unit",), "worker": ("team",),
    "entry_exit": ("worker",), "contract": ("worker",), "attendance": ("worker",),
}


def rank(kind: str) -> int:
    return ORDER.index(kind)


def day_text(value: dt.datetime | dt.date | None) -> str | None:
    """The platform's yyyy-MM-dd of a stored date (a moment counts by its site day)."""
    if isinstance(value, dt.datetime):
        value = site_day(value)
    return value.strftime("%Y-%m-%d") if value is not None else None


def content_hash(payload: dict) -> str:
    """What a record looked like when sent: a different hash after success means "send as an update"."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _without_none(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if v not in (None, "")}


def unit_payload(project_code: str, unit: dict, enterprise: dict, secret: str) -> dict:
    number = unit.get("manager_id_number") or ""
    return _without_none({
        "projectCode": project_code, "corpCode": enterprise["credit_code"], "corpName": enterprise["name"],
        "corpType": codes.corp_type(unit["unit_type"]),
        "entryTime": day_text(unit.get("entry_date") or unit["created_at"]), "exitTime": day_text(unit.get("exit_date")),
        "pmName": unit.get("manager_name"), "pmPhone": unit.get("manager_phone"),
        "pmIDCardType": codes.ID_CARD_TYPE_RESIDENT if number else None,
        "pmIDCardNumber": signing.encrypt(number, secret) if number else None,
    })


def team_payload(project_code: str, team: dict, enterprise: dict, *, team_sys_no: int | None = None) -> dict:
    """``team_sys_no`` given: the Update form of a team the platform already has."""
    return _without_none({
        "projectCode": project_code, "corpCode": enterprise["credit_code"], "corpName": enterprise["name"],
        "teamSysNo": team_sys_no, "teamName": team["name"],
        "entryTime": day_text(team.get("entry_date") or team["created_at"]), "exitTime": day_text(team.get("exit_date")),
    })


def work_role(entry: dict) -> str:
    return codes.WORK_ROLE_MANAGER if vocabulary.is_manager_job(entry["job"]) else codes.WORK_ROLE_WORKER


def worker_payload(project_code: str, entry: dict, person: dict, enterprise: dict, team_sys_no: int,
                   head_image: bytes, secret: str) -> dict:
    return {"projectCode": project_code, "corpCode": enterprise["credit_code"], "corpName": enterprise["name"],
            "teamSysNo": team_sys_no,
            "workerList": [_without_none({
                "workerName": person["name"], "isTeamLeader": 1 if entry.get("team_leader") else 0,
                "idCardType": codes.ID_CARD_TYPE_RESIDENT, "idCardNumber": signing.encrypt(person["id_number"], secret),
                "workType": entry["job"], "workRole": work_role(entry), "nation": person.get("nation"),
                "gender": person.get("sex"), "address": person.get("address"),
                "headImage": base64.b64encode(head_image).decode("ascii") if head_image else None,
            })]}


def entry_exit_events(entry: dict) -> list[tuple[str, str, str]]:
    """(upload id suffix, type, date) of a roster entry: its entry, and its exit once it has one."""
    events = [("in", codes.ENTRY, day_text(entry["entry_date"]))]
    if entry.get("exit_date"):
        events.append(("out", codes.EXIT, day_text(entry["exit_date"])))
    return events


def entry_exit_payload(project_code: str, person: dict, enterprise: dict, team_sys_no: int, event_type: str,
                       day: str, secret: str) -> dict:
    return {"projectCode": project_code, "corpCode": enterprise["credit_code"], "corpName": enterprise["name"],
            "teamSysNo": team_sys_no,
            "dataList": [{"idCardType": codes.ID_CARD_TYPE_RESIDENT,
                          "idCardNumber": signing.encrypt(person["id_number"], secret),
                          "date": day, "type": event_type}]}


def contract_payload(project_code: str, contract: dict, person: dict, enterprise: dict, secret: str) -> dict:
    return {"projectCode": project_code, "contractList": [_without_none({
        "corpCode": enterprise["credit_code"], "corpName": enterprise["name"],
        "idCardType": codes.ID_CARD_TYPE_RESIDENT, "idCardNumber": signing.encrypt(person["id_number"], secret),
        "contractPeriodType": codes.CONTRACT_PERIOD_BY_TERM[contract["term_type"]],
        "startDate": day_text(contract["effective_date"]), "endDate": day_text(contract.get("expiry_date")),
        "signDate": day_text(contract.get("created_at")),
        "unit": codes.PAY_UNIT_CODES.get(contract["pay_unit"], codes.PAY_UNIT_OTHER),
        "unitPrice": contract["unit_price"],
    })]}


def directions(punches: Iterable[dict]) -> dict[str, str]:
    """Punch id → direction: the first punch of a worker's site day 01 进, later ones 02 出."""
    out: dict[str, str] = {}
    ordered = sorted(punches, key=lambda p: (p["worker_no"], p["date"], p["device_time"], p["_id"]))
    for _, day in itertools.groupby(ordered, key=lambda p: (p["worker_no"], p["date"])):
        for n, punch in enumerate(day):
            out[punch["_id"]] = codes.DIRECTION_IN if n == 0 else codes.DIRECTION_OUT
    return out


def attendance_batches(project_code: str, punches: list[dict], people: dict[int, dict], team_sys_nos: dict[int, int],
                       direction_of: dict[str, str], secret: str, batch_size: int) -> list[tuple[dict, list[str]]]:
    """(payload, punch ids in its dataList order) per batch of at most batch_size punches of one team.

    Test-environment punches are never sent; a punch of a worker without a teamSysNo waits (left out).
    """
    sendable = [p for p in punches if not p.get("test") and p["worker_no"] in team_sys_nos and p["worker_no"] in people]
    sendable.sort(key=lambda p: (team_sys_nos[p["worker_no"]], p["device_time"], p["_id"]))
    batches = []
    for team_sys_no, group in itertools.groupby(sendable, key=lambda p: team_sys_nos[p["worker_no"]]):
        group = list(group)
        for start in range(0, len(group), batch_size):
            chunk = group[start:start + batch_size]
            items = [{"worker_no": p["worker_no"], "time": p["device_time"], "direction": direction_of[p["_id"]]}
                     for p in chunk]
            cards = id_cards(people, {p["worker_no"] for p in chunk}, secret)
            batches.append((attendance_payload(project_code, team_sys_no, items, cards), [p["_id"] for p in chunk]))
    return batches


def id_cards(people: dict[int, dict], worker_nos: Iterable[int], secret: str) -> dict[int, str]:
    """worker no → their encrypted ID number (once per worker, however many of their punches go)."""
    return {n: signing.encrypt(people[n]["id_number"], secret) for n in worker_nos}


def attendance_payload(project_code: str, team_sys_no: int, items: list[dict], id_card_of: dict[int, str]) -> dict:
    """One WorkerAttendance.Add of one team: items {worker_no, time, direction} in their dataList order;
    id_card_of: worker no → encrypted ID number (id_cards)."""
    return {"projectCode": project_code, "teamSysNo": team_sys_no, "dataList": [
        {"idCardType": codes.ID_CARD_TYPE_RESIDENT, "idCardNumber": id_card_of[item["worker_no"]],
         "date": site_time_text(item["time"]), "direction": item["direction"]} for item in items]}
