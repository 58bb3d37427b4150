"""项目合格 of many projects at once: the facts read from projects, units, teams, roster and upload records.

The rule itself is server/domain/qualification.py. A few reads per call whatever the number of
projects (the library and the statistics ask for a county's projects at a time).
"""
from __future__ import annotations

from typing import Iterable

from pymongo.asynchronous.database import AsyncDatabase

from ..domain import vocabulary
from ..domain.qualification import Facts, Record, qualify
from .roster import CURRENT
from .uploads import SUCCEEDED, upload_id

KINDS = ("project", "unit", "team", "worker")


def _queries(ids: list[int]) -> dict[str, tuple[dict, dict]]:
    """collection → (filter, projection): what the rule needs, read the same way by either driver."""
    return {"uploads": ({"project_id": {"$in": ids}, "kind": {"$in": list(KINDS)}}, {"state": 1, "reason": 1}),
            "projects": ({"_id": {"$in": ids}}, {"province": 1}),
            "units": ({"project_id": {"$in": ids}}, {"project_id": 1, "enterprise_name": 1, "unit_type": 1}),
            "teams": ({"project_id": {"$in": ids}, "exit_date": None}, {"project_id": 1, "name": 1}),
            "roster": ({"project_id": {"$in": ids}, **CURRENT}, {"project_id": 1, "worker_no": 1})}


def _record(name: str, doc: dict | None) -> Record:
    return Record(name, doc["state"], doc.get("reason", "")) if doc else Record(name, None)


def _facts_from(ids: list[int], found: dict[str, list[dict]]) -> dict[int, Facts]:
    states = {d["_id"]: d for d in found["uploads"]}
    creds = {p["_id"]: bool((p.get("province") or {}).get("appid")) for p in found["projects"]}
    units: dict[int, list[Record]] = {}
    contractor: dict[int, Record] = {}
    for u in found["units"]:
        record = _record(u.get("enterprise_name", ""), states.get(upload_id("unit", u["_id"])))
        units.setdefault(u["project_id"], []).append(record)
        if u.get("unit_type") == vocabulary.GENERAL_CONTRACTOR and not contractor.get(u["project_id"], Record("", None)).ok:
            contractor[u["project_id"]] = record
    teams: dict[int, list[Record]] = {}
    for t in found["teams"]:
        teams.setdefault(t["project_id"], []).append(_record(t["name"], states.get(upload_id("team", t["_id"]))))
    current: dict[int, set[int]] = {}
    for e in found["roster"]:
        current.setdefault(e["project_id"], set()).add(e["worker_no"])
    out = {}
    for pid in ids:
        if pid not in creds:
            continue
        workers = current.get(pid, set())
        succeeded = sum(1 for n in workers if (states.get(upload_id("worker", pid, n)) or {}).get("state") == SUCCEEDED)
        project_doc = states.get(upload_id("project", pid))
        out[pid] = Facts(has_credentials=creds[pid], general_contractor=contractor.get(pid),
                         units=tuple(units.get(pid, ())), teams_in_site=tuple(teams.get(pid, ())),
                         workers_succeeded=succeeded, workers_current=len(workers),
                         project_record=_record("项目信息", project_doc) if project_doc else None)
    return out


async def facts(db: AsyncDatabase, project_ids: Iterable[int]) -> dict[int, Facts]:
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    found = {name: [d async for d in db[name].find(query, projection)]
             for name, (query, projection) in _queries(ids).items()}
    return _facts_from(ids, found)


def qualified_ids_sync(db, project_ids: Iterable[int], *, worker_share: float = 100.0) -> set[int]:
    """qualified_ids for readers on PyMongo's synchronous client (the dashboards' data module)."""
    ids = sorted(set(project_ids))
    found = {name: list(db[name].find(query, projection)) for name, (query, projection) in _queries(ids).items()}
    return {pid for pid, f in _facts_from(ids, found).items() if qualify(f, worker_share_required=worker_share)[0]}


async def qualification(db: AsyncDatabase, project_ids: Iterable[int], *,
                        worker_share: float = 100.0) -> dict[int, tuple[bool, list[str]]]:
    """{project id: (qualified, reasons in Chinese)} of the projects that exist among `project_ids`."""
    return {pid: qualify(f, worker_share_required=worker_share) for pid, f in (await facts(db, project_ids)).items()}


async def qualified_ids(db: AsyncDatabase, project_ids: Iterable[int], *, worker_share: float = 100.0) -> set[int]:
    """The qualified ones (the statistics' 上传成功项目数)."""
    return {pid for pid, (ok, _) in (await qualification(db, project_ids, worker_share=worker_share)).items() if ok}


async def attach(db: AsyncDatabase, projects: list[dict], *, worker_share: float = 100.0) -> list[dict]:
    """Each project document gets `_qualified` and `_qualification_reasons` (projects.view shows them)."""
    found = await qualification(db, [p["_id"] for p in projects], worker_share=worker_share)
    for p in projects:
        p["_qualified"], p["_qualification_reasons"] = found.get(p["_id"], (False, []))
    return projects
