"""Attacks that need a real browser to show: an open redirect after login, cross-site form posts,
and a session cookie a browser would drop."""
from __future__ import annotations

import html
import re

import pytest

from support import PASSWORD


@pytest.mark.parametrize("target", ["/%09/evil.example/", "/%0a/evil.example/", "/%5Cevil.example/",
                                    "//evil.example/", "/%20/evil.example/", "https://evil.example/",
                                    "/\u200b/evil.example/".replace("\u200b", "%E2%80%8B")])
def test_login_page_never_offers_another_site(web, target):
    status, body, _ = web.raw("GET", f"/login?next={target}")
    then = html.unescape(re.search(r'data-then="([^"]*)"', body.decode()).group(1))
    assert status == 200 and then == "/", (target, then)


def test_a_same_site_next_is_kept(web):
    _, body, _ = web.raw("GET", "/login?next=/projects%3Fpage%3D2")
    assert 'data-then="/projects?page=2"' in body.decode()


def test_login_with_a_tab_in_next_stays_on_the_site(web, make_account, browser):
    make_account("ivy", "supervisor")
    b = browser(web)
    b.open("/login?next=/%09/evil.example/")
    b.fill({"username": "ivy", "password": PASSWORD, "captcha": "TEST"})
    b.submit("#login-form")
    b.wait_text_in("main", "欢迎")
    assert b.url == f"http://127.0.0.1:{web.port}/", b.url
