"""Headless Chromium: a supervisor signs in at the portal, follows the navigation to /dash/ and gets the
Chinese shell of the dashboards process, whose pages load through the web process."""
from __future__ import annotations

import fixed_city as city


def open_from_the_portal(dash_web, make_account, browser):
    """A city supervisor signs in at the portal and follows its navigation to /dash/."""
    make_account("citysup", "supervisor")
    b = browser(dash_web)
    b.sign_in("citysup")
    b.wait_text_in("main", "欢迎")
    b.click('nav a[href="/dash/"]')
    b.wait_url("/dash/")
    return b


def test_a_supervisor_opens_the_dashboards_from_the_portal(dash_web, make_account, browser):
    b = open_from_the_portal(dash_web, make_account, browser)
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


def test_a_city_supervisor_sees_the_fixed_citys_figures_and_drills_down_to_a_countys_projects(
        fixed_city, dash_web, make_account, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    b = open_from_the_portal(dash_web, make_account, browser)
    b.click('.shell-nav a[href="/dash/county-execution"]')
    b.wait_text_in("#county-result", "汇总")
    # The day of the hand-worked figures, typed into the date picker as a person would.
    day = b.find("#county-day")
    day.send_keys(Keys.CONTROL, "a")
    day.send_keys("2026-10-31", Keys.ENTER)
    b.wait_text_in(".updated", "数据更新时间")

    def row_of(county: str) -> list[str]:
        for tr in b.driver.find_elements(By.CSS_SELECTOR, "#county-table tr"):
            cells = [td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")]
            if cells and cells[0] == county:
                return cells
        return []
    expected = [str(v) for v in city.PENGJIANG_OCTOBER_31.values()]
    expected[expected.index("2.0")] = "2"  # 平均考勤人数 as the table prints a whole number
    shown = b._wait(lambda d: row_of("蓬江区") == expected and row_of("蓬江区"), 30)
    assert shown == expected
    day.send_keys(Keys.ESCAPE)  # the calendar closes, as when a person moves on
    b._wait(lambda d: not d.find_elements(By.CSS_SELECTOR, ".SingleDatePicker_picker"), 15)
    # 在建项目总数 opens 各项目执行情况 for that county, on the day chosen (not today).
    b.click('#county-table a[href*="project-execution?county="][href*="%E8%93%AC%E6%B1%9F%E5%8C%BA"]')
    b.wait_url("/dash/project-execution?county=")
    b.wait_text_in("main h2", "各项目执行情况")
    assert "蓬江区" in b.wait_text_in("#projects-county", "蓬江区")
    assert b.find("#projects-day").get_attribute("value") == "2026-10-31"
    names = b._wait(lambda d: {td.text for td in d.find_elements(By.CSS_SELECTOR, '#projects-table td[data-dash-column="项目名称"]')}
                    or False, 30)
    assert names == {"甲项目", "乙项目"}
    # P1 on the 31st: C and W1 punched (today only W2 has, at 00:00:00).
    punched = b.find('#projects-table td[data-dash-column="考勤人数"]').text
    assert punched == str(city.p1_execution_october_31(fixed_city)["考勤人数"]) == "2"
