"""批量人员进场: the Excel template, reading an upload, and the import job that enters every valid row.

Every row is either entered (creating the person in the person library when the ID number is
new) or reported back with its Excel row number, the column and the reason: nothing is dropped
silently. The upload is kept with its report in `import_jobs` and a worker job (server/workers)
reads it — never the web process — then works in chunks: one lookup of the chunk's people, one
insert of its new people, one of its entries, and a checkpoint of its progress in `import_jobs`
for the page to poll and for a worker that takes over to continue from.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import zipfile
from dataclasses import dataclass, field

from bson import Binary, ObjectId
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from ..domain.person_card import PERSON_FIELDS, check_person_card
from ..domain.rules import RuleError
from ..domain.site_clock import parse_day
from . import jobs, openpyxl_fix, people  # noqa: F401 — openpyxl_fix: a sheet without <dimension> is not read whole
from .db import utcnow
from .roster import CURRENT, mark_changed
from .roster_entries import check_not_future, check_placement, entry_document

log = logging.getLogger("realname.import")

MAX_ROWS = 5000
_HEADER_AND_NOTES = 2  # the template's column row and its 填写说明 row
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
            # Every row read counts, blank ones too: a sheet of a million empty rows is refused
            # after MAX_ROWS of them instead of being read to its end.
            if number > MAX_ROWS + _HEADER_AND_NOTES:
                raise RuleError("file", f"单次最多导入 {MAX_ROWS} 行（空行也计入），请删去多余的空行或拆分文件")
            if not values or all(v is None or str(v).strip() == "" for v in values):
                continue
            if isinstance(values[0], str) and values[0].strip().startswith(NOTE_PREFIX):
                continue
            out.append((number, {key: values[i] if i < len(values) else None for i, key in keys.items()}))
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
    # A date cell arrives as a datetime; typed text must be the template's YYYY-MM-DD.
    return parse_day(_text(value), "entry_date")


# --- the job ------------------------------------------------------------------------------------

JOB_KIND = "roster_import"


async def start_import(db: AsyncDatabase, *, project_id: int, data: bytes, by: str) -> ObjectId:
    """Keep the upload with its report and queue the job that reads and enters it (a worker runs it).

    Only the archive's directory is checked here (cheap, and it refuses compression bombs before
    anything unpacks): reading the sheet can take long on a hostile file, so it happens in the
    worker, never in the web process. The report and the job share one id.
    """
    _check_archive(data)
    now = utcnow()
    doc = {"project_id": project_id, "state": "queued", "total": None, "done": 0, "entered": 0, "created": 0,
           "errors": [], "created_by": by, "created_at": now, "updated_at": now, "finished_at": None, "message": "",
           "field": None, "workbook": Binary(data)}
    import_id = (await db.import_jobs.insert_one(doc)).inserted_id
    await jobs.submit(db, JOB_KIND, {"import_id": import_id}, job_id=import_id)
    return import_id


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
                         by: str, import_id: ObjectId, redo: bool = False) -> tuple[int, int, list[dict]]:
    """Enter a chunk's valid rows; returns (entered, people created, errors).

    `redo`: an earlier worker was cut off inside this chunk, after entering some of its rows but
    before the checkpoint; those rows (marked with the import and row number) count as entered
    and are not entered again.
    """
    errors: list[dict] = []
    rows: list[_Row] = []
    already: set[int] = set()
    if redo:
        already = {e["import_row"] async for e in db.roster.find({"import_id": import_id}, {"import_row": 1})}
    for number, raw in chunk:
        try:
            rows.append(_check_row(site, number, raw))
        except RuleError as exc:
            errors.append(_error(number, exc.field, exc.message))
    if not rows:
        return 0, 0, errors
    done_before = [r for r in rows if r.number in already]
    created_before = 0
    if done_before:
        rows = [r for r in rows if r.number not in already]
        created_before = await db.people.count_documents(
            {"id_number": {"$in": [r.id_number for r in done_before]}, "created_from.import_id": import_id})
    wanted = {"worker_no": 1, "id_number": 1, **{f: 1 for f in PERSON_FIELDS}}
    known = {p["id_number"]: p async for p in db.people.find({"id_number": {"$in": [r.id_number for r in rows]}}, wanted)}
    new_rows = []
    for r in rows:
        if r.id_number not in known and "name" not in r.fields:
            errors.append(_error(r.number, "name", "人员库中没有该人员,须填写姓名"))
        elif r.id_number not in known:
            new_rows.append(r)
    created = await _create_people(db, new_rows, known, by, import_id)
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
        entries.append({**entry_document(project_id=project_id, person=person, team=r.team, job=r.job,
                                         entry_date=r.entry_date, by=by), "import_id": import_id,
                        "import_row": r.number})
    if entries:
        await db.roster.insert_many(entries, ordered=False)
    errors.sort(key=lambda e: e["row"])
    return len(entries) + len(done_before), created + created_before, errors


async def _create_people(db: AsyncDatabase, rows: list[_Row], known: dict, by: str, import_id: ObjectId) -> int:
    """Insert the chunk's new people with one block of worker numbers; adds them to `known`."""
    if not rows:
        return 0
    numbers = await people.allocate_worker_nos(db, len(rows))
    docs = [people.new_person_document(r.id_number, r.fields, r.warnings, n, {"import": by, "import_id": import_id})
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


async def run_import(db: AsyncDatabase, import_id: ObjectId, *, resumed: bool = False, pause: float = 0.0) -> dict:
    """The job: read the stored workbook, then enter it chunk by chunk, checkpointing after each.

    A worker that takes over (`resumed`) continues after the last checkpoint; the chunk it was cut
    off in is redone without entering its already-entered rows twice. `pause` (tests only) holds
    each chunk between its entries and its checkpoint, the moment a kill is hardest to resume from.
    """
    report = await db.import_jobs.find_one({"_id": import_id})
    if report is None or report["state"] in ("done", "failed"):
        return {"state": report["state"] if report else "missing"}
    project_id, by = report["project_id"], report.get("created_by", "")
    try:
        try:
            # Parsing is CPU-bound: off the event loop, so the lease keeps being renewed meanwhile.
            rows = await asyncio.to_thread(read_rows, bytes(report["workbook"]))
        except RuleError as exc:
            await _finish(db, import_id, "failed", message=exc.message, field=exc.field)
            return {"state": "failed", "message": exc.message}
        await db.import_jobs.update_one({"_id": import_id}, {"$set": {
            "state": "running", "total": len(rows), "updated_at": utcnow()}})
        site = await _Site.load(db, project_id)
        done, entered, created = report["done"], report["entered"], report.get("created", 0)
        for number, raw in rows[:done]:
            # Rows before the checkpoint still count for "same ID number as row N".
            site.seen.setdefault(_text(raw.get("id_number")).upper(), number)
        for start in range(done, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            chunk_entered, chunk_created, errors = await _process_chunk(
                db, project_id, site, chunk, by, import_id, redo=resumed and start == report["done"])
            if pause:
                await asyncio.sleep(pause)
            done, entered, created = start + len(chunk), entered + chunk_entered, created + chunk_created
            # The checkpoint: one update, so counts, refused rows and position never disagree.
            update: dict = {"$set": {"done": done, "entered": entered, "created": created, "updated_at": utcnow()}}
            if errors:
                update["$push"] = {"errors": {"$each": errors}}
            await db.import_jobs.update_one({"_id": import_id}, update)
            if chunk_entered:
                await mark_changed(db, [project_id])
        await _finish(db, import_id, "done")
        return {"state": "done", "total": len(rows), "entered": entered, "created": created}
    except Exception:
        log.exception("roster import %s failed", import_id)
        await _finish(db, import_id, "failed", message="导入中断:服务器内部错误," + _REDO)
        raise


async def _finish(db: AsyncDatabase, import_id: ObjectId, state: str, *, message: str = "", field: str | None = None):
    # The workbook is dropped once settled: the report keeps every refused row with its reason.
    await db.import_jobs.update_one({"_id": import_id}, {"$set": {
        "state": state, "finished_at": utcnow(), "updated_at": utcnow(), "message": message, "field": field},
        "$unset": {"workbook": ""}})


# A chunk takes well under a second; a report silent this long with no job behind it was left by
# a process that stopped before workers ran imports.
STALE_AFTER = dt.timedelta(minutes=5)
_REDO = "已进场的行已保存,请核对花名册后重新导入其余行"


async def settle_if_stale(db: AsyncDatabase, report: dict) -> dict:
    """A report left queued/running with no job to finish it is reported failed instead of running for ever."""
    if (report["state"] in ("queued", "running")
            and utcnow() - report.get("updated_at", report["created_at"]) > STALE_AFTER
            and not await jobs.live(db, report["_id"])):
        update = {"state": "failed", "finished_at": utcnow(), "message": "导入中断(服务重启)," + _REDO}
        await db.import_jobs.update_one({"_id": report["_id"], "state": report["state"]}, {"$set": update})
        report = {**report, **update}
    return report
