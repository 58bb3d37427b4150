"""管理人员考勤情况 (guide 2.11.1): per manager of the chosen post, a mark per day, the day total and the monthly rate."""
from __future__ import annotations

import dash
from dash import dcc, html

from dashboards import caller
from dashboards import components as c
from server.domain import vocabulary

P = "managers"
TITLE = "管理人员考勤情况"
dash.register_page(__name__, path="/manager-attendance", name=TITLE, title=TITLE, order=4)

# The guide's six first, in its order; then the other manager posts (its "…").
GUIDE_POSTS = ("专业监理工程师", vocabulary.SAFETY_OFFICER, vocabulary.PROJECT_MANAGER, vocabulary.CHIEF_SUPERVISOR, "施工员", "监理员")
POSTS = GUIDE_POSTS + tuple(j for j in vocabulary.MANAGER_JOBS if j not in GUIDE_POSTS)

DEFINITIONS = (
    "出勤：当日（现场时间）在该项目至少有 1 条打卡记录，记为 √。",
    "天数总计：本月出勤天数；月考勤率 = 出勤天数 ÷ 本月天数（如 31 天中出勤 28 天 → 90.32%）。",
    "同一人登记在两个项目时，按项目分别列出。身份证号码默认脱敏显示。",
    "更新频率：15分钟/次；数据更新时间见表格上方。",
)


def layout(**_query):
    # Offered only to roles that may see ID numbers in full; the query checks again.
    may = caller.may_unmask()
    unmask = dcc.Checklist(id=f"{P}-unmask", value=[], style=None if may else {"display": "none"},
                           options=[{"label": "显示完整身份证号（将记入审计日志）", "value": "unmask"}] if may else [])
    return html.Div([
        c.page_header(TITLE, *DEFINITIONS),
        c.filters(("项目所在地", c.county_dropdown(P)),
                  ("姓名或身份证号", dcc.Input(id=f"{P}-query", type="text", debounce=True,
                                               placeholder="请输入姓名或身份证号")),
                  ("月份", c.month_picker(P)), ("", unmask)),
        html.P("请先选择以下岗位信息再查询"),
        dcc.RadioItems(id=f"{P}-post", options=list(POSTS), value=None, inline=True, className="posts"),
        c.result(P)])


def _query(data, db, scope, county, query, month, post, unmask, exporting):
    if not post:
        raise c.InputError("请先选择岗位")
    # Asked for in full and allowed: the view and every export of it are audited.
    unmasked = "unmask" in (unmask or []) and caller.may_unmask()
    month = c.as_month(month)
    if unmasked:
        caller.audit_unmasked("dashboard_export_unmasked" if exporting else "dashboard_view_unmasked",
                              page=TITLE, month=month, post=post, county=county or "")
    return data.manager_attendance(db, scope, month, post, county=county or None,
                                   query=(query or "").strip() or None, unmask=unmasked)


c.table_callbacks(P, TITLE, [(f"{P}-county", "value"), (f"{P}-query", "value"), (f"{P}-month", "value"),
                             (f"{P}-post", "value"), (f"{P}-unmask", "value")], _query)
