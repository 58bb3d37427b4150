"""A project account lands on its 项目总览 in the portal: the same figures as the Dash page's data
function (both built by server/domain/project_overview.py, read asynchronously here)."""
from __future__ import annotations

import html
import re

from pymongo import MongoClient

from dashboards import data


def _section(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:dd|ul|table)>', page, re.S)
    assert found, element_id
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))


def _home(web, make_account, username: str, **scope) -> str:
    make_account(username, "project" if "project_id" in scope else "supervisor", **scope)
    status, body, _ = web.raw("GET", "/", cookie=web.login(username))
    assert status == 200
    return body.decode()


def test_a_project_account_lands_on_its_overview_with_the_dashboards_figures(fixed_city, web, make_account,
                                                                             mongo_uri, db_name):
    db = MongoClient(mongo_uri, tz_aware=True)[db_name]
    expected = data.project_overview(db, {}, fixed_city["P1"])
    page = _home(web, make_account, "p1-staff", project_id=fixed_city["P1"])
    assert "欢迎" in page and "项目总览：甲项目" in page
    # Hand-worked (tests/fixed_city.py): M, C, W1, W2 entered today; W2 punched at 00:00:00.
    assert " ".join(_section(page, "overview-presence").split()) == "4 人在场，1 人出勤"
    assert (expected["entered"], expected["punched"]) == (4, 1)
    assert _section(page, "overview-month-rate").strip() == expected["month_rate"]
    assert _section(page, "overview-upload").split()[0] == "未上传（未合格）"
    assert [" ".join(li.split()) for li in re.findall(r"<li>(.*?)</li>", page.split('id="overview-to-fix"')[1].split("</ul>")[0])] \
        == expected["to_fix"]
    teams = _section(page, "overview-teams")
    for row in expected["presence"]:
        assert f'{row["team"]} {row["entered"]} {row["punched"]}' in " ".join(teams.split())
    assert "A-1" in _section(page, "overview-devices")


def test_the_overview_names_what_a_project_lacks_and_leaves_test_devices_out(fixed_city, web, make_account):
    page = _home(web, make_account, "p3-staff", project_id=fixed_city["P3"])
    to_fix = _section(page, "overview-to-fix")
    assert "未设置项目经理" in to_fix and "未设置总监理工程师" in to_fix
    devices = _section(page, "overview-devices")
    assert "A-3" in devices and "C-3" not in devices          # 丙设备 only in the test environment
    assert "项目经理 未设置" in " ".join(_section(page, "overview-posts").split())


def test_a_supervisor_lands_on_the_menu_without_a_project_overview(fixed_city, web, make_account):
    page = _home(web, make_account, "city-sup")
    assert "欢迎" in page and 'id="overview"' not in page
