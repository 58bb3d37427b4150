"""上传省厅结果查询 and the lists' 上传省厅 column: what the upload records say, for people.

- `summary`: per project, success and failure counts per record type (the guide's list: 企业基本信息,
  项目信息, 参建单位, 项目班组, 项目人员, 人员进退场, 人员考勤; we also send contracts: 人员合同).
- `records`: one project's records of a type and state, each with its name, reason and the portal page
  where it is fixed. A record edited there is marked again by the next pipeline pass (content hash
  changed → 待上传) and goes again.
- `throughput`: what the upload job's last passes stored — records (attendance: punches) per second and
  the backlog per kind and state — for the results page.
- `list_states`: 未上传 / 成功 / 失败 (with the reason) of units, teams and enterprises for their lists.
  Enterprises go to the platform inside their units (ProjectSubContractor carries the corp's fields):
  an enterprise is 成功 when any of its units was accepted, 失败 when one was refused and none accepted.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.site_clock import site_time_text
from . import jobs, people as people_store
from . import uploads
from .uploads import FAILED, FINAL, SENDING, SUBMITTED, SUCCEEDED, TO_SEND, items_of, upload_id

KIND_LABELS: dict[str, str] = {
    "enterprise": "企业基本信息", "project": "项目信息", "unit": "参建单位", "team": "项目班组", "worker": "项目人员",
    "entry_exit": "人员进退场", "contract": "人员合同", "attendance": "人员考勤",
}
RESULT_STATES = (FAILED, SUCCEEDED)
UPLOAD_JOB_NAME = "province_upload"   # the worker's job kind (server/workers/province_upload.py)
RECENT_PASSES = 10
RECORDS_LIMIT = 500

# The lists' short words (the project guide's 上传省厅 column).
NOT_SENT, LIST_OK, LIST_FAILED, LIST_SENDING = "未上传", "成功", "失败", "上传中"
LIST_WORD = {SUCCEEDED: LIST_OK, FAILED: LIST_FAILED, TO_SEND: LIST_SENDING, SENDING: LIST_SENDING,
             SUBMITTED: LIST_SENDING}


async def summary(db: AsyncDatabase, project_ids: Iterable[int]) -> dict[int, dict[str, dict[str, int]]]:
    """{project: {kind: {上传成功: n, 上传失败: n}}} over the final states (one aggregation)."""
    ids = sorted(set(project_ids))
    out: dict[int, dict[str, dict[str, int]]] = {pid: {} for pid in ids}
    if not ids:
        return out
    pipeline = [{"$match": {"project_id": {"$in": ids}, "state": {"$in": list(RESULT_STATES)}}},
                {"$group": {"_id": {"p": "$project_id", "k": "$kind", "s": "$state"}, "n": {"$sum": 1}}}]
    async for row in await db.uploads.aggregate(pipeline):
        key = row["_id"]
        if key["k"] != "attendance":   # counted per punch below, not per batch
            out[key["p"]].setdefault(key["k"], {})[key["s"]] = row["n"]
    for (pid, state), (n, refused) in (await uploads.punch_counts(db, RESULT_STATES, ids)).items():
        counts = out[pid].setdefault("attendance", {})
        for counted, m in uploads.punches_in(state, n, refused).items():
            counts[counted] = counts.get(counted, 0) + m
    return out


def recent_passes(previous: dict | None, summary: dict, at: dt.datetime) -> list[dict]:
    """The job's result keeps its last passes' figures, newest first, so the page shows a rate over several."""
    kept = (previous or {}).get("recent", [])[:RECENT_PASSES - 1]
    return [{"at": at, "seconds": summary["seconds"], "sent": summary["sent"]}, *kept]


async def throughput(db: AsyncDatabase) -> dict:
    """{passes: 0} before the upload job ran a pass; else the last pass's and the recent passes' rates
    (records sent per second, attendance in punches) and the backlog it left, per kind and state."""
    job = await jobs.get(db, jobs.periodic_id(UPLOAD_JOB_NAME))
    result = (job or {}).get("result") or {}
    if "sent" not in result:   # never ran, or off (no platform address)
        return {"passes": 0, "skipped": result.get("skipped", "")}
    recent = result.get("recent", [])
    sent, seconds = sum(r["sent"] for r in recent), sum(r["seconds"] for r in recent)
    return {"passes": len(recent), "at": job.get("finished_at"), "last_sent": result["sent"], "last_rate": result["rate"],
            "recent_sent": sent, "recent_seconds": round(seconds, 3),
            "recent_rate": round(sent / seconds, 1) if seconds else 0.0,
            "backlog": result["backlog"], "backlog_by_kind": result["backlog_by_kind"]}


def failures_of(counts: dict[str, dict[str, int]]) -> int:
    return sum(c.get(FAILED, 0) for c in counts.values())


async def backlog(db: AsyncDatabase, project_ids: Iterable[int]) -> int:
    """Records still on their way (待上传, 上传中, 已提交待回执) of these projects, attendance in punches."""
    ids, on_the_way = sorted(set(project_ids)), [TO_SEND, SENDING, SUBMITTED]
    records_ = await db.uploads.count_documents({"project_id": {"$in": ids}, "state": {"$in": on_the_way},
                                                 "kind": {"$ne": "attendance"}})
    return records_ + sum(n for n, _refused in (await uploads.punch_counts(db, on_the_way, ids)).values())


async def _names(db: AsyncDatabase, project_id: int, docs: list[dict]) -> dict[str, tuple[str, str]]:
    """upload id → (what the record is, the portal page where it is fixed)."""
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    out: dict[str, tuple[str, str]] = {}

    def oids(kind: str, part=lambda d: d["entity_id"]) -> list[ObjectId]:
        # Entity ids are kept as text; a malformed one names no record rather than failing the page.
        return [ObjectId(part(d)) for d in by_kind.get(kind, []) if ObjectId.is_valid(part(d))]

    def roster_of(d: dict) -> str:
        return d["entity_id"].split(":")[0]
    units = {u["_id"]: u async for u in db.units.find({"_id": {"$in": oids("unit")}}, {"enterprise_name": 1})}
    for d in by_kind.get("unit", []):
        unit = units.get(ObjectId(d["entity_id"]), {})
        out[d["_id"]] = (unit.get("enterprise_name", "（已删除）"), f"/units/{d['entity_id']}")
    teams = {t["_id"]: t async for t in db.teams.find({"_id": {"$in": oids("team")}}, {"name": 1})}
    for d in by_kind.get("team", []):
        out[d["_id"]] = (teams.get(ObjectId(d["entity_id"]), {}).get("name", "（已删除）"), f"/teams/{d['entity_id']}")
    entries = {e["_id"]: e async for e in db.roster.find({"_id": {"$in": oids("entry_exit", roster_of)}},
                                                        {"worker_no": 1, "entry_date": 1, "exit_date": 1})}
    contracts = {c["_id"]: c async for c in db.contracts.find({"_id": {"$in": oids("contract")}}, {"worker_no": 1})}

    def worker_of(d: dict) -> int | None:
        if d["kind"] == "worker":
            return int(d["entity_id"].split(":")[1])
        if d["kind"] == "entry_exit":
            return entries.get(ObjectId(roster_of(d)), {}).get("worker_no") if ObjectId.is_valid(roster_of(d)) else None
        if d["kind"] == "contract":
            return contracts.get(ObjectId(d["entity_id"]), {}).get("worker_no") if ObjectId.is_valid(d["entity_id"]) else None
        if d["kind"] == "attendance":   # one row per punch of a batch (attendance_rows)
            return d["item"]["worker_no"]
        return None
    workers = {d["_id"]: worker_of(d) for d in docs}
    people = await people_store.by_worker_nos(db, [n for n in workers.values() if n is not None], ("name",))
    for d in docs:
        n = workers[d["_id"]]
        if n is None:
            out.setdefault(d["_id"], (d["entity_id"], ""))
            continue
        who = f"{people.get(n, {}).get('name', '')}（工号 {n}）"
        if d["kind"] == "worker":
            out[d["_id"]] = (who, f"/people/{n}")
        elif d["kind"] == "entry_exit":
            out[d["_id"]] = (f"{who} {'进场' if d['entity_id'].endswith(':in') else '退场'}", f"/roster?project={project_id}")
        elif d["kind"] == "contract":
            out[d["_id"]] = (f"{who} 劳动合同", f"/contracts?project={project_id}")
        else:
            moment = d["item"].get("time")
            when = site_time_text(moment) if isinstance(moment, dt.datetime) else ""
            out[d["_id"]] = (f"{who} {when}".strip(), f"/attendance?project={project_id}")
    return out


def attendance_rows(batch: dict, state: str) -> list[dict]:
    """One attendance batch as its punches, each in its own state (in a final batch: refused or accepted)."""
    refused = {r["punch_id"]: r["reason"] for r in batch.get("refused", [])}
    rows = []
    for item in items_of(batch):
        own = batch["state"] if batch["state"] not in FINAL else FAILED if item["punch_id"] in refused else SUCCEEDED
        if state and own != state:
            continue
        rows.append({**batch, "_id": upload_id("attendance", item["punch_id"]), "entity_id": item["punch_id"],
                     "batch": batch["_id"], "item": item, "state": own, "reason": refused.get(item["punch_id"], "")})
    return rows


async def records(db: AsyncDatabase, project_id: int, *, kind: str = "", state: str = FAILED,
                  limit: int = RECORDS_LIMIT) -> list[dict]:
    """One project's upload records of a type (all types when empty) in a state, newest change first."""
    query: dict = {"project_id": project_id}
    if state:
        query["state"] = state
    docs = []
    if kind != "attendance":
        plain = {**query, "kind": kind} if kind else {**query, "kind": {"$ne": "attendance"}}
        docs = [d async for d in db.uploads.find(plain, {"history": {"$slice": -5}}).sort("updated_at", -1).limit(limit)]
    if kind in ("", "attendance"):
        # A refused batch (上传失败) holds accepted punches too: the 上传成功 list reads those batches as well.
        batches = {**query, "kind": "attendance"}
        if state == SUCCEEDED:
            batches["state"] = {"$in": list(FINAL)}
        found = db.uploads.find(batches, {"history": {"$slice": -5}}).sort("updated_at", -1)
        async for batch in found:
            docs += attendance_rows(batch, state)
            if len(docs) >= 2 * limit:
                break
        docs = sorted(docs, key=lambda d: d["updated_at"], reverse=True)[:limit]
    names = await _names(db, project_id, docs)
    return [{"id": d["_id"], "kind": d["kind"], "kind_label": KIND_LABELS.get(d["kind"], d["kind"]),
             "name": names.get(d["_id"], (d["entity_id"], ""))[0], "fix_url": names.get(d["_id"], ("", ""))[1],
             "state": d["state"], "reason": d.get("reason", ""), "operation": d.get("operation", "add"),
             **({"batch": d["batch"]} if "batch" in d else {}),
             "attempts": d.get("attempts", 0), "updated_at": d.get("updated_at"),
             "history": [{"at": h["at"], "state": h["state"], "note": h.get("note", "")} for h in d.get("history", [])]}
            for d in docs]


def list_word(doc: dict | None) -> tuple[str, str]:
    """(未上传 / 成功 / 失败 / 上传中, the reason when refused) of one upload record."""
    if doc is None:
        return NOT_SENT, ""
    return LIST_WORD.get(doc["state"], NOT_SENT), doc.get("reason", "") if doc["state"] == FAILED else ""


async def list_states(db: AsyncDatabase, kind: str, entity_ids: Iterable) -> dict[str, tuple[str, str]]:
    """entity id (as text) → list_word, for units or teams."""
    ids = [upload_id(kind, e) for e in entity_ids]
    found = {d["entity_id"]: d async for d in db.uploads.find({"_id": {"$in": ids}}, {"state": 1, "reason": 1, "entity_id": 1})}
    return {i.split(":", 1)[1]: list_word(found.get(i.split(":", 1)[1])) for i in ids}


async def enterprise_states(db: AsyncDatabase, enterprise_ids: Iterable[ObjectId]) -> dict[str, tuple[str, str]]:
    """enterprise id (as text) → its 上传省厅 word, read from the upload records of its units."""
    ids = list(enterprise_ids)
    unit_of = {u["_id"]: u["enterprise_id"] async for u in db.units.find({"enterprise_id": {"$in": ids}}, {"enterprise_id": 1})}
    states: dict = {}
    async for d in db.uploads.find({"_id": {"$in": [upload_id("unit", u) for u in unit_of]}}, {"state": 1, "reason": 1, "entity_id": 1}):
        states.setdefault(unit_of[ObjectId(d["entity_id"])], []).append(d)
    out = {}
    for e in ids:
        docs = states.get(e, [])
        ok = [d for d in docs if d["state"] == SUCCEEDED]
        refused = [d for d in docs if d["state"] == FAILED]
        out[str(e)] = list_word(ok[0] if ok else refused[0] if refused else docs[0] if docs else None)
    return out
