"""项目总览 from records already read: pure, so the Dash page (synchronous reads) and the project
account's portal landing (asynchronous reads) show the same figures by the same rules.

Definitions (domain.md; shown on both pages):
- 今日在场: entered and not exited today; 出勤: of those, who punched today (by team).
- 关键岗位: 项目经理, 技术负责人, 安全员 and 总监理工程师 held today, each on duty when that person punched.
- 本月考勤率: person-days punched / person-days entered this month so far, 停工 days left out.
- A device silent for more than two days is to be fixed (考勤中止不得超过 2 天).
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from . import project_status, vocabulary
from .attendance_grid import Month
from .rollups import KEY_POSTS, holds_on, percent, status_on
from .site_clock import parse_day

DEVICE_SILENT_DAYS = 2  # 因设备故障导致考勤中止的时间不得超过2天
PROJECT_FIELDS = ("_id", "name", "county", "category", "address", "permit_no")
QUALIFIED_WORD, NOT_QUALIFIED_WORD = "已上传", "未上传"
DEFINITIONS = (
    "今日在场：已进场且当日未退场的人员；出勤：其中当日有打卡的人员（按班组统计）。",
    "关键岗位：项目经理、技术负责人、安全员（施工总承包单位）与总监理工程师（监理单位），当日是否打卡。",
    f"设备：超过 {DEVICE_SILENT_DAYS} 天未上报任何数据的设备视为中断（考勤中止不得超过 2 天）。",
    "本月考勤率：本月出勤人天 ÷ 在场人天，停工日不计。",
)


def supplier_name(device: dict, by_id: dict, by_vendor: dict) -> str:
    """Who supplied a device: its access's supplier, else the supplier of its vendor code, else the code."""
    return by_id.get(device.get("supplier_id")) or by_vendor.get(device["vendor_code"]) or device["vendor_code"]


def working_days(periods: list[dict], dates: Iterable[str]) -> list[str]:
    """The dates the project was not stopped (停工 days are left out of every rate)."""
    dates = list(dates)
    if not periods:  # most projects never stopped: no date to parse
        return dates
    return [d for d in dates if not project_status.is_stopped(periods, parse_day(d))]


def month_rate(periods: list[dict], roster: list[dict], punched_by_day: dict[str, set], days: list[str]) -> str:
    """Person-days punched / person-days entered over `days`, 停工 days left out."""
    expected = punched = 0
    for day in working_days(periods, days):
        present = {e["worker_no"] for e in roster if holds_on(e, day)}
        expected += len(present)
        punched += len(present & punched_by_day.get(day, set()))
    return percent(punched, expected)


def build(project: dict, *, roster: list[dict], project_days: dict[str, dict], teams: dict, names: dict[int, str],
          devices: list[dict], qualified: bool, today: dt.date, now: dt.datetime) -> dict:
    """`project` carries its stop `periods`; `project_days` are this month's rollups by date (with their
    `workers` and `managers`); `devices` are the project's production devices, each with its
    `supplier` name and whether it is `online` now."""
    today_text = today.isoformat()
    punched_by_day = {day: set(d.get("workers", ())) for day, d in project_days.items()}
    punched_today = punched_by_day.get(today_text, set())
    present = [e for e in roster if holds_on(e, today_text)]
    by_team: dict[str, dict] = {}
    for e in present:
        team = by_team.setdefault(teams.get(e.get("team_id"), {}).get("name", ""), {"entered": 0, "punched": 0})
        team["entered"] += 1
        team["punched"] += e["worker_no"] in punched_today
    on_duty_today = (project_days.get(today_text) or {}).get("managers") or {}
    posts = {post: [{"name": names.get(e["worker_no"], ""), "on_duty": e["worker_no"] in on_duty_today.get(post, ())}
                    for e in present if e["job"] == post] for post in KEY_POSTS}
    shown_devices = []
    for d in devices:
        silent = d.get("last_seen") is None or (now - d["last_seen"]) > dt.timedelta(days=DEVICE_SILENT_DAYS)
        shown_devices.append({"device_id": d["device_id"], "supplier": d["supplier"], "online": d["online"],
                              "last_seen": d.get("last_seen"), "silent_too_long": silent and not d["online"]})
    to_fix = [f"未设置{post}" for post in (vocabulary.PROJECT_MANAGER, vocabulary.CHIEF_SUPERVISOR) if not posts[post]]
    to_fix += [f"{d['device_id']} 超过{DEVICE_SILENT_DAYS}天未上传数据" for d in shown_devices if d["silent_too_long"]]
    if not qualified:
        to_fix.append("项目未上传省厅（未合格）")
    month_days = [d.isoformat() for d in Month.of(today).dates() if d <= today]
    return {"project": {k: project.get(k) for k in PROJECT_FIELDS},
            "status": status_on(project, today_text), "stop_periods": project["periods"],
            "qualified": qualified, "upload": QUALIFIED_WORD if qualified else NOT_QUALIFIED_WORD,
            "presence": [{"team": t, **v} for t, v in sorted(by_team.items())],
            "entered": len(present), "punched": len(punched_today & {e["worker_no"] for e in present}),
            "posts": posts, "devices": shown_devices,
            "month_rate": month_rate(project["periods"], roster, punched_by_day, month_days),
            "to_fix": to_fix}


# What both readers fetch for the builder.
ROSTER_FIELDS = {"worker_no": 1, "team_id": 1, "job": 1, "entry_date": 1, "exit_date": 1}
DEVICE_FIELDS = {"project_id": 1, "vendor_code": 1, "supplier_id": 1, "environment": 1, "device_id": 1, "online": 1,
                 "last_seen": 1, "gateway_id": 1, "install_place": 1}


def key_post_workers(roster: list[dict], today: dt.date) -> set[int]:
    """Whose names the overview shows: the holders of the key posts today."""
    return {e["worker_no"] for e in roster if e["job"] in KEY_POSTS and holds_on(e, today.isoformat())}
