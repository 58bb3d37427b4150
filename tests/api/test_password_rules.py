"""The password rule people can follow, and guessing the current password counted like login failures."""
from __future__ import annotations

import pytest

from server.demo.accounts_demo import DEMO_PASSWORD
from server.store.accounts import PASSWORD_RULE

from support import CAPTCHA_ANSWER, PASSWORD, refusal_names_field


@pytest.mark.parametrize("weak, reason", [
    ("password1", "至少 10 位"), ("aaaaaaa1", "至少 10 位"), ("onlylowercase1", "至少三类"),
    ("Password123", "常见"), ("Aaaaaaaaa1", "重复"), ("Qwerty123!", "常见")])
def test_weak_passwords_are_refused_with_the_rule_that_failed(web, make_account, weak, reason):
    make_account("dora", "analyst")
    cookie = web.login("dora")
    status, reply, _ = web.request("POST", "/api/password", {"old_password": PASSWORD, "new_password": weak,
                                                             "new_password_confirm": weak}, cookie=cookie)
    assert status == 400 and reason in reply["message"] and refusal_names_field(reply, "new_password"), reply


def test_the_rule_is_on_the_page_and_known_passwords_pass_it(web, make_account):
    make_account("dora", "analyst")
    cookie = web.login("dora")
    status, html, _ = web.raw("GET", "/password", cookie=cookie)
    assert status == 200 and PASSWORD_RULE in html.decode()
    status, html, _ = web.raw("GET", "/supplier/register")
    assert PASSWORD_RULE in html.decode()
    status, _, _ = web.request("POST", "/api/password", {"old_password": PASSWORD, "new_password": DEMO_PASSWORD,
                                                         "new_password_confirm": DEMO_PASSWORD},
                               cookie=cookie)
    assert status == 200


def test_guessing_the_current_password_locks_like_login(web, make_account, sdb):
    make_account("dora", "analyst")
    cookie = web.login("dora", ip="10.0.0.1")
    for i in range(5):
        status, reply, _ = web.request("POST", "/api/password", {"old_password": f"Guess-{i}-2026",
                                                                 "new_password": "Another-2026x",
                                                                 "new_password_confirm": "Another-2026x"},
                                       cookie=cookie, ip="10.0.0.1")
        assert status == 400 and reply["field"] == "old_password"
    # The right current password no longer helps from this address, and login is locked there too.
    status, reply, _ = web.request("POST", "/api/password", {"old_password": PASSWORD, "new_password": "Another-2026x",
                                                             "new_password_confirm": "Another-2026x"},
                                   cookie=cookie, ip="10.0.0.1")
    assert status == 429, reply
    _, captcha, _ = web.request("GET", "/api/captcha", ip="10.0.0.1")
    status, reply, _ = web.request("POST", "/api/login", {"username": "dora", "password": PASSWORD,
                                                          "captcha_id": captcha["id"], "captcha": CAPTCHA_ANSWER},
                                   ip="10.0.0.1")
    assert status == 429 and reply["code"] == "account_locked"
    assert sdb.audit_log.count_documents({"action": "password_change_failure", "actor": "dora"}) == 6
    assert sdb.accounts.find_one({"username": "dora"})["password_hash"]  # unchanged: still the old password
    assert web.login("dora", ip="10.0.0.2")
