"""Headless Chromium: a refused form shows the Chinese reason once, beside its field, never the API's field code."""
from __future__ import annotations

from support import PASSWORD


def _notes(b, form: str) -> list[str]:
    from selenium.webdriver.common.by import By
    return [e.text for e in b.driver.find_elements(By.CSS_SELECTOR, f"{form} .field-error")]


def test_a_refused_person_shows_the_reason_once_without_the_code(web, site, make_account, browser):
    make_account("clerk", "project", project_id=site["project_id"])
    b = browser(web)
    b.sign_in("clerk", PASSWORD)
    b.wait_text_in("main", "欢迎")
    b.open("/people")
    bad = site["workers"][0]["id_number"][:17] + ("0" if site["workers"][0]["id_number"][17] != "0" else "1")
    b.fill({"id_number": bad, "name": "校验位错"}, scope="#person-form")
    b.submit("#person-form")
    b.wait_text("#person-form .field-error")
    notes = _notes(b, "#person-form")
    assert len(notes) == 1 and "身份证" in notes[0] and "id_number" not in notes[0], notes
    # Once: the banner stays empty when the reason stands beside its field; nothing typed is lost.
    assert b.text("#person-form .form-error") == ""
    assert "id_number" not in b.text("main") and b.value("id_number", scope="#person-form") == bad
    assert b.value("name", scope="#person-form") == "校验位错"


def test_a_refused_login_reads_chinese_only(web, make_account, browser):
    make_account("alice", "supervisor")
    b = browser(web)
    b.sign_in("alice", "wrong-password-1")
    b.wait_text("#login-form .field-error")
    page = b.text("#login-form")
    assert "用户名或密码错误" in page and page.count("用户名或密码错误") == 1
    assert "username" not in page and "password:" not in page
