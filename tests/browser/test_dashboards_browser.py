"""Headless Chromium: a supervisor signs in at the portal, follows the navigation to /dash/ and gets the
Chinese shell of the dashboards process, whose pages load through the web process."""
from __future__ import annotations


def test_a_supervisor_opens_the_dashboards_from_the_portal(dash_web, make_account, browser):
    make_account("citysup", "supervisor")
    b = browser(dash_web)
    b.sign_in("citysup")
    b.wait_text_in("main", "欢迎")
    b.click('nav a[href="/dash/"]')
    b.wait_url("/dash/")
    assert b.wait_text_in("#shell-identity", "范围") == "citysup（监管）· 范围：全市"
    assert b.driver.title == "监管看板"
    navigation = b.text(".shell-nav")
    for page in ("首页", "县区执行情况", "各项目执行情况", "设备商支撑情况", "管理人员考勤情况", "管理人员月考勤统计", "项目总览"):
        assert page in navigation
    # Another page, rendered by its own callback through the proxy, with its definitions on the page.
    b.click('.shell-nav a[href="/dash/county-execution"]')
    b.wait_text_in("main h2", "县区执行情况")
    assert "汇总行：各项数量相加，比率由相加后的数量重新计算" in b.text(".definitions")


def test_a_county_supervisor_sees_the_county_scope_even_when_the_address_asks_for_another(dash_web, make_account,
                                                                                         browser):
    make_account("pjsup", "supervisor", county="蓬江区")
    b = browser(dash_web)
    b.sign_in("pjsup")
    b.wait_text_in("main", "欢迎")
    b.open("/dash/project-execution?county=江海区")
    assert b.wait_text_in("#shell-identity", "范围") == "pjsup（监管）· 范围：蓬江区（仅可查看蓬江区）"
    # The county filter offers only the supervisor's own county.
    assert "蓬江区" in b.wait_text_in("#projects-county", "蓬江区") and "江海区" not in b.text("#projects-county")
