"""首页 for supervisors: today so far, and per county the 30-day trends of the update and on-duty rates."""
from __future__ import annotations

import dash
import pandas as pd
import plotly.express as px
from dash import Input, Output, callback, dcc, html

from dashboards import components as c
from dashboards import data

P = "home"
TITLE = "首页"
dash.register_page(__name__, path="/", name=TITLE, title="监管看板", order=0)

DEFINITIONS = (
    "今日概况：今日（现场时间）截至目前的打卡次数、在场人数、在线设备数与无考勤项目数。",
    "近 30 天趋势：各县区每日的更新率（有考勤项目数 ÷ 在建项目总数）与项目经理、总监理工程师到岗率；停工项目当日不计。",
)
REFRESH_MS = 60_000


def layout(**_query):
    return html.Div([
        c.page_header("监管看板", *DEFINITIONS),
        dcc.Interval(id=f"{P}-refresh", interval=REFRESH_MS),
        c.message(P),
        html.H3("今日概况"), html.Div(id=f"{P}-today", className="cards"),
        html.H3("近 30 天各县区趋势"), dcc.Loading(html.Div(id=f"{P}-trends"))])


@callback(Output(f"{P}-today", "children"), Output(f"{P}-trends", "children"), Output(f"{P}-message", "children"),
          Input(f"{P}-refresh", "n_intervals"))
def show(_tick):
    today, error = c.fetch(lambda data, db, scope: data.home_today(db, scope))
    trends, trend_error = c.fetch(lambda data, db, scope: data.county_trends(db, scope, days=30))
    return _cards(today), _charts(trends), error or trend_error


def _cards(today: dict | None):
    """The figures of home_today, each on a card (the data module's keys, in the page's words)."""
    if not today:
        return []
    figures = (("今日打卡次数", today["punches"]), ("今日考勤人数", today["people"]),
               ("在线设备数", f"{today['devices_online']}/{today['devices']}"),
               ("在建项目数", today["projects_active"]), ("无考勤项目数", today["projects_without_attendance"]))
    cards = [html.Div([html.Div(label, className="label"), html.Div(str(value), className="figure")], className="card")
             for label, value in figures]
    if today.get("updated_at"):
        cards.append(html.P(f"{c.UPDATED_AT}：{data.updated_text(today['updated_at'])}", className="updated"))
    return cards


def _charts(frame: pd.DataFrame | None):
    """One chart per rate, a line per county (columns 日期, 地区, then the rates in percent)."""
    if frame is None or frame.empty or not {"日期", "地区"} <= set(frame.columns):
        return []
    rates = [column for column in frame.columns if column not in ("日期", "地区")]
    return [dcc.Graph(figure=px.line(frame, x="日期", y=rate, color="地区", title=rate, markers=True)
                      .update_layout(yaxis_ticksuffix="%", yaxis_range=[0, 100], legend_title_text="地区"),
                      config={"displaylogo": False}) for rate in rates]
