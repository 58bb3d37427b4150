"""Each dashboard page against the real data module: the fixed city (tests/fixed_city.py) folded by
the real rollup tail, `realname dashboards` as a child process, and every callback posted through the
web process's /dash/ door as a browser does (`_dash-update-component`)."""
from __future__ import annotations

import base64
import io
import json
import re

import openpyxl
import pytest


from server.domain.identity import mask_id_number
from server.domain.vocabulary import COUNTIES

import fixed_city as city



@pytest.fixture
def town(fixed_city):
    return fixed_city


def post_callback(web, outputs: list[tuple[str, str]], inputs: list[tuple[str, str, object]],
                  states: list[tuple[str, str, object]] = (), *, cookie=None, token=None) -> dict:
    """One Dash callback through the proxy; its answer as {component id: {property: value}}."""
    ids = [f"{i}.{p}" for i, p in outputs]
    body = {"output": ids[0] if len(ids) == 1 else f"..{'...'.join(ids)}..",
            "outputs": ([{"id": i, "property": p} for i, p in outputs] if len(ids) > 1
                        else {"id": outputs[0][0], "property": outputs[0][1]}),
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in states]}
    status, answer, _ = web.raw("POST", "/dash/_dash-update-component", json.dumps(body).encode(),
                                headers={"Content-Type": "application/json"}, cookie=cookie, token=token)
    assert status == 200, answer
    return json.loads(answer)["response"]


def components(tree):
    """Every Dash component in a layout fragment, depth first."""
    if isinstance(tree, list):
        for item in tree:
            yield from components(item)
    elif isinstance(tree, dict) and "props" in tree:
        yield tree
        yield from components(tree["props"].get("children"))


LINK = re.compile(r"^\[(.*)\]\((.*)\)$")


def cell_text(value):
    """A link cell's text (markdown, escaped by the page) and its address; any other cell as it is."""
    match = LINK.match(value) if isinstance(value, str) else None
    return (re.sub(r"\\(.)", r"\1", match.group(1)), match.group(2)) if match else (value, None)


def table_of(response: dict, prefix: str) -> tuple[list[dict], dict]:
    """(rows with link cells as their text, {column: [addresses]}) of the page's table, and the message."""
    tables = [c for c in components(response[f"{prefix}-result"]["children"]) if c["props"].get("id") == f"{prefix}-table"]
    assert len(tables) == 1, response
    rows, links = [], {}
    for record in tables[0]["props"]["data"]:
        row = {}
        for column, value in record.items():
            row[column], href = cell_text(value)
            if href:
                links.setdefault(column, []).append(href)
        rows.append(row)
    return rows, links


def as_figures(row: dict) -> dict:
    """The table's cells as the data module gives them (JSON turns 2.0 into 2; the page shows numbers as numbers)."""
    return {k: (int(v) if isinstance(v, str) and v.isdigit() else v) for k, v in row.items()}


def show(web, prefix: str, controls: list[tuple[str, str, object]], **who) -> tuple[list[dict], dict, str]:
    response = post_callback(web, [(f"{prefix}-result", "children"), (f"{prefix}-message", "children")], controls, **who)
    message = response[f"{prefix}-message"]["children"]
    if message:
        return [], {}, message
    rows, links = table_of(response, prefix)
    return rows, links, message


def export(web, prefix: str, controls: list[tuple[str, str, object]], **who) -> list[dict]:
    response = post_callback(web, [(f"{prefix}-download", "data")], [(f"{prefix}-export", "n_clicks", 1)],
                             controls, **who)
    sent = response[f"{prefix}-download"]["data"]
    assert sent["filename"].endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(sent["content"]))).active
    lines = list(sheet.iter_rows(values_only=True))
    return [dict(zip(lines[0], (v if v is not None else "" for v in line))) for line in lines[1:]]


def by(rows: list[dict], column: str, value) -> dict:
    found = [r for r in rows if r[column] == value]
    assert len(found) == 1, (value, rows)
    return found[0]


COUNTY_DAY = [("county-day", "date", "2026-10-31")]
PROJECTS_DAY = [("projects-day", "date", "2026-10-31"), ("projects-county", "value", None),
                ("projects-status", "value", None), ("projects-supplier", "value", None),
                ("projects-name", "value", None)]


def managers(post: str, unmask=(), county=None) -> list[tuple[str, str, object]]:
    return [("managers-county", "value", county), ("managers-query", "value", None),
            ("managers-month", "value", "2026-10"), ("managers-post", "value", post),
            ("managers-unmask", "value", list(unmask))]


def test_each_table_shows_the_fixed_citys_figures_and_its_export_holds_the_same(town, dash_web, make_account):
    make_account("city", "supervisor")
    who = {"cookie": dash_web.login("city")}

    rows, links, message = show(dash_web, "county", COUNTY_DAY, **who)
    assert message is None or message == ""
    assert as_figures(by(rows, "地区", "蓬江区")) == city.PENGJIANG_OCTOBER_31
    assert [r["地区"] for r in rows][-1] == "汇总"
    # A county's 在建项目总数 opens 各项目执行情况 for that county on the day shown; the 汇总 row opens nothing.
    assert "/dash/project-execution?county=%E8%93%AC%E6%B1%9F%E5%8C%BA&day=2026-10-31" in links["在建项目总数"]
    assert len(links["在建项目总数"]) == len(rows) - 1
    assert [as_figures(r) for r in export(dash_web, "county", COUNTY_DAY, **who)] == [as_figures(r) for r in rows]

    rows, links, _ = show(dash_web, "projects", PROJECTS_DAY, **who)
    p1 = city.p1_execution_october_31(town)
    assert as_figures(by(rows, "项目名称", "甲项目")) == p1
    assert f"/projects/{town['P1']}" in links["项目名称"]
    assert [as_figures(r) for r in export(dash_web, "projects", PROJECTS_DAY, **who)] == [as_figures(r) for r in rows]

    rows, _, _ = show(dash_web, "suppliers", [("suppliers-day", "date", "2026-10-31")], **who)
    assert [as_figures(r) for r in rows] == city.SUPPLIERS_OCTOBER_31
    assert [as_figures(r) for r in export(dash_web, "suppliers", [("suppliers-day", "date", "2026-10-31")], **who)] \
        == city.SUPPLIERS_OCTOBER_31

    rows, _, _ = show(dash_web, "managers", managers("项目经理"), **who)
    mine = by(rows, "项目名称", "甲项目")
    assert (mine["天数总计(天)"], mine["月考勤率"]) == city.P1_MANAGER_OCTOBER
    assert [as_figures(r) for r in export(dash_web, "managers", managers("项目经理"), **who)] == \
        [as_figures(r) for r in rows]

    monthly = [("monthly-month", "value", "2026-10"), ("monthly-flags", "value", [])]
    rows, links, _ = show(dash_web, "monthly", monthly, **who)
    assert by(rows, "项目名称", "甲项目")["施工总承包单位项目经理本月到岗情况"] == city.P1_MANAGER_MONTHLY_OCTOBER
    assert f"/dash/project-overview?project={town['P1']}" in links["项目名称"]
    assert [as_figures(r) for r in export(dash_web, "monthly", monthly, **who)] == [as_figures(r) for r in rows]
    rows, _, _ = show(dash_web, "monthly", [("monthly-month", "value", "2026-10"),
                                            ("monthly-flags", "value", ["未设置项目经理"])], **who)
    assert [r["项目名称"] for r in rows] == ["丙项目"]


def test_the_home_page_and_the_overview_show_the_rollups(town, dash_web, make_account):
    make_account("city", "supervisor")
    who = {"cookie": dash_web.login("city")}
    response = post_callback(dash_web, [("home-today", "children"), ("home-trends", "children"),
                                        ("home-message", "children")], [("home-refresh", "n_intervals", None)], **who)
    assert not response["home-message"]["children"]
    cards = {}
    for card in components(response["home-today"]["children"]):
        parts = card["props"].get("children")
        if card["props"].get("className") == "card":
            cards[parts[0]["props"]["children"]] = parts[1]["props"]["children"]
    # Today: W2's one punch on P1 at 00:00:00; 2 在建 projects, one without attendance; 4 devices, none online.
    assert (cards["今日打卡次数"], cards["今日考勤人数"], cards["无考勤项目数"], cards["在线设备数"]) == ("1", "1", "1", "0/4")
    graphs = [c for c in components(response["home-trends"]["children"]) if c.get("type") == "Graph"]
    assert len(graphs) == 3
    lines = graphs[0]["props"]["figure"]["data"]
    assert {line["name"] for line in lines} == set(COUNTIES)

    response = post_callback(dash_web, [("overview-result", "children"), ("overview-message", "children")],
                             [("overview-project", "value", str(town["P1"]))], **who)
    assert not response["overview-message"]["children"]
    text = json.dumps(response["overview-result"], ensure_ascii=False)
    assert "甲项目" in text and "未上传" in text and "土建" in text
    response = post_callback(dash_web, [("overview-result", "children"), ("overview-message", "children")],
                             [("overview-project", "value", "999999")], **who)
    assert response["overview-message"]["children"] == "项目不存在或无权查看"


def test_a_county_supervisors_callbacks_only_read_that_county(town, dash_web, make_account):
    make_account("pjsup", "supervisor", county="蓬江区")
    who = {"cookie": dash_web.login("pjsup")}
    rows, _, _ = show(dash_web, "county", COUNTY_DAY, **who)
    assert [r["地区"] for r in rows] == ["蓬江区", "汇总"]
    assert as_figures(rows[0]) == city.PENGJIANG_OCTOBER_31
    rows, _, _ = show(dash_web, "projects", PROJECTS_DAY, **who)
    assert {r["所在地"] for r in rows} == {"蓬江区"} and {r["项目名称"] for r in rows} == {"甲项目", "乙项目"}
    # The page posts another county: refused with a reason, no table, and nothing of 江海区 in the export.
    other = [c if c[0] != "projects-county" else ("projects-county", "value", "江海区") for c in PROJECTS_DAY]
    rows, _, message = show(dash_web, "projects", other, **who)
    assert rows == [] and message == "只能查看本县区的数据"
    rows, _, _ = show(dash_web, "suppliers", [("suppliers-day", "date", "2026-10-31")], **who)
    assert [r["支撑的项目总数"] for r in rows] == [1]          # 甲设备's P1 only (P3 is in 江海区)
    rows, _, _ = show(dash_web, "managers", managers("项目经理"), **who)
    assert {r["项目所在地"] for r in rows} == {"蓬江区"}
    rows, _, _ = show(dash_web, "monthly", [("monthly-month", "value", "2026-10"), ("monthly-flags", "value", [])], **who)
    assert {r["项目名称"] for r in rows} == {"甲项目", "乙项目"}
    response = post_callback(dash_web, [("overview-result", "children"), ("overview-message", "children")],
                             [("overview-project", "value", str(town["P3"]))], **who)
    assert response["overview-message"]["children"] == "项目不存在或无权查看"


def test_unmasking_is_audited_and_an_analyst_cannot_unmask(town, dash_web, make_account, sdb):
    make_account("city", "supervisor")
    make_account("fxuser", "analyst")
    full = town["ids"]["S"]
    rows, _, _ = show(dash_web, "managers", managers("安全员"), cookie=dash_web.login("city"))
    assert rows[0]["身份证号码"] == mask_id_number(full)        # masked by default
    assert sdb.audit_log.count_documents({"action": "dashboard_view_unmasked"}) == 0
    cookie = dash_web.login("city")
    rows, _, _ = show(dash_web, "managers", managers("安全员", unmask=["unmask"]), cookie=cookie)
    assert rows[0]["身份证号码"] == full
    seen = sdb.audit_log.find_one({"action": "dashboard_view_unmasked"})
    assert seen and seen["actor"] == "city" and seen["detail"]["post"] == "安全员"
    exported = export(dash_web, "managers", managers("安全员", unmask=["unmask"]), cookie=cookie)
    assert exported[0]["身份证号码"] == full
    assert sdb.audit_log.count_documents({"action": "dashboard_export_unmasked", "actor": "city"}) == 1
    # An analyst asking for the same (the box is hidden from them; the post is forged) sees it masked, unaudited.
    rows, _, _ = show(dash_web, "managers", managers("安全员", unmask=["unmask"]), cookie=dash_web.login("fxuser"))
    assert rows[0]["身份证号码"] == mask_id_number(full)
    exported = export(dash_web, "managers", managers("安全员", unmask=["unmask"]), cookie=dash_web.login("fxuser"))
    assert exported[0]["身份证号码"] == rows[0]["身份证号码"]
    assert sdb.audit_log.count_documents({"actor": "fxuser", "action": {"$regex": "unmasked"}}) == 0
