"""Headless Chromium at 1440×900 on 项目库: row actions on one line with the rarer ones under 更多
(a <details>, no script), and no 项目合格 rule banner while the library has no such columns."""
from __future__ import annotations

from support import PASSWORD


def line_height(driver, element) -> float:
    return driver.execute_script("return parseFloat(getComputedStyle(arguments[0]).lineHeight)", element)


def test_row_actions_stay_on_one_line_with_a_more_menu(web, site, make_account, browser, wide):
    make_account("jg_city", "supervisor")
    b = browser(web)
    b.sign_in("jg_city", PASSWORD)
    b.wait_text_in("main", "欢迎")
    b.open("/projects")
    cell = b.find(f'#project-table tr[data-id="{site["project_id"]}"] td.row-actions')
    link = b.find(f'#project-table tr[data-id="{site["project_id"]}"] td.row-actions > a')
    # One line: the cell's links are no taller than a line (定/位 wrapped mid-word before).
    assert link.size["height"] <= line_height(wide, link) + 1
    assert cell.find_element("css selector", "summary").text == "更多"
    locate = cell.find_element("css selector", "details a[href$='#location-panel']")
    assert not locate.is_displayed()
    cell.find_element("css selector", "summary").click()
    b._wait(lambda _: locate.is_displayed())
    assert [e.text for e in cell.find_elements("css selector", ".row-menu-items > *")] == [
        "定位", "场所码登记", "发账号", "注销"]
    assert "项目合格规则说明" not in b.text("main")
