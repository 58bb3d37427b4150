"""Headless Chromium on the roster page: 人员进场 through the cascading unit → team → job selects,
批量人员进场 from an Excel file with progress and the refused rows listed, and 退场 from the list."""
from __future__ import annotations

import random


from server import synthetic
from server.domain.site_clock import site_today
from support import PASSWORD, roster_workbook


def test_enter_import_and_exit_on_the_roster_page(web, worker, site, sdb, make_account, browser, tmp_path):
    make_account("labour", "project", project_id=site["project_id"])
    b = browser(web)
    b.sign_in("labour", PASSWORD)
    b.wait_text_in("main", "欢迎")
    # 新增人员 on the person library page, then on to the person's page.
    b.open("/people")
    b.fill({"id_number": synthetic.id_number(random.Random(21)), "name": "页面进场"}, scope="#person-form")
    b.submit("#person-form")
    b.wait_url("/people/")
    person = sdb.people.find_one({"name": "页面进场"})
    assert person and b.url.endswith(f"/people/{person['worker_no']}")

    b.open("/roster")
    b.find("#enter-form[data-options-loaded]")
    # 可批量选择要进场的人员: found in the person library (scope: people this project added), then chosen.
    b.find("#person-query").send_keys("页面进场")
    b.click("#person-search")
    b.wait_text_in("#person-choices", "页面进场")
    b.click("#person-choices tbody button")
    assert b.value("worker_nos", scope="#enter-form") == str(person["worker_no"])
    b.fill({"unit_id": "江门市测试建筑工程有限公司（施工总承包单位）"}, scope="#enter-form")
    b.fill({"team_id": "土建（普通工人班组）"}, scope="#enter-form")
    b.fill({"job": "木工"}, scope="#enter-form")
    b.submit("#enter-form")
    b.wait_text_in("#enter-result", "已进场 1 人")
    assert sdb.roster.find_one({"worker_no": person["worker_no"], "exit_date": None})["job"] == "木工"
    # Manager teams offer only their own posts.
    b.fill({"team_id": "总承包单位项目部（管理人员班组）"}, scope="#enter-form")
    jobs = b.find('#enter-form [name="job"]').text
    assert "项目经理" in jobs and "木工" not in jobs

    upload = roster_workbook(tmp_path / "名单.xlsx", [
        [synthetic.id_number(random.Random(22)), "导入一", None, None, None, None, "江门市测试建筑工程有限公司", "土建",
         "钢筋工", None],
        ["123", "导入二", None, None, None, None, "江门市测试建筑工程有限公司", "土建", "钢筋工", None]])
    b.fill({"file": upload}, scope="#import-form")
    b.submit("#import-form")
    b.wait_text_in("#import-result", "完成")
    assert "进场 1 人" in b.text("#import-result")
    assert "身份证号码" in b.text("#import-errors") and "3" in b.text("#import-errors tbody")
    b.driver.save_screenshot(str(tmp_path / "roster.png"))

    b.open("/roster")
    leaving = site["workers"][0]["worker_no"]
    b.click(f'tr[data-worker="{leaving}"] button[data-api$="/roster/exit"]')
    # 退场 asks for the date in a dialog with a date field that offers today.
    assert b.answer_date(site_today().isoformat()) == site_today().isoformat()
    b._wait(lambda d: sdb.roster.find_one({"worker_no": leaving, "exit_date": None}) is None)

    # 批量退场: tick the rest and give one date.
    b.open("/roster")
    rest = [w["worker_no"] for w in site["workers"][1:]]
    for number in rest:
        b.click(f'tr[data-worker="{number}"] input[type=checkbox]')
    b.submit("#batch-exit")
    b.wait_text_in("#exit-result", "已退场 2 人")
    assert sdb.roster.count_documents({"worker_no": {"$in": rest}, "exit_date": None}) == 0


def test_person_page_unmasks_on_request_and_audits(web, site, sdb, make_account, browser):
    make_account("clerk", "project", project_id=site["project_id"])
    worker = site["workers"][0]
    b = browser(web)
    b.sign_in("clerk", PASSWORD)
    b.wait_text_in("main", "欢迎")
    b.open(f"/people/{worker['worker_no']}")
    assert b.text("#id-number") != worker["id_number"] and b.text("#id-number").endswith(worker["id_number"][-4:])
    assert sdb.audit_log.count_documents({"action": "person_view_unmasked"}) == 0
    b.accept_dialogs()
    b.click("#unmask")
    b.wait_text_in("#id-number", worker["id_number"])
    # Unmasked, the page no longer says it is masked nor offers to unmask again.
    assert not b.find("#masked-note").is_displayed() and not b.find("#unmask").is_displayed()
    assert "已脱敏" not in b.text("main") and "本次查看已记入审计日志" in b.text("main")
    assert sdb.audit_log.find_one({"action": "person_view_unmasked", "target.worker_no": worker["worker_no"]})["actor"] == "clerk"
