"""县区执行情况 (guide 2.10.1): per county and the 汇总 row, for a day; a county's 在建项目总数 drills down."""
from __future__ import annotations

import urllib.parse

import dash
from dash import html

from dashboards import components as c

P = "county"
TITLE = "县区执行情况"
dash.register_page(__name__, path="/county-execution", name=TITLE, title=TITLE, order=1)

DEFINITIONS = (
    "统计对象：所选日期县区内状态为“在建”的项目；停工项目当日不计入各项比率。",
    "上传成功/失败项目数：项目合格/不合格的项目数（项目、参建单位、班组均上传成功，且上传成功的在职人员比例达到设定标准）；上传成功率 = 上传成功项目数 ÷ 在建项目总数。",
    "有考勤项目数：当日至少有 1 条考勤记录的项目；更新率 = 有考勤项目数 ÷ 在建项目总数。",
    "考勤人数：当日打卡的不重复人数；平均考勤人数 = 考勤人数 ÷ 有考勤项目数。",
    "项目经理登记比例 = 已登记项目经理的项目数 ÷ 在建项目总数；到岗率 = 项目经理当日打卡的项目数 ÷ 在建项目总数；总监理工程师同理。",
    "汇总行：各项数量相加，比率由相加后的数量重新计算（不是各县区比率的平均）。",
)


def layout(**_query):
    return html.Div([c.page_header(TITLE, *DEFINITIONS), c.filters(("日期", c.day_picker(P))), c.result(P)])


def _drill_down(row: dict, day: str | None = None) -> str:
    """各项目执行情况 for the county on the day this table shows (not today's)."""
    county = row.get("地区")
    if not county or county == "汇总":
        return ""
    query = {"county": county, **({"day": str(day)[:10]} if day else {})}
    return dash.get_relative_path("/project-execution?" + urllib.parse.urlencode(query))


c.table_callbacks(P, TITLE, [(f"{P}-day", "date")],
                  lambda data, db, scope, day, exporting: data.county_execution(db, scope, c.as_day(day)),
                  links={"在建项目总数": _drill_down})
