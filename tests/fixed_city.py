"""The small fixed city of the data-layer tests, built through the real stores.

蓬江区: P1 甲项目 (在建; 项目经理 M, 总监理工程师 C, 安全员 S who exits on 2026-10-16, workers W1 W2)
        P2 乙项目 (停工 from 2026-10-20, mid-month, never resumed; 项目经理 M again — one manager, two projects)
江海区: P3 丙项目 (在建; no 项目经理, no 总监理工程师; worker W3)
Today: one punch, W2 on P1 at 00:00:00.
Devices: supplier 甲设备 (VA) production on P1 and P3; 乙设备 (VB) production on P2; 丙设备 (VC) only in
the test environment on P3.
"""
from __future__ import annotations

import datetime as dt
import random

from server import synthetic
from server.store import devices, people, projects, workforce
from server.store import rollup_months, roster_entries
from server.store.rollups import PunchTail
from server.domain.site_clock import site_today

from punch_support import drain, write_punches

SINCE = dt.date(2024, 1, 1)

# Figures worked out by hand from the city below, checked against the data module (test_data.py)
# and against what each dashboard page shows and exports (test_dashboard_pages.py).
# 县区执行情况, 2026-10-31, 蓬江区: P1 在建; P2 停工 since the 20th is not counted. P1 punched by C and W1 (23:59:59).
PENGJIANG_OCTOBER_31 = {
    "地区": "蓬江区", "在建项目总数": 1, "上传成功项目数": 0, "上传失败项目数": 1, "上传成功率": "0.00%",
    "有考勤项目数": 1, "无考勤项目数": 0, "更新率": "100.00%", "考勤人数": 2, "平均考勤人数": 2.0,
    "项目经理登记比例": "100.00%", "项目经理到岗率": "0.00%", "总监理工程师登记比例": "100.00%",
    "总监理工程师到岗率": "100.00%"}
# 设备商支撑情况, 2026-10-31: 甲设备 on P1 and P3, both punched; 乙设备's P2 is stopped; 丙设备 only in the test environment.
SUPPLIERS_OCTOBER_31 = [
    {"设备商": "甲设备有限公司", "支撑的项目总数": 2, "上传成功项目数": 0, "上传失败项目数": 2, "上传成功率": "0.00%",
     "有考勤项目数": 2, "无考勤项目数": 0, "更新率": "100.00%"}]
# 管理人员考勤情况, 2026-10, 项目经理 M on P1: days 1–28 → (天数总计(天), 月考勤率).
P1_MANAGER_OCTOBER = (28, "90.32%")
# 管理人员月考勤统计, 2026-10, P1's 项目经理.
P1_MANAGER_MONTHLY_OCTOBER = "到岗28天 未到岗3天 到岗率90.32%"


def p1_execution_october_31(facts: dict) -> dict:
    """各项目执行情况, 2026-10-31, P1: M, C, W1, W2 entered (S exited on the 16th); C and W1 punched."""
    return {"项目编号": facts["P1"], "项目名称": "甲项目", "所在地": "蓬江区", "项目状态": "在建", "是否上传省厅": "未上传",
            "在职人数": 4, "考勤人数": 2, "项目经理是否到岗": "否", "总监理工程师是否到岗": "是"}


def days(month: str, first: int, last: int, at: str = "08:00:00") -> list[str]:
    return [f"{month}-{d:02d}T{at}" for d in range(first, last + 1)]


async def build(db) -> dict:
    rng = random.Random(12)
    photo = synthetic.jpeg_photo(rng, target_bytes=2000)
    p1 = await workforce.create_project(db, name="甲项目", county="蓬江区", status_date=SINCE)
    p2 = await workforce.create_project(db, name="乙项目", county="蓬江区", status_date=SINCE)
    p3 = await workforce.create_project(db, name="丙项目", county="江海区", status_date=SINCE)
    gc = await workforce.create_enterprise(db, credit_code=synthetic.credit_code(rng), name="江门甲建筑有限公司")
    sv = await workforce.create_enterprise(db, credit_code=synthetic.credit_code(rng), name="江门乙监理有限公司")

    async def person():
        card = people.check_person_card({"id_number": synthetic.id_number(rng), "name": synthetic.chinese_name(rng),
                                         "nation": "01"})
        p, _ = await people.enroll(db, card, id_photo=photo, capture_photo=photo, source={"test": True})
        return p

    async def site(project_id, with_supervisor):
        unit = await workforce.add_unit(db, project_id=project_id, enterprise_id=gc["_id"], unit_type="施工总承包单位",
                                        entry_date=SINCE)
        out = {"gc": await workforce.manager_team(db, unit["_id"]),
               "workers": await workforce.add_team(db, project_id=project_id, unit_id=unit["_id"], name="土建",
                                                   entry_date=SINCE)}
        if with_supervisor:
            sunit = await workforce.add_unit(db, project_id=project_id, enterprise_id=sv["_id"], unit_type="监理单位",
                                             entry_date=SINCE)
            out["sv"] = await workforce.manager_team(db, sunit["_id"])
        return out

    s1, s2, s3 = await site(p1["_id"], True), await site(p2["_id"], False), await site(p3["_id"], False)
    m, c, s, w1, w2, w3 = [await person() for _ in range(6)]

    async def enter(project, team, who, job):
        await roster_entries.enter_person(db, project_id=project["_id"], worker_no=who["worker_no"],
                                          team_id=team["_id"], job=job, entry_date=SINCE)
    await enter(p1, s1["gc"], m, "项目经理")
    await enter(p1, s1["sv"], c, "总监理工程师")
    await enter(p1, s1["gc"], s, "安全员")
    await enter(p1, s1["workers"], w1, "普通工人")
    await enter(p1, s1["workers"], w2, "普通工人")
    await enter(p2, s2["gc"], m, "项目经理")
    await enter(p3, s3["workers"], w3, "普通工人")

    P1, P2, P3 = p1["_id"], p2["_id"], p3["_id"]
    M, C, S, W1, W2, W3 = (x["worker_no"] for x in (m, c, s, w1, w2, w3))
    punches = (
        # M on P1: October 1–27 at 08:00, 27 at 23:59:59, 28 at 00:00:00 → days 1–28 (28 of 31)
        [(P1, M, t, False, None) for t in days("2026-10", 1, 27)]
        + [(P1, M, "2026-10-27T23:59:59", False, None), (P1, M, "2026-10-28T00:00:00", False, None)]
        + [(P1, M, "2026-10-05T08:00:00", False, None)] * 2            # re-sent: the same punch again
        + [(P2, M, t, False, None) for t in days("2026-10", 1, 25, "14:00:00")]  # 20–25 fall on 停工 days
        + [(P1, C, "2026-10-31T08:00:00", False, None)]                # the month's last day (range upper bound)
        + [(P1, S, t, False, None) for t in days("2026-10", 1, 15)]   # exits on the 16th
        + [(P1, W1, "2026-10-03T08:00:00", True, None)]                # test environment: never counts
        + [(P1, W1, "2026-10-31T23:59:59", False, None), (P1, W1, "2026-11-01T00:00:00", False, None)]
        + [(P1, W2, "2026-10-30T17:00:00", False, None)]               # a late device clock, received now: the 30th
        + [(P3, W3, "2026-10-31T08:00:00", False, None)]
        + [(P1, M, t, False, None) for t in days("2026-02", 1, 14)]   # 28-day month
        + [(P1, M, t, False, None) for t in days("2024-02", 1, 28)]   # 29-day month
        + [(P1, M, t, False, None) for t in days("2026-11", 1, 3)]    # 30-day month
        + [(P1, W2, f"{site_today()}T00:00:00", False, None)]         # today so far
    )
    await write_punches(db, punches)
    await roster_entries.exit_person(db, project_id=P1, worker_no=S, exit_date=dt.date(2026, 10, 16))
    await projects.change_status(db, P2, status="停工", day=dt.date(2026, 10, 20), reason="资金", actor="test")
    for vendor, name, code in (("VA", "甲设备有限公司", "1"), ("VB", "乙设备有限公司", "2"), ("VC", "丙设备有限公司", "3")):
        await db.suppliers.insert_one({"name": name, "credit_code": f"91440700MA5{code * 7}", "vendor_code": vendor,
                                       "scopes": [{"scope": "attendance", "state": "approved"}],
                                       "created_at": dt.datetime.now(dt.timezone.utc)})
    await devices.register(db, project_id=P1, vendor_code="VA", device_id="A-1", environment="production")
    await devices.register(db, project_id=P3, vendor_code="VA", device_id="A-3", environment="production")
    await devices.register(db, project_id=P2, vendor_code="VB", device_id="B-2", environment="production")
    await devices.register(db, project_id=P3, vendor_code="VC", device_id="C-3", environment="test")
    return {"P1": P1, "P2": P2, "P3": P3, "M": M, "C": C, "S": S, "W1": W1, "W2": W2, "W3": W3,
            "ids": {"M": m["id_number"], "S": s["id_number"]}}


async def build_folded(db) -> dict:
    """The city written through the stores and folded by the real rollup tail (following the stream first)."""
    tail = PunchTail(db)
    await tail.open()
    facts = await build(db)
    await drain(tail)
    await rollup_months.refresh(db)   # as the rollup_fold job does after its tail pass
    return facts
