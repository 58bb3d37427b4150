"""管理人员月考勤统计 (guide 2.11.3): per project the key posts' counts and on-duty days this month, with the flags."""
from __future__ import annotations

import dash
from dash import dcc, html

from dashboards import components as c
from dashboards import data

P = "monthly"
TITLE = "管理人员月考勤统计"
dash.register_page(__name__, path="/manager-monthly", name=TITLE, title=TITLE, order=5)

# The guide's twelve filters, in its order: the data module's own names, so that each one filters.
FLAGS = data.FLAGS

DEFINITIONS = (
    "统计对象：施工总承包单位的项目经理、安全员、技术负责人，监理单位的总监理工程师。",
    "更新频率：每天凌晨，统计截止前一日的到岗情况；本月到岗天数 = 截至前一日本月有打卡的天数，停工日不计。",
    "未设置…：该岗位没有登记人员；本月…未在岗：本月到岗 0 天；…月出勤不达标：月到岗率低于设定标准（默认 80%）。",
    "点击项目名称查看该项目的总览（详细）。",
)


def layout(**_query):
    return html.Div([
        c.page_header(TITLE, *DEFINITIONS),
        c.filters(("月份", c.month_picker(P))),
        dcc.Checklist(id=f"{P}-flags", options=list(FLAGS), value=[], inline=True, className="flags"),
        c.result(P)])


def _detail(row: dict, *_filters) -> str:
    project_id = row.get("项目编号")
    return dash.get_relative_path(f"/project-overview?project={int(project_id)}") if project_id not in (None, "") else ""


c.table_callbacks(P, TITLE, [(f"{P}-month", "value"), (f"{P}-flags", "value")],
                  lambda data, db, scope, month, flags, exporting:
                  data.manager_monthly(db, scope, c.as_month(month), flags=tuple(flags or ())),
                  links={"项目名称": _detail})
