"""项目总览: one project's record, upload state, today's presence, key posts on duty, devices, month rate, to-dos."""
from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, callback, dcc, html

from dashboards import components as c

P = "overview"
TITLE = "项目总览"
dash.register_page(__name__, path="/project-overview", name=TITLE, title=TITLE, order=7)

DEFINITIONS = (
    "今日在场：已进场且当日未退场的人员；出勤：其中当日有打卡的人员（按班组统计）。",
    "关键岗位：项目经理、技术负责人、安全员（施工总承包单位）与总监理工程师（监理单位），当日是否打卡。",
    "设备：超过 2 天未上报任何数据的设备视为中断（考勤中止不得超过 2 天）。",
    "本月考勤率：本月出勤人天 ÷ 在场人天，停工日不计。",
)


def layout(project: str | None = None, **_query):
    return html.Div([
        c.page_header(TITLE, *DEFINITIONS),
        c.filters(("项目编号", dcc.Input(id=f"{P}-project", type="text", value=project or "", debounce=True,
                                         placeholder="请输入项目编号"))),
        c.message(P), dcc.Loading(html.Div(id=f"{P}-result"))])


@callback(Output(f"{P}-result", "children"), Output(f"{P}-message", "children"), Input(f"{P}-project", "value"))
def show(project):
    if not (project or "").strip():
        return html.Div(), "请输入项目编号"
    if not project.strip().isdigit():
        return html.Div(), "项目编号：须为数字"
    sections, error = c.fetch(lambda data, db, scope: data.project_overview(db, scope, int(project)))
    if sections is None:
        return html.Div(), error
    if isinstance(sections, pd.DataFrame):
        sections = {TITLE: sections}
    return html.Div([html.Section([html.H3(name), c.table(f"{P}-{i}", frame)])
                     for i, (name, frame) in enumerate(sections.items())]), ""
