"""项目总览: one project's record, upload state, today's presence, key posts on duty, devices, month rate, to-dos."""
from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, callback, dcc, html

from dashboards import components as c
from dashboards import data
from server.domain import project_overview as overview

P = "overview"
TITLE = "项目总览"
dash.register_page(__name__, path="/project-overview", name=TITLE, title=TITLE, order=7)


def layout(project: str | None = None, **_query):
    return html.Div([
        c.page_header(TITLE, *overview.DEFINITIONS),
        c.filters(("项目编号", dcc.Input(id=f"{P}-project", type="text", value=project or "", debounce=True,
                                         placeholder="请输入项目编号"))),
        c.message(P), dcc.Loading(html.Div(id=f"{P}-result"))])


@callback(Output(f"{P}-result", "children"), Output(f"{P}-message", "children"), Input(f"{P}-project", "value"))
def show(project):
    if not (project or "").strip():
        return html.Div(), "请输入项目编号"
    if not project.strip().isdigit():
        return html.Div(), "项目编号：须为数字"
    overview, error = c.fetch(lambda data, db, scope: data.project_overview(db, scope, int(project)))
    if overview is None:
        return html.Div(), error
    return html.Div([html.Section([html.H3(name), c.table(f"{P}-{i}", frame)])
                     for i, (name, frame) in enumerate(sections(overview).items())]
                    + [html.Section([html.H3("待整改"), html.Ul([html.Li(t) for t in overview["to_fix"]] or
                                                               [html.Li("无")])])]), ""


def sections(o: dict) -> dict[str, pd.DataFrame]:
    """project_overview's record as the page's titled tables."""
    p = o["project"]
    record = [("项目编号", p["_id"]), ("项目名称", p["name"]), ("项目所在地", p["county"]),
              ("项目类型", p.get("category") or ""), ("项目地址", p.get("address") or ""),
              ("施工许可证号", p.get("permit_no") or ""), ("项目状态", o["status"]), ("是否上传省厅", o["upload"]),
              ("今日在场人数", o["entered"]), ("今日出勤人数", o["punched"]), ("本月考勤率", o["month_rate"])]
    presence = [{"班组": t["team"], "在场人数": t["entered"], "出勤人数": t["punched"]} for t in o["presence"]]
    posts = [{"岗位": post, "姓名": h["name"], "今日是否到岗": "是" if h["on_duty"] else "否"}
             for post, holders in o["posts"].items() for h in holders]
    posts += [{"岗位": post, "姓名": "未设置", "今日是否到岗": ""} for post, holders in o["posts"].items() if not holders]
    devices = [{"设备编号": d["device_id"], "设备商": d["supplier"], "是否在线": "在线" if d["online"] else "离线",
                "最后上报时间": data.updated_text(d["last_seen"]),
                "中断超过2天": "是" if d["silent_too_long"] else "否"} for d in o["devices"]]
    return {"项目信息": pd.DataFrame(record, columns=["项目", "内容"]),
            "今日在场（按班组）": pd.DataFrame(presence, columns=["班组", "在场人数", "出勤人数"]),
            "关键岗位今日到岗": pd.DataFrame(posts, columns=["岗位", "姓名", "今日是否到岗"]),
            "考勤设备": pd.DataFrame(devices, columns=["设备编号", "设备商", "是否在线", "最后上报时间", "中断超过2天"])}
