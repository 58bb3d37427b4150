"""The dashboards' data layer against a small fixed city (tests/fixed_city.py), folded by the real
rollup tail; every expected figure is worked out by hand in the comments."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo import MongoClient

from dashboards import data
from dashboards.data import DataError
from server.domain.identity import mask_id_number
from server.store.db import open_database

import fixed_city as city

COUNTIES = ["市辖区", "蓬江区", "江海区", "新会区", "台山市", "开平市", "鹤山市", "恩平市", "汇总"]


@pytest.fixture(scope="module")
def town(mongo_uri):
    name = f"t_{uuid.uuid4().hex[:12]}"

    async def main():
        client, db = await open_database(mongo_uri, name, app_name="tests")
        try:
            return await city.build_folded(db)
        finally:
            await client.close()
    facts = asyncio.run(main())
    client = MongoClient(mongo_uri, tz_aware=True)
    yield client[name], facts
    client.drop_database(name)
    client.close()


def row(frame, column, value):
    rows = frame[frame[column] == value]
    assert len(rows) == 1, (value, frame)
    return rows.iloc[0].to_dict()


def test_county_execution_on_the_months_last_day(town):
    db, f = town
    table = data.county_execution(db, {}, "2026-10-31")
    assert list(table.columns) == data.COUNTY_COLUMNS
    assert list(table["地区"]) == COUNTIES
    # 蓬江区: P1 在建; P2 停工 since the 20th is not counted. P1 punched by C and W1 (23:59:59) → 2 people.
    assert row(table, "地区", "蓬江区") == city.PENGJIANG_OCTOBER_31
    assert row(table, "地区", "江海区")["考勤人数"] == 1
    assert row(table, "地区", "江海区")["项目经理登记比例"] == "0.00%"
    # 汇总: 2 projects, both punched, 3 people, 1.5 each; one of two has each post entered and C punched.
    total = row(table, "地区", "汇总")
    assert (total["在建项目总数"], total["有考勤项目数"], total["考勤人数"], total["平均考勤人数"]) == (2, 2, 3, 1.5)
    assert (total["项目经理登记比例"], total["项目经理到岗率"], total["总监理工程师到岗率"]) == ("50.00%", "0.00%", "50.00%")
    assert row(table, "地区", "新会区")["在建项目总数"] == 0


def test_county_execution_counts_a_manager_on_two_projects_once(town):
    db, f = town
    table = data.county_execution(db, {}, "2026-10-15")
    # 15 October: P1 and P2 both 在建; M punched on both, S on P1 → 2 distinct people in 蓬江区.
    pj = row(table, "地区", "蓬江区")
    assert (pj["在建项目总数"], pj["有考勤项目数"], pj["考勤人数"], pj["平均考勤人数"]) == (2, 2, 2, 1.0)
    assert (pj["项目经理登记比例"], pj["项目经理到岗率"]) == ("100.00%", "100.00%")
    assert (pj["总监理工程师登记比例"], pj["总监理工程师到岗率"]) == ("50.00%", "0.00%")
    assert row(table, "地区", "江海区")["更新率"] == "0.00%"
    # The day after the 00:00:00 punch: only M on P1 (the 28th).
    assert row(data.county_execution(db, {}, "2026-10-28"), "地区", "蓬江区")["考勤人数"] == 1


def test_a_county_caller_sees_only_its_county(town):
    db, f = town
    table = data.county_execution(db, {"county": "蓬江区"}, "2026-10-31")
    assert list(table["地区"]) == ["蓬江区", "汇总"]
    assert row(table, "地区", "汇总")["考勤人数"] == 2
    execution = data.project_execution(db, {"county": "蓬江区"}, "2026-10-31")
    assert set(execution["项目名称"]) == {"甲项目", "乙项目"}
    with pytest.raises(DataError) as refused:
        data.project_execution(db, {"county": "蓬江区"}, "2026-10-31", county="江海区")
    assert refused.value.field == "county"
    assert list(data.manager_attendance(db, {"county": "江海区"}, "2026-10", "项目经理")["姓名"]) == []
    two = {"county": {"$in": ["江海区", "蓬江区"]}}
    assert list(data.county_execution(db, two, "2026-10-31")["地区"]) == ["蓬江区", "江海区", "汇总"]
    assert list(data.project_execution(db, two, "2026-10-31", county="江海区")["项目名称"]) == ["丙项目"]


def test_project_execution(town):
    db, f = town
    table = data.project_execution(db, {}, "2026-10-31")
    assert list(table["项目编号"]) == [f["P1"], f["P2"], f["P3"]]
    # P1: M, C, W1, W2 entered (S exited on the 16th); C and W1 punched.
    assert row(table, "项目名称", "甲项目") == city.p1_execution_october_31(f)
    p2 = row(table, "项目名称", "乙项目")
    assert (p2["项目状态"], p2["在职人数"], p2["考勤人数"], p2["总监理工程师是否到岗"]) == ("停工", 1, 0, "未设置")
    # 15 October: S still entered on P1 → 5; P2 still 在建.
    earlier = data.project_execution(db, {}, "2026-10-15")
    assert row(earlier, "项目名称", "甲项目")["在职人数"] == 5
    assert row(earlier, "项目名称", "乙项目")["项目状态"] == "在建"
    assert list(data.project_execution(db, {}, "2026-10-31", status="停工")["项目名称"]) == ["乙项目"]
    assert list(data.project_execution(db, {}, "2026-10-31", name="丙")["项目名称"]) == ["丙项目"]
    assert list(data.project_execution(db, {}, "2026-10-31", supplier="甲设备")["项目名称"]) == ["甲项目", "丙项目"]
    assert list(data.project_execution(db, {}, "2026-10-31", county="江海区")["项目名称"]) == ["丙项目"]


def test_supplier_support(town):
    db, f = town
    table = data.supplier_support(db, {}, "2026-10-31")
    assert list(table.columns) == data.SUPPLIER_COLUMNS
    # 甲设备: P1 and P3, both punched; 乙设备's P2 is stopped that day; 丙设备 is only in the test environment.
    assert table.to_dict("records") == city.SUPPLIERS_OCTOBER_31
    earlier = data.supplier_support(db, {}, "2026-10-16")
    # 16 October: P1 punched by M, P3 not at all → 50.00%; P2 (乙设备) punched by M.
    assert row(earlier, "设备商", "甲设备有限公司")["更新率"] == "50.00%"
    assert row(earlier, "设备商", "乙设备有限公司")["有考勤项目数"] == 1


def test_manager_attendance_months_of_28_29_30_31_days(town):
    db, f = town
    october = data.manager_attendance(db, {}, "2026-10", "项目经理")
    assert "31日" in october.columns and "32日" not in october.columns
    p1 = row(october, "项目名称", "甲项目")
    # Days 1–28 (the 23:59:59 and re-sent punches add no day, the 00:00:00 one is the 28th): 28 of 31.
    assert (p1["天数总计(天)"], p1["月考勤率"]) == city.P1_MANAGER_OCTOBER
    assert p1["28日"] == "√" and p1["29日"] == "" and p1["身份证号码"] == mask_id_number(f["ids"]["M"])
    # The same manager on P2: 1–19 worked; 20–31 stopped (punches on 20–25 unmarked) → 19 of 19.
    p2 = row(october, "项目名称", "乙项目")
    assert (p2["天数总计(天)"], p2["月考勤率"], p2["19日"], p2["20日"]) == (19, "100.00%", "√", "")
    february = data.manager_attendance(db, {}, "2026-02", "项目经理")
    assert "28日" in february.columns and "29日" not in february.columns
    assert row(february, "项目名称", "甲项目")["月考勤率"] == "50.00%"        # 14 of 28
    assert row(february, "项目名称", "乙项目")["天数总计(天)"] == 0
    leap = data.manager_attendance(db, {}, "2024-02", "项目经理")
    assert "29日" in leap.columns
    assert row(leap, "项目名称", "甲项目")["月考勤率"] == "96.55%"            # 28 of 29
    november = data.manager_attendance(db, {}, "2026-11", "项目经理", county="蓬江区")
    assert "30日" in november.columns and "31日" not in november.columns
    assert row(november, "项目名称", "甲项目")["月考勤率"] == "10.00%"        # 3 of 30


def test_manager_attendance_exit_upper_bound_search_and_unmask(town):
    db, f = town
    safety = data.manager_attendance(db, {}, "2026-10", "安全员")
    assert (safety.iloc[0]["天数总计(天)"], safety.iloc[0]["月考勤率"]) == (15, "48.39%")   # exited the 16th
    chief = data.manager_attendance(db, {}, "2026-10", "总监理工程师")
    assert (chief.iloc[0]["31日"], chief.iloc[0]["月考勤率"]) == ("√", "3.23%")           # the range's last day
    assert len(data.manager_attendance(db, {}, "2026-10", "项目经理", query=f["ids"]["M"])) == 2
    assert len(data.manager_attendance(db, {}, "2026-10", "项目经理", query="没有这个人")) == 0
    unmasked = data.manager_attendance(db, {}, "2026-10", "安全员", unmask=True)
    assert unmasked.iloc[0]["身份证号码"] == f["ids"]["S"]


def test_manager_monthly_flags(town):
    db, f = town
    october = data.manager_monthly(db, {}, "2026-10")
    p1 = row(october, "项目名称", "甲项目")
    assert p1["施工总承包单位项目经理人数"] == 1 and p1["施工总承包单位项目经理本月到岗天数"] == 28
    assert p1["施工总承包单位项目经理本月到岗情况"] == city.P1_MANAGER_MONTHLY_OCTOBER
    assert p1["施工总承包单位技术负责人本月到岗情况"] == "未设置"
    assert p1["施工总承包单位安全员本月到岗天数"] == 15 and p1["监理单位总监理工程师本月到岗天数"] == 1
    assert p1["施工总承包单位"] == "江门甲建筑有限公司" and p1["监理单位"] == "江门乙监理有限公司"
    assert p1["预警"] == "未设置技术负责人、总监理工程师月出勤不达标、安全员月出勤不达标"
    p2 = row(october, "项目名称", "乙项目")
    assert (p2["项目状态"], p2["统计天数"], p2["施工总承包单位项目经理本月到岗天数"]) == ("停工", 19, 19)
    assert p2["预警"] == "未设置总监理工程师、未设置安全员、未设置技术负责人"
    assert row(october, "项目名称", "丙项目")["预警"] == "未设置项目经理、未设置总监理工程师、未设置安全员、未设置技术负责人"
    only = data.manager_monthly(db, {}, "2026-10", flags=["未设置项目经理"])
    assert list(only["项目名称"]) == ["丙项目"]
    november = data.manager_monthly(db, {}, "2026-11", flags=["本月总监理工程师未在岗"])
    assert list(november["项目名称"]) == ["甲项目"]          # C entered, no punch in November; P2 stopped all month
    # This month (on its 1st nothing is counted yet): the posts entered are still entered, not 未设置.
    current = row(data.manager_monthly(db, {}, None), "项目名称", "甲项目")
    assert (current["施工总承包单位项目经理人数"], current["监理单位总监理工程师人数"]) == (1, 1)
    assert "未设置项目经理" not in current["预警"] and "未设置安全员" in current["预警"]   # S exited in October
    detail = data.manager_monthly_detail(db, {}, "2026-10", f["P1"])
    assert detail[["岗位", "到岗天数", "未到岗天数", "到岗率"]].values.tolist() == [
        ["项目经理", 28, 3, "90.32%"], ["安全员", 15, 16, "48.39%"], ["总监理工程师", 1, 30, "3.23%"]]
    with pytest.raises(DataError):
        data.manager_monthly_detail(db, {"county": "江海区"}, "2026-10", f["P1"])


def test_bad_input_is_refused_with_a_reason(town):
    db, f = town
    cases = [(lambda: data.county_execution(db, {}, "2099-01-01"), "day"),
             (lambda: data.county_execution(db, {}, "2021-12-31"), "day"),
             (lambda: data.county_execution(db, {}, "31/10/2026"), "day"),
             (lambda: data.manager_attendance(db, {}, "2026-13", "项目经理"), "month"),
             (lambda: data.manager_attendance(db, {}, "2099-01", "项目经理"), "month"),
             (lambda: data.manager_attendance(db, {}, "2026-10", "厨师"), "post"),
             (lambda: data.project_execution(db, {}, "2026-10-31", county="火星区"), "county"),
             (lambda: data.manager_monthly(db, {}, "2026-10", flags=["随便"]), "flags")]
    for call, field in cases:
        with pytest.raises(DataError) as refused:
            call()
        assert refused.value.field == field and refused.value.message


def test_overview_trends_and_today(town):
    db, f = town
    overview = data.project_overview(db, {}, f["P1"])
    assert overview["status"] == "在建" and overview["upload"] == "未上传"
    assert overview["entered"] == 4 and [p["name"] for p in overview["posts"]["安全员"]] == []
    assert "未设置总监理工程师" not in overview["to_fix"]
    with pytest.raises(DataError):
        data.project_overview(db, {"county": "江海区"}, f["P1"])
    trends = data.county_trends(db, {}, days=40)
    assert set(trends["地区"]) == set(COUNTIES[:-1])
    assert overview["punched"] == 1                                     # W2 at 00:00:00 today
    assert {"team": "土建", "entered": 2, "punched": 1} in overview["presence"]
    today = data.home_today(db, {})
    assert (today["punches"], today["people"], today["projects_active"], today["projects_without_attendance"],
            today["devices"], today["devices_online"]) == (1, 1, 2, 1, 4, 0)
    assert data.home_today(db, {"county": "江海区"})["punches"] == 0


def test_the_month_rollup_says_what_the_fixed_citys_project_days_say(town):
    """The month pages read att_project_months: on the fixed city (a stop mid-month, a manager on two
    projects, midnight punches) it holds exactly what the project-days hold."""
    from punch_support import months_from_project_days, stored_months
    db, f = town
    months = stored_months(db)
    assert months == months_from_project_days(db)
    october = months[f"{f['P1']}|2026-10"]
    assert len(october["managers"]["项目经理"]) == city.P1_MANAGER_OCTOBER[0]
