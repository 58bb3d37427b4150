"""The portal's shell: login page, redirects for anonymous visitors, forced password change, HTML 404s."""
from __future__ import annotations

from support import PASSWORD


def test_anonymous_visitor_is_sent_to_login_and_login_page_renders(web):
    status, _, headers = web.raw("GET", "/")
    assert status == 302 and headers["Location"].startswith("/login?next=")
    status, body, headers = web.raw("GET", "/login?next=/")
    html = body.decode()
    assert status == 200 and "平台登录" in html and "验证码" in html and "项目申报" in html
    assert "/static/app.js" in html and "script-src 'self'" in headers["Content-Security-Policy"]


def test_login_page_never_redirects_off_site(web):
    _, body, _ = web.raw("GET", "/login?next=//evil.example/x")
    assert 'data-then="/"' in body.decode()


def test_signed_in_user_sees_home_and_must_change_password_first(web, make_account):
    make_account("fresh", "supervisor", must_change=True)
    cookie = web.login("fresh")
    status, _, headers = web.raw("GET", "/", cookie=cookie)
    assert status == 302 and headers["Location"] == "/password"
    assert web.raw("GET", "/password", cookie=cookie)[0] == 200
    status, reply, _ = web.request("POST", "/api/password", {"old_password": PASSWORD, "new_password": "Another1pass",
                                        "new_password_confirm": "Another1pass"},
                                   cookie=cookie)
    assert status == 200, reply
    status, body, _ = web.raw("GET", "/", cookie=cookie)
    assert status == 200 and "欢迎" in body.decode()


def test_unknown_page_is_a_chinese_404_and_unknown_api_is_json(web):
    status, body, _ = web.raw("GET", "/no/such/page")
    assert status == 404 and "页面不存在" in body.decode()
    status, body, _ = web.raw("GET", "/api/no/such")
    assert status == 404 and b'"code": "not_found"' in body


def test_static_files_are_served_locally(web):
    status, body, _ = web.raw("GET", "/static/app.js")
    assert status == 200 and b"data-api" in body


def test_navigation_follows_role_and_scope(web, make_account):
    make_account("city", "supervisor")
    make_account("county", "supervisor", county="台山市")
    make_account("gys", "analyst")
    city = web.raw("GET", "/", cookie=web.login("city"))[1].decode()
    county = web.raw("GET", "/", cookie=web.login("county"))[1].decode()
    analyst = web.raw("GET", "/", cookie=web.login("gys"))[1].decode()
    assert 'href="/audit"' in city and 'href="/audit"' not in county
    assert 'href="/declarations"' in city and 'href="/declarations"' not in analyst
    assert 'href="/attendance"' in analyst and 'href="/supplier"' not in analyst
