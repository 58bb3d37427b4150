"""Headless Chromium on the small forms: 退场 by a date dialog, 发账号 that becomes 已发账号, 确认新密码."""
from __future__ import annotations

from selenium.webdriver.common.by import By

from server.domain.site_clock import site_day, site_midnight, site_today
from support import PASSWORD


def test_team_exit_asks_for_the_date_in_a_dialog_offering_today(web, site, sdb, make_account, browser):
    make_account("clerk", "project", project_id=site["project_id"])
    team = sdb.teams.find_one({"project_id": site["project_id"], "name": "土建"})
    # A team leaves only when nobody is on site with it.
    sdb.roster.update_many({"project_id": site["project_id"]}, {"$set": {"exit_date": site_midnight(site_today())}})
    b = browser(web)
    b.sign_in("clerk", PASSWORD)
    b.wait_text_in("main", "欢迎")
    b.open("/teams")
    b.click(f'button[data-api$="/teams/{team["_id"]}/exit"]')
    assert b.answer_date(site_today().isoformat()) == site_today().isoformat()
    b._wait(lambda d: sdb.teams.find_one({"_id": team["_id"]}).get("exit_date"))
    assert site_day(sdb.teams.find_one({"_id": team["_id"]})["exit_date"]) == site_today()


def test_cancelling_the_date_dialog_changes_nothing(web, site, sdb, make_account, browser):
    make_account("clerk", "project", project_id=site["project_id"])
    leaving = site["workers"][0]["worker_no"]
    b = browser(web)
    b.sign_in("clerk", PASSWORD)
    b.wait_text_in("main", "欢迎")
    b.open("/roster")
    b.click(f'tr[data-worker="{leaving}"] button[data-api$="/roster/exit"]')
    b.click("dialog.ask-date [data-cancel]")
    b._wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog.ask-date"))
    assert sdb.roster.find_one({"worker_no": leaving, "exit_date": None})


def test_an_issued_enterprise_row_no_longer_offers_an_account(web, site, sdb, make_account, browser):
    make_account("boss", "supervisor")
    enterprise = sdb.enterprises.find_one({})
    b = browser(web)
    b.sign_in("boss", PASSWORD)
    b.wait_text_in("main", "欢迎")
    b.open("/enterprises")
    b.accept_dialogs()
    b.click(f'button[data-api="/api/enterprises/{enterprise["_id"]}/account"]')
    b.wait_text("#issued [data-key=password]")
    assert not b.driver.find_elements(By.CSS_SELECTOR, f'button[data-api="/api/enterprises/{enterprise["_id"]}/account"]')
    assert "已发账号" in b.text("#enterprise-table")
    assert sdb.enterprises.find_one({"_id": enterprise["_id"]})["account_username"]


def test_password_change_needs_the_new_password_twice(web, make_account, sdb, browser):
    make_account("newstaff", "supervisor", must_change=True)
    b = browser(web)
    b.sign_in("newstaff", PASSWORD)
    b.wait_url("/password")
    b.fill({"old_password": PASSWORD, "new_password": "Changed1pass", "new_password_confirm": "Changed2pass"})
    b.submit("#password-form")
    assert "不一致" in b.wait_text("#password-form .field-error")
    assert sdb.accounts.find_one({"username": "newstaff"})["must_change_password"] is True
    b.fill({"new_password_confirm": "Changed1pass"})
    b.submit("#password-form")
    b.wait_text_in("main", "欢迎")
    assert sdb.accounts.find_one({"username": "newstaff"})["must_change_password"] is False
