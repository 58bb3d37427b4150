"""Labour contracts (合同管理): one per registration, with one PDF scan kept in the database.

Rules (项目指引 2.9, domain.md "contract"):
- Only a person who is or was entered on the project (花名册) gets a contract there; the signing
  enterprise (合同签订企业) is the enterprise of the unit the person entered with — the latest entry.
- Expiry after effective; 无固定期限 contracts may leave the expiry empty, the other term types
  must state it.
- The scan is a PDF (checked by content by the handler), kept in `contract_files`, never on disk;
  a replaced scan stays in `contract_files` and in the contract's `scan_history`, because a
  contract scan is evidence in a wage dispute.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from bson import Binary, ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from ..domain import vocabulary
from ..domain.rules import NotFound, RuleError
from ..domain.site_clock import site_day
from . import roster
from .db import utcnow
from .fields import at_site_midnight as _midnight

TERM_TYPES = vocabulary.CONTRACT_TERM_TYPES
OPEN_ENDED = vocabulary.OPEN_ENDED_TERM
PAY_UNITS = ("按月", "按天", "按小时", "按工程量")
MAX_UNIT_PRICE = 1_000_000  # 元 per unit: far above any wage, low enough to catch a typo in 分
# "Expiring" in the list: expiry within this many days from today (and not yet past).
EXPIRING_DAYS = 30


def check_terms(*, effective: dt.date, expiry: dt.date | None, term_type: str, pay_unit: str,
                unit_price) -> float:
    """Raise RuleError naming the field unless the terms hold; returns the price as a number."""
    if term_type not in TERM_TYPES:
        raise RuleError("term_type", f"合同期限类型须为 {'、'.join(TERM_TYPES)} 之一")
    if expiry is None and term_type != OPEN_ENDED:
        raise RuleError("expiry_date", f"{term_type}合同须填写合同失效日期")
    if expiry is not None and expiry <= effective:
        raise RuleError("expiry_date", "合同失效日期须晚于合同生效日期")
    if pay_unit not in PAY_UNITS:
        raise RuleError("pay_unit", f"计量单位须为 {'、'.join(PAY_UNITS)} 之一")
    if isinstance(unit_price, bool) or not isinstance(unit_price, (int, float)):
        raise RuleError("unit_price", "计量单价须为数字")
    if not 0 < unit_price <= MAX_UNIT_PRICE or unit_price != unit_price:
        raise RuleError("unit_price", f"计量单价须大于 0 且不超过 {MAX_UNIT_PRICE} 元")
    if round(unit_price, 2) != unit_price:
        raise RuleError("unit_price", "计量单价最多两位小数")
    return float(unit_price)


async def _latest_entry(db: AsyncDatabase, project_id: int, person_id) -> dict | None:
    # By person (the career index answers it exactly); a person's entries are few.
    entries = [e async for e in db.roster.find(roster.person_entries_query(person_id), {"project_id": 1, "unit_id": 1,
                                                                         "entry_date": 1})]
    entries = [e for e in entries if e["project_id"] == project_id]
    return max(entries, key=lambda e: e["entry_date"]) if entries else None


def _file_doc(data: bytes, actor: str) -> dict:
    return {"_id": ObjectId(), "data": Binary(data), "size": len(data), "kind": "pdf",
            "sha256": hashlib.sha256(data).hexdigest(), "uploaded_by": actor, "created_at": utcnow()}


async def register(db: AsyncDatabase, *, project: dict, worker_no: int, effective: dt.date, expiry: dt.date | None,
                   term_type: str, pay_unit: str, unit_price, scan: bytes, actor: str) -> dict:
    price = check_terms(effective=effective, expiry=expiry, term_type=term_type, pay_unit=pay_unit,
                        unit_price=unit_price)
    person = await db.people.find_one({"worker_no": worker_no}, {"name": 1, "id_number": 1})
    if person is None:
        raise RuleError("worker_no", "人员库中不存在该人员")
    entry = await _latest_entry(db, project["_id"], person["_id"])
    if entry is None:
        raise RuleError("worker_no", "该人员未在本项目进场，不能登记合同")
    unit = await db.units.find_one({"_id": entry["unit_id"]}, {"enterprise_id": 1, "enterprise_name": 1})
    if unit is None:
        raise RuleError("worker_no", "该人员所在参建单位不存在")
    file = _file_doc(scan, actor)
    await db.contract_files.insert_one(file)
    now = utcnow()
    doc = {"project_id": project["_id"], "project_name": project.get("name", ""), "worker_no": worker_no,
           "person_id": person["_id"], "name": person.get("name", ""), "unit_id": unit["_id"],
           "enterprise_id": unit.get("enterprise_id"), "enterprise_name": unit.get("enterprise_name", ""),
           "effective_date": _midnight(effective), "expiry_date": _midnight(expiry) if expiry else None,
           "term_type": term_type, "pay_unit": pay_unit, "unit_price": price,
           "file_id": file["_id"], "file_size": file["size"], "scan_history": [],
           "created_by": actor, "created_at": now, "updated_at": now}
    doc["_id"] = (await db.contracts.insert_one(doc)).inserted_id
    await db.contract_files.update_one({"_id": file["_id"]}, {"$set": {"contract_id": doc["_id"]}})
    return doc


async def replace_scan(db: AsyncDatabase, contract: dict, scan: bytes, actor: str) -> dict:
    file = _file_doc(scan, actor)
    file["contract_id"] = contract["_id"]
    await db.contract_files.insert_one(file)
    now = utcnow()
    previous = {"file_id": contract["file_id"], "size": contract.get("file_size", 0), "replaced_at": now,
                "replaced_by": actor}
    return await db.contracts.find_one_and_update(
        {"_id": contract["_id"]},
        {"$set": {"file_id": file["_id"], "file_size": file["size"], "updated_at": now},
         "$push": {"scan_history": previous}}, return_document=True)


async def get(db: AsyncDatabase, contract_id: str) -> dict | None:
    if not ObjectId.is_valid(contract_id):
        return None
    return await db.contracts.find_one({"_id": ObjectId(contract_id)})


async def scan_bytes(db: AsyncDatabase, contract: dict) -> bytes:
    file = await db.contract_files.find_one({"_id": contract["file_id"]}, {"data": 1})
    if file is None:
        raise NotFound("scan", "合同扫描件不存在")
    return bytes(file["data"])


def state(contract: dict, today: dt.date) -> str:
    """未生效 / 有效 / 即将到期 / 已到期, for the list and the expiring filter."""
    effective, expiry = site_day(contract["effective_date"]), site_day(contract.get("expiry_date"))
    if today < effective:
        return "未生效"
    if expiry is not None and today >= expiry:
        return "已到期"
    if expiry is not None and (expiry - today).days <= EXPIRING_DAYS:
        return "即将到期"
    return "有效"


def project_query(project_id: int, worker_no: int | None = None) -> tuple[dict, list]:
    # Filters on the index prefix (project_id[, worker_no]); name and expiry are sifted by the
    # caller, as a project's contracts are few and the embedded planner would scan on any other predicate.
    query: dict = {"project_id": project_id}
    if worker_no is not None:
        query["worker_no"] = worker_no
    return query, [("updated_at", -1)]


def person_query(worker_no: int) -> tuple[dict, list]:
    return {"worker_no": worker_no}, [("updated_at", -1)]


async def for_project(db: AsyncDatabase, project_id: int, *, name: str = "", worker_no: int | None = None,
                      expiring: bool = False, today: dt.date) -> list[dict]:
    query, sort = project_query(project_id, worker_no)
    rows = [c async for c in db.contracts.find(query).sort(sort)]
    if name:
        rows = [c for c in rows if name in c.get("name", "")]
    if expiring:
        rows = [c for c in rows if state(c, today) == "即将到期"]
    return rows


async def for_person(db: AsyncDatabase, worker_no: int) -> list[dict]:
    query, sort = person_query(worker_no)
    return [c async for c in db.contracts.find(query).sort(sort)]
