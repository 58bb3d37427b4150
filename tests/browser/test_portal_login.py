"""Headless Chromium drives the real pages: login with the (test) captcha, forced password change."""
from __future__ import annotations

from support import PASSWORD, CAPTCHA_ANSWER


def test_login_with_captcha_then_forced_password_change(web, make_account, browser):
    make_account("newstaff", "supervisor", must_change=True)
    b = browser(web)
    b.open("/")
    assert "/login" in b.url
    b.fill({"username": "newstaff", "password": "wrong-pass1", "captcha": CAPTCHA_ANSWER})
    b.submit("#login-form")
    assert "用户名或密码错误" in b.wait_text("#login-form .field-error")
    # The refused attempt lost nothing typed and fetched a fresh captcha.
    assert b.value("username") == "newstaff"
    b.fill({"password": PASSWORD, "captcha": CAPTCHA_ANSWER})
    b.submit("#login-form")
    b.wait_url("/password")
    assert "首次登录" in b.text("main")
    b.fill({"old_password": PASSWORD, "new_password": "short", "new_password_confirm": "short"})
    b.submit("#password-form")
    assert "至少 10 位" in b.wait_text("#password-form .field-error")
    b.fill({"new_password": "Changed1pass", "new_password_confirm": "Changed1pass"})
    b.submit("#password-form")
    b.wait_text_in("main", "欢迎")
