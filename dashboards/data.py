"""The dashboards' figures as pandas DataFrames, read from the attendance rollups (never raw punches).

Every function takes a synchronous PyMongo `Database` and `scope`, a query fragment on projects
produced by the access model (`{}` for the city, `{"county": "蓬江区"}` for a county supervisor);
every read goes through the projects that scope admits, so a county caller never sees another
county whatever else it passes. Bad input raises DataError(field, 中文原因), shown on the page.

Definitions (domain.md, "Definitions the source leaves open"; shown on the pages):
- 出勤: at least one non-test punch of the person on the project that site day.
- 县区执行情况 for a day counts the projects 在建 that day (a project on 停工 that day is not 在建,
  so stopped days are left out of every rate); 上传成功 = project qualified (qualified_projects);
  有考勤 = ≥ 1 punch that day; 考勤人数 = distinct persons punched; 平均考勤人数 = 考勤人数 / 有考勤项目数;
  登记比例 = projects with the post entered / total; 到岗率 = projects whose holder punched / total.
  The 汇总 row sums the counts and recomputes the rates from the sums.
- 月考勤率 = days attended / days in the month, 停工 days left out of both (28 of 31 → 90.32%).
- 管理人员月考勤统计: month-to-date up to the previous day; a post is on duty on a day when somebody
  entered in it punched; 到岗率 = on-duty days / working days (not 停工) so far.
- A roster entry holds from its entry day up to, not including, its exit day.
"""
from __future__ import annotations

import collections
import datetime as dt
import functools
from typing import Iterable

import pandas as pd
from pymongo.database import Database

from server.config import Config
from server.domain import project_overview as overview
from server.domain import project_status, vocabulary
from server.domain.attendance_grid import Month, project_stop_periods
from server.domain.identity import mask_id_number
from server.domain.rollups import day_key, holds_on, percent, ratio, span_holds, status_on
from server.domain.rules import RuleError
from server.store import rollup_queries as q
from server.domain.site_clock import SITE_TZ, parse_day, site_today
from server.store import qualification
from server.store.db import in_slices, utcnow
from server.store.devices import liveness_window, presence

TOTAL_ROW = "汇总"
UNDER_CONSTRUCTION = vocabulary.PROJECT_UNDER_CONSTRUCTION
PM, TL, SO, CS = vocabulary.PROJECT_MANAGER, vocabulary.TECHNICAL_LEAD, vocabulary.SAFETY_OFFICER, vocabulary.CHIEF_SUPERVISOR
# Monthly statistics: the posts in the guide's column order, with the unit that holds each.
MONTHLY_POSTS = ((PM, vocabulary.GENERAL_CONTRACTOR), (SO, vocabulary.GENERAL_CONTRACTOR), (TL, vocabulary.GENERAL_CONTRACTOR),
                 (CS, vocabulary.SUPERVISOR))
# The guide's twelve filters, in its order (its "总监监理工程师" / "总监工程师" read as the post's name).
FLAGS: tuple[str, ...] = (
    *(f"未设置{p}" for p in (PM, CS, SO, TL)),
    *(f"本月{p}未在岗" for p in (PM, CS, SO, TL)),
    *(f"{p}月出勤不达标" for p in (PM, CS, SO, TL)),
)
COUNTY_COLUMNS = ["地区", "在建项目总数", "上传成功项目数", "上传失败项目数", "上传成功率", "有考勤项目数", "无考勤项目数",
                  "更新率", "考勤人数", "平均考勤人数", "项目经理登记比例", "项目经理到岗率", "总监理工程师登记比例",
                  "总监理工程师到岗率"]
SUPPLIER_COLUMNS = ["设备商", "支撑的项目总数", "上传成功项目数", "上传失败项目数", "上传成功率", "有考勤项目数",
                    "无考勤项目数", "更新率"]
UPDATED_AT = "数据更新时间"  # frame.attrs key: when the rollups the figures come from were last folded


class DataError(RuleError):
    """Input a dashboard cannot answer (a future day, an unknown post …), with the reason to show."""


@functools.lru_cache(maxsize=1)
def _settings() -> Config:
    return Config.from_env()


# --- input -------------------------------------------------------------------------------------

def _platform_start() -> dt.date:
    return parse_day(_settings().platform_start)


def check_day(day: dt.date | str | None, field: str = "day") -> dt.date:
    """A site day the platform can answer for: not in the future, not before the platform started."""
    if day is None or day == "":
        return site_today()
    try:
        value = project_status.parse_day(day, field)
    except RuleError as exc:
        raise DataError(field, exc.message) from None
    if value > site_today():
        raise DataError(field, "日期不能晚于今天")
    if value < _platform_start():
        raise DataError(field, f"日期不能早于平台启用日期 {_platform_start().isoformat()}")
    return value


def check_month(month: str | Month | None, field: str = "month") -> Month:
    if month is None or month == "":
        return Month.of(site_today())
    try:
        value = month if isinstance(month, Month) else Month.parse(month, field)
    except RuleError as exc:
        raise DataError(field, exc.message) from None
    if value.first > site_today():
        raise DataError(field, "月份不能晚于本月")
    if value.last < _platform_start():
        raise DataError(field, f"月份不能早于平台启用月份 {_platform_start():%Y-%m}")
    return value


def _county_allowed(scope: dict, county: str) -> bool:
    """Whether the scope's county condition (absent, one county, or {"$in": [...]}) admits a county."""
    condition = scope.get("county")
    if condition is None:
        return True
    if isinstance(condition, dict):
        return county in condition.get("$in", ())
    return condition == county


def _scope_counties(scope: dict) -> list[str]:
    """The counties a caller's tables have rows for, in the guide's order."""
    return [c for c in vocabulary.COUNTIES if _county_allowed(scope, c)]


def _check_county(scope: dict, county: str | None) -> dict:
    """The projects query for scope narrowed to a county the caller may see."""
    if not county:
        return dict(scope)
    if county not in vocabulary.COUNTIES:
        raise DataError("county", f"未知的县区：{county}")
    if not _county_allowed(scope, county):
        raise DataError("county", "只能查看本县区的数据")
    return {**scope, "county": county}


def _check_post(post: str) -> str:
    if post not in vocabulary.MANAGER_JOBS:
        raise DataError("post", f"未知的岗位：{post}")
    return post


# --- reads -------------------------------------------------------------------------------------

_PROJECT_FIELDS = {"name": 1, "county": 1, "status": 1, "category": 1, "status_history": 1, "stop_periods": 1,
                   "address": 1, "permit_no": 1, "created_at": 1}


def _projects(db: Database, query: dict) -> dict[int, dict]:
    projects = {}
    for p in db.projects.find(query, _PROJECT_FIELDS).sort("_id", 1):
        p["periods"] = project_stop_periods(p)
        projects[p["_id"]] = p
    return projects


def qualified_projects(db: Database, ids: Iterable[int]) -> set[int]:
    """项目合格 (domain.md; server/store/qualification.py): 上传成功项目数 counts these.

    Only projects holding the province's credentials can qualify (the rule's first condition), so
    the rule's reads — every current roster entry of its projects among them — are made for those
    alone, a slice of ids at a time (the facts are per project: the union is the same answer)."""
    wanted = set(ids)
    with_credentials = sorted(p["_id"] for p in db.projects.find({}, {"province.appid": 1})
                              if p["_id"] in wanted and (p.get("province") or {}).get("appid"))
    share = _settings().qualified_worker_share
    return {pid for part in in_slices(with_credentials)
            for pid in qualification.qualified_ids_sync(db, part, worker_share=share)}


def _project_days(db: Database, ids: set[int], query: dict, projection: dict) -> dict[tuple[int, str], dict]:
    return {(d["project_id"], d["date"]): d for d in db[q.PROJECT_DAYS].find(query, projection)
            if d["project_id"] in ids}


def _entries(db: Database, posts: Iterable[str], ids: set[int], first: str, last: str) -> list[dict]:
    """Roster entries in those posts on those projects holding on some day of [first, last]."""
    found = []
    for entry in db.roster.find({"job": {"$in": list(posts)}},
                                {"project_id": 1, "worker_no": 1, "job": 1, "entry_date": 1, "exit_date": 1}):
        if entry["project_id"] not in ids:
            continue
        entry_day, exit_day = day_key(entry.get("entry_date")), day_key(entry.get("exit_date"))
        if entry_day and entry_day <= last and (exit_day is None or exit_day > first):
            found.append(entry)
    return found


def _holders_on(entries: list[dict], day: str) -> dict[tuple[int, str], set[int]]:
    out: dict[tuple[int, str], set[int]] = collections.defaultdict(set)
    for e in entries:
        if holds_on(e, day):
            out[(e["project_id"], e["job"])].add(e["worker_no"])
    return out


def _find_in(collection, field: str, values: Iterable, projection: dict) -> list[dict]:
    """An $in asked in slices: the embedded server's time grows with the square of the list."""
    return [d for part in in_slices(sorted(set(values))) for d in collection.find({field: {"$in": part}}, projection)]


def _people(db: Database, worker_nos: Iterable[int]) -> dict[int, dict]:
    return {p["worker_no"]: p for p in _find_in(db.people, "worker_no", worker_nos,
                                                {"worker_no": 1, "name": 1, "id_number": 1})}


def _month_docs(db: Database, ids: set[int], first: str, last: str, projection: dict) -> list[dict]:
    """The month rollup's documents (one per project × month) of the months holding days [first, last]."""
    return [d for d in db[q.PROJECT_MONTHS].find(q.months(first[:7], last[:7]), {"project_id": 1, **projection})
            if d["project_id"] in ids]


def _manager_days(db: Database, ids: set[int], posts: Iterable[str], first: str, last: str
                  ) -> dict[tuple[int, int], set[str]]:
    """(project, worker) → the days of [first, last] that person punched while entered in one of the
    posts, from the month rollup (a page never reads a month of project-days)."""
    out: dict[tuple[int, int], set[str]] = collections.defaultdict(set)
    for doc in _month_docs(db, ids, first, last, {f"managers.{post}": 1 for post in posts}):
        for by_day in (doc.get("managers") or {}).values():
            for day, workers in by_day.items():
                if first <= day <= last:
                    for worker in workers:
                        out[(doc["project_id"], worker)].add(day)
    return out


def _on_duty(project_day: dict | None, post: str) -> bool:
    return bool(((project_day or {}).get("managers") or {}).get(post))


def data_updated_at(db: Database) -> dt.datetime | None:
    """When the rollup tail last confirmed it was current (数据更新时间)."""
    state = db[q.STATE].find_one({"_id": q.TAIL_STATE_ID}, {"updated_at": 1})
    return state.get("updated_at") if state else None


def updated_text(when: dt.datetime | None) -> str:
    """A rollup's fold time as people read it (site time)."""
    return when.astimezone(SITE_TZ).strftime("%Y-%m-%d %H:%M:%S") if when else ""


def _from_rollups(db: Database, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame, saying (attrs[UPDATED_AT]) how fresh the rollups it was read from are."""
    updated = data_updated_at(db)
    if updated is not None:
        frame.attrs[UPDATED_AT] = updated_text(updated)
    return frame


# --- 县区执行情况 ---------------------------------------------------------------------------------

def _execution_counts(projects: list[dict], days: dict, holders: dict, qualified: set[int], day: str,
                      with_people: bool = True) -> dict:
    """The counts of one group of projects on one day (rates are derived from counts, so sums stay exact)."""
    active = [p["_id"] for p in projects if status_on(p, day) == UNDER_CONSTRUCTION]
    punched = [pid for pid in active if (pid, day) in days]
    people: set = set()
    if with_people:
        for pid in punched:
            people.update(days[(pid, day)].get("workers", ()))
    counts = {"total": len(active), "qualified": len(qualified.intersection(active)), "punched": len(punched),
              "people": len(people)}
    for post, key in ((PM, "pm"), (CS, "cs")):
        counts[f"{key}_entered"] = sum(1 for pid in active if holders.get((pid, post)))
        counts[f"{key}_on_duty"] = sum(1 for pid in active if _on_duty(days.get((pid, day)), post))
    return counts


def _execution_row(name: str, c: dict) -> dict:
    return {"地区": name, "在建项目总数": c["total"], "上传成功项目数": c["qualified"],
            "上传失败项目数": c["total"] - c["qualified"], "上传成功率": percent(c["qualified"], c["total"]),
            "有考勤项目数": c["punched"], "无考勤项目数": c["total"] - c["punched"],
            "更新率": percent(c["punched"], c["total"]), "考勤人数": c["people"],
            "平均考勤人数": round(ratio(c["people"], c["punched"]), 2),
            "项目经理登记比例": percent(c["pm_entered"], c["total"]), "项目经理到岗率": percent(c["pm_on_duty"], c["total"]),
            "总监理工程师登记比例": percent(c["cs_entered"], c["total"]),
            "总监理工程师到岗率": percent(c["cs_on_duty"], c["total"])}


def county_execution(db: Database, scope: dict, day: dt.date | str | None = None) -> pd.DataFrame:
    day_text = check_day(day).isoformat()
    projects = _projects(db, scope)
    ids = set(projects)
    days = _project_days(db, ids, q.on_day(day_text), q.PROJECT_DAY_WITH_PEOPLE)
    holders = _holders_on(_entries(db, (PM, CS), ids, day_text, day_text), day_text)
    qualified = qualified_projects(db, ids)
    counties = _scope_counties(scope)
    rows, total = [], collections.Counter()
    for county in counties:
        counts = _execution_counts([p for p in projects.values() if p["county"] == county], days, holders,
                                   qualified, day_text)
        total.update(counts)
        rows.append(_execution_row(county, counts))
    rows.append(_execution_row(TOTAL_ROW, total))
    return _from_rollups(db, pd.DataFrame(rows, columns=COUNTY_COLUMNS))


# --- 各项目执行情况 -------------------------------------------------------------------------------

def _approved_devices(db: Database, ids: set[int]) -> list[dict]:
    """Devices admitted to production on projects in scope (test-environment devices support nothing yet)."""
    return [d for d in db.devices.find({"status": "active"}, {"project_id": 1, "vendor_code": 1, "supplier_id": 1,
                                                              "environment": 1, "device_id": 1, "online": 1,
                                                              "last_seen": 1, "gateway_id": 1, "install_place": 1})
            if d["project_id"] in ids and d.get("environment") != "test"]


def _supplier_names(db: Database) -> tuple[dict, dict]:
    by_id, by_vendor = {}, {}
    for s in db.suppliers.find({}, {"name": 1, "vendor_code": 1}):
        by_id[s["_id"]], by_vendor[s["vendor_code"]] = s["name"], s["name"]
    return by_id, by_vendor


def _device_supplier(device: dict, names: tuple[dict, dict]) -> str:
    return overview.supplier_name(device, *names)


def _employed(db: Database, ids: set[int], day: str) -> collections.Counter:
    """People entered on each project that day (在职人数), from the roster spans the rollup keeps;
    a project the rollup has not seen yet is counted from its roster entries."""
    counts: collections.Counter = collections.Counter()
    seen = set()
    for doc in db[q.ROSTERS].find({}, {"spans": 1}):
        if doc["_id"] in ids:
            seen.add(doc["_id"])
            counts[doc["_id"]] = sum(1 for entry_day, exit_day in doc["spans"] if span_holds(entry_day, exit_day, day))
    for pid in sorted(ids - seen):
        counts[pid] = sum(1 for e in db.roster.find({"project_id": pid}, {"entry_date": 1, "exit_date": 1})
                          if holds_on(e, day))
    return counts


def _duty_text(holders: set | None, on_duty: bool) -> str:
    if not holders:
        return "未设置"
    return "是" if on_duty else "否"


def project_execution(db: Database, scope: dict, day: dt.date | str | None = None, county: str | None = None,
                      status: str | None = None, supplier: str | None = None, name: str | None = None) -> pd.DataFrame:
    day_text = check_day(day).isoformat()
    if status and status not in vocabulary.PROJECT_STATUSES:
        raise DataError("status", f"项目状态须为 {'、'.join(vocabulary.PROJECT_STATUSES)} 之一")
    projects = _projects(db, _check_county(scope, county))
    ids = set(projects)
    if supplier:
        names = _supplier_names(db)
        ids = {d["project_id"] for d in _approved_devices(db, ids) if supplier in _device_supplier(d, names)}
    days = _project_days(db, ids, q.on_day(day_text), q.PROJECT_DAY_WITH_PEOPLE)
    holders = _holders_on(_entries(db, (PM, CS), ids, day_text, day_text), day_text)
    qualified = qualified_projects(db, ids)
    employed = _employed(db, ids, day_text)
    rows = []
    for pid in sorted(ids):
        p = projects[pid]
        state = status_on(p, day_text)
        if state is None or (status and state != status) or (name and name.strip() not in p["name"]):
            continue
        pday = days.get((pid, day_text))
        rows.append({"项目编号": pid, "项目名称": p["name"], "所在地": p["county"], "项目状态": state,
                     "是否上传省厅": "已上传" if pid in qualified else "未上传", "在职人数": employed[pid],
                     "考勤人数": len((pday or {}).get("workers", ())),
                     "项目经理是否到岗": _duty_text(holders.get((pid, PM)), _on_duty(pday, PM)),
                     "总监理工程师是否到岗": _duty_text(holders.get((pid, CS)), _on_duty(pday, CS))})
    return _from_rollups(db, pd.DataFrame(rows, columns=["项目编号", "项目名称", "所在地", "项目状态", "是否上传省厅", "在职人数", "考勤人数",
                                       "项目经理是否到岗", "总监理工程师是否到岗"]))


# --- 设备商支撑情况 -------------------------------------------------------------------------------

def supplier_support(db: Database, scope: dict, day: dt.date | str | None = None) -> pd.DataFrame:
    day_text = check_day(day).isoformat()
    projects = _projects(db, scope)
    ids = {pid for pid, p in projects.items() if status_on(p, day_text) == UNDER_CONSTRUCTION}
    names = _supplier_names(db)
    supported: dict[str, set[int]] = collections.defaultdict(set)
    for device in _approved_devices(db, ids):
        supported[_device_supplier(device, names)].add(device["project_id"])
    days = _project_days(db, ids, q.on_day(day_text), q.PROJECT_DAY_FIGURES)
    qualified = qualified_projects(db, ids)
    rows = []
    for supplier in sorted(supported):
        pids = supported[supplier]
        total, ok, punched = len(pids), len(qualified & pids), sum(1 for pid in pids if (pid, day_text) in days)
        rows.append({"设备商": supplier, "支撑的项目总数": total, "上传成功项目数": ok, "上传失败项目数": total - ok,
                     "上传成功率": percent(ok, total), "有考勤项目数": punched, "无考勤项目数": total - punched,
                     "更新率": percent(punched, total)})
    return _from_rollups(db, pd.DataFrame(rows, columns=SUPPLIER_COLUMNS))


# --- 管理人员考勤情况 -----------------------------------------------------------------------------

def _stopped(project: dict, dates: Iterable[str]) -> set[str]:
    if not project["periods"]:  # most projects never stopped: no date to parse
        return set()
    return {d for d in dates if project_status.is_stopped(project["periods"], parse_day(d))}


def _working(project: dict, dates: list[str]) -> list[str]:
    """The dates the project was not stopped (停工 days are left out of every rate)."""
    return overview.working_days(project["periods"], dates)


def manager_attendance(db: Database, scope: dict, month: str | Month | None, post: str, county: str | None = None,
                       query: str | None = None, unmask: bool = False) -> pd.DataFrame:
    """Per manager in the post: a mark per day attended (停工 days unmarked), the day count and 月考勤率.
    Unmasked ID numbers are for callers who may see them; the caller audits that view."""
    month = check_month(month)
    post = _check_post(post)
    projects = _projects(db, _check_county(scope, county))
    ids = set(projects)
    dates = [d.isoformat() for d in month.dates()]
    entries = _entries(db, (post,), ids, dates[0], dates[-1])
    people = _people(db, (e["worker_no"] for e in entries))
    attended = _manager_days(db, ids, (post,), dates[0], dates[-1])
    day_columns = [f"{n}日" for n in range(1, month.length + 1)]
    rows, seen = [], set()
    needle = (query or "").strip()
    for e in sorted(entries, key=lambda e: (e["project_id"], e["worker_no"])):
        key = (e["project_id"], e["worker_no"])
        person = people.get(e["worker_no"], {})
        if key in seen or (needle and needle not in person.get("name", "") and needle != person.get("id_number")):
            continue
        seen.add(key)
        p = projects[e["project_id"]]
        stopped = _stopped(p, dates)
        marks = {col: "√" if d in attended.get(key, ()) and d not in stopped else ""
                 for col, d in zip(day_columns, dates)}
        total = sum(1 for m in marks.values() if m)
        id_number = person.get("id_number", "")
        rows.append({"项目编号": p["_id"], "项目名称": p["name"], "项目类型": p.get("category", ""),
                     "项目所在地": p["county"], "岗位/工种": post, "姓名": person.get("name", ""),
                     "身份证号码": id_number if unmask else mask_id_number(id_number), **marks,
                     "天数总计(天)": total, "月考勤率": percent(total, len(dates) - len(stopped))})
    return _from_rollups(db, pd.DataFrame(rows, columns=["项目编号", "项目名称", "项目类型", "项目所在地", "岗位/工种", "姓名", "身份证号码",
                                       *day_columns, "天数总计(天)", "月考勤率"]))


# --- 管理人员月考勤统计 ---------------------------------------------------------------------------

def _month_to_date(month: Month) -> list[str]:
    """The month's days up to the previous day (the statistics are made each night for the day before)."""
    yesterday = (site_today() - dt.timedelta(days=1)).isoformat()
    return [d.isoformat() for d in month.dates() if d.isoformat() <= yesterday]


def _unit_names(db: Database, ids: set[int]) -> dict[tuple[int, str], str]:
    names: dict[tuple[int, str], str] = {}
    # The whole (small) collection: an $in of hundreds of ids costs the embedded server ~20x a plain read.
    for u in db.units.find({}, {"project_id": 1, "unit_type": 1, "enterprise_name": 1}):
        if u["project_id"] not in ids:
            continue
        key = (u["project_id"], vocabulary.normalise_unit_type(u.get("unit_type", "")) or u.get("unit_type", ""))
        names.setdefault(key, u.get("enterprise_name", ""))
    return names


def _post_month(p: dict, post: str, entries: dict, attended: dict, working: set[str]) -> dict:
    """One post of one project over the days so far: holders, on-duty days, working days.
    `entries`: (project, post) → roster entries; `working`: the project's days so far not 停工."""
    mine = entries.get((p["_id"], post), ())
    on_duty = {d for e in mine for d in attended.get((p["_id"], e["worker_no"]), ()) if d in working}
    return {"holders": len({e["worker_no"] for e in mine}), "on_duty": len(on_duty), "working": len(working)}


def _duty_summary(figures: dict) -> str:
    if not figures["holders"]:
        # The word 各项目执行情况 uses too; a bare "-" would reach Excel escaped as a would-be formula.
        return "未设置"
    absent = figures["working"] - figures["on_duty"]
    return f"到岗{figures['on_duty']}天 未到岗{absent}天 到岗率{percent(figures['on_duty'], figures['working'])}"


def _flags(figures: dict[str, dict], standard: float) -> list[str]:
    raised = []
    for post in (PM, CS, SO, TL):
        f = figures[post]
        if not f["holders"]:
            raised.append(f"未设置{post}")
            continue
        if f["working"] and f["on_duty"] == 0:
            raised.append(f"本月{post}未在岗")
        if f["working"] and ratio(f["on_duty"], f["working"]) * 100 < standard:
            raised.append(f"{post}月出勤不达标")
    return [flag for flag in FLAGS if flag in raised]


def _monthly_figures(db: Database, projects: dict, month: Month) -> tuple[list[str], list[dict], dict]:
    ids = set(projects)
    days = _month_to_date(month)
    first, last = month.first.isoformat(), (days[-1] if days else month.first.isoformat())
    posts = [post for post, _ in MONTHLY_POSTS]
    # Holders are counted even before the month's first day is over (nothing is "未设置" on the 1st).
    entries = _entries(db, posts, ids, first, last)
    attended = _manager_days(db, ids, posts, first, last) if days else {}
    return days, entries, attended


def manager_monthly(db: Database, scope: dict, month: str | Month | None, flags: Iterable[str] = ()) -> pd.DataFrame:
    """Per project: holders and month-to-date on-duty days of the four key posts, with the guide's flags.
    `flags`: keep the projects raising any of them (none: every project)."""
    month = check_month(month)
    wanted = list(flags or ())
    unknown = [f for f in wanted if f not in FLAGS]
    if unknown:
        raise DataError("flags", f"未知的筛选条件：{unknown[0]}")
    standard = _settings().key_post_standard
    projects = _projects(db, scope)
    days, entries, attended = _monthly_figures(db, projects, month)
    by_post: dict = collections.defaultdict(list)
    for e in entries:
        by_post[(e["project_id"], e["job"])].append(e)
    units = _unit_names(db, set(projects))
    reference = days[-1] if days else month.first.isoformat()
    rows = []
    for pid, p in projects.items():
        state = status_on(p, reference)
        if state not in (vocabulary.PROJECT_UNDER_CONSTRUCTION, vocabulary.PROJECT_SUSPENDED):
            continue
        working = set(_working(p, days))
        figures = {post: _post_month(p, post, by_post, attended, working) for post, _ in MONTHLY_POSTS}
        raised = _flags(figures, standard)
        if wanted and not set(wanted) & set(raised):
            continue
        row = {"项目编号": pid, "项目名称": p["name"], "项目所在地": p["county"], "项目状态": state,
               "施工总承包单位": units.get((pid, vocabulary.GENERAL_CONTRACTOR), "")}
        for post, unit in MONTHLY_POSTS:
            if unit == vocabulary.SUPERVISOR:
                row["监理单位"] = units.get((pid, vocabulary.SUPERVISOR), "")
            label = f"{unit}{post}"
            row[f"{label}人数"] = figures[post]["holders"]
            row[f"{label}本月到岗天数"] = figures[post]["on_duty"]
            row[f"{label}本月到岗情况"] = _duty_summary(figures[post])
        row["统计天数"] = figures[PM]["working"]
        row["预警"] = "、".join(raised)
        rows.append(row)
    return _from_rollups(db, pd.DataFrame(rows))


def manager_monthly_detail(db: Database, scope: dict, month: str | Month | None, project_id: int) -> pd.DataFrame:
    """详细: each holder of the four posts on the project, with on-duty and absent days so far."""
    month = check_month(month)
    projects = _projects(db, {**scope, "_id": project_id})
    if not projects:
        raise DataError("project_id", "项目不存在或无权查看")
    p = projects[project_id]
    days, entries, attended = _monthly_figures(db, projects, month)
    people = _people(db, (e["worker_no"] for e in entries))
    working = _working(p, days)
    rows, seen = [], set()
    for post, unit in MONTHLY_POSTS:
        for e in sorted((e for e in entries if e["job"] == post), key=lambda e: e["worker_no"]):
            if (post, e["worker_no"]) in seen:
                continue
            seen.add((post, e["worker_no"]))
            person = people.get(e["worker_no"], {})
            on = len(attended.get((project_id, e["worker_no"]), set()) & set(working))
            rows.append({"单位类型": unit, "岗位": post, "姓名": person.get("name", ""),
                         "身份证号码": mask_id_number(person.get("id_number", "")), "到岗天数": on,
                         "未到岗天数": len(working) - on, "到岗率": percent(on, len(working))})
    return _from_rollups(db, pd.DataFrame(rows, columns=["单位类型", "岗位", "姓名", "身份证号码", "到岗天数", "未到岗天数", "到岗率"]))


# --- 首页 ---------------------------------------------------------------------------------------

def _devices_online(db: Database, devices: list[dict]) -> int:
    gateways = {d["_id"]: (d["updated_at"], bool(d.get("stopped")))
                for d in db.gateway_stats.find({}, {"updated_at": 1, "stopped": 1}) if d.get("updated_at")}
    window = liveness_window(_settings().stats_flush_seconds)
    return sum(1 for d in devices if presence(d, gateways, window=window)[0])


def home_today(db: Database, scope: dict) -> dict:
    """Today so far: punches, people who punched, devices online, 在建 projects without attendance."""
    today = site_today().isoformat()
    projects = _projects(db, scope)
    ids = set(projects)
    # One small document per project-day: the sets' sizes are taken by the server, not sent.
    days = {d["project_id"]: d for d in db[q.PROJECT_DAYS].aggregate([
        {"$match": q.on_day(today)},
        {"$project": {"project_id": 1, "punches": {"$size": {"$ifNull": ["$punch_ids", []]}},
                      "people": {"$size": {"$ifNull": ["$workers", []]}}}}]) if d["project_id"] in ids}
    punches = sum(d["punches"] for d in days.values())
    people = sum(d["people"] for d in days.values())
    active = [pid for pid, p in projects.items() if status_on(p, today) == UNDER_CONSTRUCTION]
    devices = [d for d in db.devices.find({"status": "active"}, {"project_id": 1, "online": 1, "gateway_id": 1,
                                                                 "last_seen": 1}) if d["project_id"] in ids]
    return {"day": today, "punches": punches, "people": people, "devices_online": _devices_online(db, devices),
            "devices": len(devices), "projects_active": len(active),
            "projects_without_attendance": sum(1 for pid in active if pid not in days),
            "updated_at": data_updated_at(db)}


def _trend_days(db: Database, ids: set[int], first: str, last: str) -> dict[tuple[int, str], dict]:
    """(project, day) → {"managers": 项目经理 and 总监理工程师 who punched} for each project-day of
    [first, last] (a project-day exists when somebody punched), from the month rollup."""
    out: dict[tuple[int, str], dict] = {}
    for doc in _month_docs(db, ids, first, last, {"people": 1, f"managers.{PM}": 1, f"managers.{CS}": 1}):
        managers = doc.get("managers") or {}
        for day in doc.get("people") or {}:
            if first <= day <= last:
                out[(doc["project_id"], day)] = {"managers": {post: by_day.get(day) for post, by_day in managers.items()}}
    return out


def county_trends(db: Database, scope: dict, days: int = 30) -> pd.DataFrame:
    """Per county and day of the last `days` days (today included): 更新率, 项目经理到岗率, 总监理工程师到岗率 (%)."""
    if not isinstance(days, int) or not 1 <= days <= 366:
        raise DataError("days", "天数须为 1 至 366")
    today = site_today()
    first = max(today - dt.timedelta(days=days - 1), _platform_start())
    dates = [(first + dt.timedelta(days=n)).isoformat() for n in range((today - first).days + 1)]
    projects = _projects(db, scope)
    ids = set(projects)
    pdays = _trend_days(db, ids, dates[0], dates[-1])
    entries = _entries(db, (PM, CS), ids, dates[0], dates[-1])
    rows = []
    for day in dates:
        holders = _holders_on(entries, day)
        for county in _scope_counties(scope):
            c = _execution_counts([p for p in projects.values() if p["county"] == county], pdays, holders, set(), day,
                                  with_people=False)
            rows.append({"日期": day, "地区": county, "更新率": round(ratio(c["punched"], c["total"]) * 100, 2),
                         "项目经理到岗率": round(ratio(c["pm_on_duty"], c["total"]) * 100, 2),
                         "总监理工程师到岗率": round(ratio(c["cs_on_duty"], c["total"]) * 100, 2)})
    return pd.DataFrame(rows, columns=["日期", "地区", "更新率", "项目经理到岗率", "总监理工程师到岗率"])


# --- 项目总览 -----------------------------------------------------------------------------------

def project_overview(db: Database, scope: dict, project_id: int) -> dict:
    """项目总览 (server/domain/project_overview.py builds it; the portal's landing reads the same)."""
    projects = _projects(db, {**scope, "_id": project_id})
    if not projects:
        raise DataError("project_id", "项目不存在或无权查看")
    today = site_today()
    month = Month.of(today)
    roster = list(db.roster.find({"project_id": project_id}, overview.ROSTER_FIELDS))
    pdays = {d["date"]: d for d in db[q.PROJECT_DAYS].find(q.project_between(project_id, month.first, today),
                                                            q.PROJECT_DAY_WITH_PEOPLE)}
    names = _supplier_names(db)
    devices = [{**d, "supplier": _device_supplier(d, names), "online": _devices_online(db, [d]) == 1}
               for d in _approved_devices(db, {project_id})]
    people = _people(db, overview.key_post_workers(roster, today))
    return overview.build(projects[project_id], roster=roster, project_days=pdays,
                          teams={t["_id"]: t for t in db.teams.find({"project_id": project_id}, {"name": 1})},
                          names={n: p.get("name", "") for n, p in people.items()}, devices=devices,
                          qualified=project_id in qualified_projects(db, {project_id}), today=today, now=utcnow())
