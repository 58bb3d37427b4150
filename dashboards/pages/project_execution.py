"""各项目执行情况 (guide 2.10.2): per project, with filters; a project's name opens its page in the portal."""
from __future__ import annotations

import dash
from dash import dcc, html

from dashboards import components as c
from server.domain import vocabulary

P = "projects"
TITLE = "各项目执行情况"
dash.register_page(__name__, path="/project-execution", name=TITLE, title=TITLE, order=2)

DEFINITIONS = (
    "项目状态、是否上传省厅（项目合格：项目、参建单位、班组均上传成功，且上传成功的在职人员比例达到设定标准）。",
    "在职人数：已进场且未退场的人数；考勤人数：所选日期至少打卡 1 次的人数（按现场时间计日）。",
    "项目经理/总监理工程师是否到岗：登记在该岗位的人员当日是否打卡；停工项目当日不计到岗。",
)


def layout(county: str | None = None, day: str | None = None, **_query):
    return html.Div([
        c.page_header(TITLE, *DEFINITIONS),
        c.filters(("日期", c.day_picker(P, day)), ("项目所在地", c.county_dropdown(P, county)),
                  ("项目状态", dcc.Dropdown(id=f"{P}-status", options=list(vocabulary.PROJECT_STATUSES),
                                            placeholder="全部状态")),
                  ("设备商", dcc.Input(id=f"{P}-supplier", type="text", debounce=True, placeholder="请输入设备商名称")),
                  ("项目名称", dcc.Input(id=f"{P}-name", type="text", debounce=True, placeholder="请输入项目名称"))),
        c.result(P)])


def _project_page(row: dict, *_filters) -> str:
    project_id = row.get("项目编号")
    return f"/projects/{int(project_id)}" if project_id not in (None, "") else ""


def _query(data, db, scope, day, county, status, supplier, name, exporting):
    return data.project_execution(db, scope, c.as_day(day), county=county or None, status=status or None,
                                  supplier=(supplier or "").strip() or None, name=(name or "").strip() or None)


c.table_callbacks(P, TITLE, [(f"{P}-day", "date"), (f"{P}-county", "value"), (f"{P}-status", "value"),
                             (f"{P}-supplier", "value"), (f"{P}-name", "value")], _query,
                  links={"项目名称": _project_page})
