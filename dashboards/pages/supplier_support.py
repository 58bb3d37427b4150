"""设备商支撑情况 (guide 2.10.3): per device supplier, the projects it supports and their upload and update figures."""
from __future__ import annotations

import dash
from dash import html

from dashboards import components as c

P = "suppliers"
TITLE = "设备商支撑情况"
dash.register_page(__name__, path="/supplier-support", name=TITLE, title=TITLE, order=3)

DEFINITIONS = (
    "支撑的项目总数：该设备商有已审核通过的考勤设备的在建项目数。",
    "上传情况与更新情况按这些项目计算，口径同“县区执行情况”：上传成功率 = 上传成功项目数 ÷ 支撑的项目总数；更新率 = 有考勤项目数 ÷ 支撑的项目总数。",
)


def layout(**_query):
    return html.Div([c.page_header(TITLE, *DEFINITIONS), c.filters(("日期", c.day_picker(P))), c.result(P)])


c.table_callbacks(P, TITLE, [(f"{P}-day", "date")],
                  lambda data, db, scope, day, exporting: data.supplier_support(db, scope, c.as_day(day)))
