"""批量人员进场: the Excel template, reading an upload, and the import job that enters every valid row.

Every row is either entered (creating the person in the person library when the ID number is
new) or reported back with its Excel row number, the column and the reason: nothing is dropped
silently. The upload is read (and a broken workbook refused) before the job starts; the job then
works in chunks — one lookup of the chunk's people, one insert of its new people, one of its
entries — and records progress in `import_jobs` after each chunk for the page to poll.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import zipfile
from dataclasses import dataclass, field

from bson import ObjectId
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from ..domain.person_card import PERSON_FIELDS, check_person_card
from ..domain.rules import RuleError
from . import people
from .db import utcnow
from .roster import CURRENT, mark_changed
from .roster_entries import check_not_future, check_placement, entry_document

log = logging.getLogger("realname.import")

MAX_ROWS = 5000
CHUNK = 250
NOTE_PREFIX = "填写说明"
_UNREADABLE = "无法读取 Excel 文件，文件可能已损坏，请用模板重新填写后上传"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    required: bool
    note: str


COLUMNS = (
    Column("id_number", "身份证号码", True, f"{NOTE_PREFIX}：18 位，末位可为 X，请以文本格式填写；人员库已有的人员只需填本列和进场信息"),
    Column("name", "姓名", False, "人员库中没有的新人员必填"),
    Column("sex", "性别", False, "男 / 女，可不填（按身份证号码）"),
    Column("nation", "民族", False, "如 汉族，或民族代码 01"),
    Column("address", "住址", False, "身份证上的住址"),
    Column("phone", "手机号码", False, "11 位手机号码"),
    Column("unit", "参建单位", True, "本项目已进场的参建单位：企业名称或统一社会信用代码"),
    Column("team", "班组", True, "该参建单位下已进场的班组名称；管理人员填管理人员班组，如 总承包单位项目部"),
    Column("job", "工种/岗位", True, "如 钢筋工；管理岗位（如 项目经理）须在对应的管理人员班组"),
    Column("entry_date", "进场日期", False, "YYYY-MM-DD，不填为当天"),
)
TITLES = {c.key: c.title for c in COLUMNS}
# Store rules name fields by their API names; a row reports the column the user can fix.
_FIELD_COLUMN = {"team_id": "team", "unit_id": "unit", "worker_no": "id_number", "birth_date": "id_number"}


def template_bytes() -> bytes:
    """The download for 批量人员进场: the columns, a row explaining each, and one example row."""
    book = Workbook()
    sheet = book.active
    sheet.title = "批量人员进场"
    sheet.append([c.title + ("*" if c.required else "") for c in COLUMNS])
    sheet.append([c.note for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cell in sheet[2]:
        cell.font = Font(italic=True, color="666666")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.fill = PatternFill("solid", fgColor="FFF8E1")
    for i, column in enumerate(COLUMNS):
        letter = sheet.cell(row=1, column=i + 1).column_letter
        sheet.column_dimensions[letter].width = 24 if column.key in ("id_number", "unit", "team", "address") else 14
        # Text format, so an ID number typed in keeps its 18 digits instead of becoming 4.4E+17.
        for row in range(3, 1003):
            sheet.cell(row=row, column=i + 1).number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_rows(data: bytes) -> list[tuple[int, dict]]:
    """The data rows of an upload as (Excel row number, {column key: value}); RuleError("file") if unusable."""
    _check_archive(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, TypeError):
        raise RuleError("file", _UNREADABLE) from None
    except Exception:  # openpyxl raises many kinds on hostile archives; none may become a 500.
        log.info("unreadable workbook", exc_info=True)
        raise RuleError("file", _UNREADABLE) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise RuleError("file", "Excel 文件中没有工作表")
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        keys = _header_keys(header or ())
        out: list[tuple[int, dict]] = []
        for number, values in enumerate(rows, start=2):
            if not values or all(v is None or str(v).strip() == "" for v in values):
                continue
            if isinstance(values[0], str) and values[0].strip().startswith(NOTE_PREFIX):
                continue
            out.append((number, {key: values[i] if i < len(values) else None for i, key in keys.items()}))
            if len(out) > MAX_ROWS:
                raise RuleError("file", f"单次最多导入 {MAX_ROWS} 行，请拆分文件")
    except RuleError:
        raise
    except Exception:
        log.info("unreadable worksheet", exc_info=True)
        raise RuleError("file", "无法读取 Excel 工作表内容，文件可能已损坏") from None
    finally:
        book.close()
    if not out:
        raise RuleError("file", "文件中没有数据行，请在说明行下方逐行填写")
    return out


# 5 000 rows of text unpack to a few MB; far more is a compression bomb, refused before openpyxl unpacks it.
MAX_UNPACKED = 64 * 1024 * 1024


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise RuleError("file", _UNREADABLE) from None
    if unpacked > MAX_UNPACKED:
        raise RuleError("file", f"Excel 文件解压后超过 {MAX_UNPACKED // 1024 // 1024} MB，请删去多余内容或拆分文件")


def _header_keys(header) -> dict[int, str]:
    by_title = {c.title: c.key for c in COLUMNS}
    keys: dict[int, str] = {}
    for i, value in enumerate(header):
        title = str(value or "").strip().rstrip("*").strip()
        if title in by_title:
            keys[i] = by_title[title]
    missing = [c.title for c in COLUMNS if c.required and c.key not in keys.values()]
    if missing:
        raise RuleError("file", f"第 1 行缺少列：{'、'.join(missing)}（请使用下载的模板）")
    return keys


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    try:
        if len(text) == 8 and text.isdigit():
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        year, month, day = (int(p) for p in text.split("-"))
        return dt.date(year, month, day)
    except ValueError:
        raise RuleError("entry_date", "日期格式须为 YYYY-MM-DD") from None


# --- the job ------------------------------------------------------------------------------------

async def create_job(db: AsyncDatabase, *, project_id: int, total: int, by: str) -> ObjectId:
    now = utcnow()
    doc = {"project_id": project_id, "state": "queued", "total": total, "done": 0, "entered": 0, "created": 0,
           "errors": [], "created_by": by, "created_at": now, "updated_at": now, "finished_at": None, "message": ""}
    return (await db.import_jobs.insert_one(doc)).inserted_id


@dataclass
class _Site:
    """What a chunk needs to know about the project, read once per import."""
    units_by_key: dict[str, dict]
    teams: dict[tuple, dict]
    current: set[int]
    seen: dict[str, int] = field(default_factory=dict)

    @classmethod
    async def load(cls, db: AsyncDatabase, project_id: int) -> "_Site":
        units = [u async for u in db.units.find({"project_id": project_id}) if u.get("exit_date") is None]
        codes = {e["_id"]: e["credit_code"] async for e in db.enterprises.find(
            {"_id": {"$in": [u["enterprise_id"] for u in units]}}, {"credit_code": 1})}
        units_by_key: dict[str, dict] = {}
        for u in units:
            units_by_key.setdefault(u.get("enterprise_name", ""), u)
            if u["enterprise_id"] in codes:
                units_by_key.setdefault(codes[u["enterprise_id"]], u)
        teams = {(t["unit_id"], t["name"]): t async for t in db.teams.find({"project_id": project_id})}
        current = set(await db.roster.distinct("worker_no", {"project_id": project_id, **CURRENT}))
        return cls(units_by_key, teams, current)


def _error(row: int, key: str, message: str) -> dict:
    key = _FIELD_COLUMN.get(key, key)
    title = TITLES.get(key, key)
    return {"row": row, "field": key, "column": title, "message": f"{title}: {message}"}


@dataclass
class _Row:
    number: int
    id_number: str
    fields: dict
    warnings: list
    team: dict
    job: str
    entry_date: dt.date | None


def _check_row(site: _Site, number: int, raw: dict) -> _Row:
    if isinstance(raw.get("id_number"), (int, float)):
        raise RuleError("id_number", "须以文本格式填写(数字格式会丢失末位),请将该列设为文本后重新输入")
    raw = {k: _text(v) if k != "entry_date" else v for k, v in raw.items()}
    card = check_person_card(raw, require_name=False)
    id_number, fields, warnings = card.id_number, card.fields, list(card.warnings)
    first = site.seen.get(id_number)
    if first is not None:
        raise RuleError("id_number", f"与第 {first} 行的身份证号码重复")
    site.seen[id_number] = number
    unit_name = raw.get("unit", "")
    if not unit_name:
        raise RuleError("unit", "必填")
    unit = site.units_by_key.get(unit_name) or site.units_by_key.get(unit_name.upper())
    if unit is None:
        raise RuleError("unit", f"{unit_name} 不是本项目已进场的参建单位")
    team_name = raw.get("team", "")
    if not team_name:
        raise RuleError("team", "必填")
    team = site.teams.get((unit["_id"], team_name))
    if team is None:
        raise RuleError("team", f"{unit_name} 下没有名为 {team_name} 的班组")
    check_placement(team, unit, raw.get("job", ""))
    entry_date = _date(raw.get("entry_date"))
    check_not_future("entry_date", entry_date, "进场日期")
    return _Row(number, id_number, fields, warnings, team, raw["job"].strip(), entry_date)


async def _process_chunk(db: AsyncDatabase, project_id: int, site: _Site, chunk: list[tuple[int, dict]],
                         by: str) -> tuple[int, int, list[dict]]:
    """Enter a chunk's valid rows; returns (entered, people created, errors)."""
    errors: list[dict] = []
    rows: list[_Row] = []
    for number, raw in chunk:
        try:
            rows.append(_check_row(site, number, raw))
        except RuleError as exc:
            errors.append(_error(number, exc.field, exc.message))
    if not rows:
        return 0, 0, errors
    wanted = {"worker_no": 1, "id_number": 1, **{f: 1 for f in PERSON_FIELDS}}
    known = {p["id_number"]: p async for p in db.people.find({"id_number": {"$in": [r.id_number for r in rows]}}, wanted)}
    new_rows = []
    for r in rows:
        if r.id_number not in known and "name" not in r.fields:
            errors.append(_error(r.number, "name", "人员库中没有该人员,须填写姓名"))
        elif r.id_number not in known:
            new_rows.append(r)
    created = await _create_people(db, new_rows, known, by)
    for r in new_rows:
        if r.id_number not in known:
            errors.append(_error(r.number, "id_number", "人员入库失败,请核对该行后重新导入"))
    # People already in the library: fill in what the library lacks, never overwrite what it has.
    fills = []
    new_numbers = {r.number for r in new_rows}
    for r in rows:
        person = known.get(r.id_number)
        if person is None or r.number in new_numbers:
            continue
        missing = {k: v for k, v in r.fields.items() if k in PERSON_FIELDS and not person.get(k)}
        if missing:
            fills.append(UpdateOne({"_id": person["_id"]}, {"$set": {**missing, "updated_at": utcnow()}}))
    if fills:
        await db.people.bulk_write(fills, ordered=False)
    entries = []
    for r in rows:
        person = known.get(r.id_number)
        if person is None:
            continue
        if person["worker_no"] in site.current:
            errors.append(_error(r.number, "id_number", f"工人编号 {person['worker_no']} 已在本项目在场"))
            continue
        site.current.add(person["worker_no"])
        entries.append(entry_document(project_id=project_id, person=person, team=r.team, job=r.job,
                                      entry_date=r.entry_date, by=by))
    if entries:
        await db.roster.insert_many(entries, ordered=False)
    errors.sort(key=lambda e: e["row"])
    return len(entries), created, errors


async def _create_people(db: AsyncDatabase, rows: list[_Row], known: dict, by: str) -> int:
    """Insert the chunk's new people with one block of worker numbers; adds them to `known`."""
    if not rows:
        return 0
    numbers = await people.allocate_worker_nos(db, len(rows))
    docs = [people.new_person_document(r.id_number, r.fields, r.warnings, n, {"import": by})
            for r, n in zip(rows, numbers)]
    created = len(docs)
    try:
        await db.people.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        # Someone (a device, another import) added some of them meanwhile: theirs stand.
        created -= len(exc.details.get("writeErrors", []))
        failed = {docs[e["index"]]["id_number"] for e in exc.details.get("writeErrors", [])}
        async for p in db.people.find({"id_number": {"$in": sorted(failed)}}, {"worker_no": 1, "id_number": 1}):
            known[p["id_number"]] = p
        docs = [d for d in docs if d["id_number"] not in failed]
    for d in docs:
        known[d["id_number"]] = d
    return created


async def run_job(db: AsyncDatabase, job_id: ObjectId, project_id: int, rows: list[tuple[int, dict]], by: str) -> None:
    """Work through the rows, recording progress after each chunk; never leaves a job 'running' on error."""
    try:
        await db.import_jobs.update_one({"_id": job_id}, {"$set": {"state": "running"}})
        site = await _Site.load(db, project_id)
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            entered, created, errors = await _process_chunk(db, project_id, site, chunk, by)
            update: dict = {"$inc": {"done": len(chunk), "entered": entered, "created": created},
                            "$set": {"updated_at": utcnow()}}
            if errors:
                update["$push"] = {"errors": {"$each": errors}}
            await db.import_jobs.update_one({"_id": job_id}, update)
            if entered:
                await mark_changed(db, [project_id])
        await db.import_jobs.update_one({"_id": job_id}, {"$set": {"state": "done", "finished_at": utcnow()}})
    except Exception:
        log.exception("roster import %s failed", job_id)
        await db.import_jobs.update_one({"_id": job_id}, {"$set": {
            "state": "failed", "finished_at": utcnow(), "message": "导入中断:服务器内部错误," + _REDO}})


# A chunk takes well under a second; a job silent this long was cut off (the web process stopped).
STALE_AFTER = dt.timedelta(minutes=5)
_REDO = "已进场的行已保存,请核对花名册后重新导入其余行"


async def settle_if_stale(db: AsyncDatabase, job: dict) -> dict:
    """A job left queued/running by a stopped process is reported failed instead of running for ever."""
    if job["state"] in ("queued", "running") and utcnow() - job.get("updated_at", job["created_at"]) > STALE_AFTER:
        update = {"state": "failed", "finished_at": utcnow(), "message": "导入中断(服务重启)," + _REDO}
        await db.import_jobs.update_one({"_id": job["_id"], "state": job["state"]}, {"$set": update})
        job = {**job, **update}
    return job

