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


class _OtherPort:
    """A page on another port of the same host: the same *site* to the browser, so SameSite=Strict
    cookies go along with whatever it submits."""

    def __init__(self, page: str):
        import http.server
        import threading

        body = page.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_form_on_another_port_cannot_change_a_project(web, site, make_account, browser, sdb):
    make_account("ivy", "supervisor")
    pid = site["project_id"]
    before = sdb.projects.find_one({"_id": pid}).get("location")
    # text/plain turns name=value into `{"longitude": 113.08, "latitude": 22.58, "x": "=..."}`: valid JSON.
    attack = _OtherPort(f"""<!doctype html><form id="f" method="POST" enctype="text/plain"
        action="http://127.0.0.1:{web.port}/api/projects/{pid}/location">
        <input name='{{"longitude": 113.08, "latitude": 22.58, "x": "' value='"}}'></form>
        <script>document.getElementById("f").submit();</script>""")
    try:
        b = browser(web)
        b.sign_in("ivy")
        b.wait_text_in("main", "欢迎")
        b.driver.get(attack.url)
        b.wait_url(f"/api/projects/{pid}/location")
        answer = b.text("body")
    finally:
        attack.stop()
    assert "unsupported_media_type" in answer or "cross_site_request" in answer, answer
    assert sdb.projects.find_one({"_id": pid}).get("location") == before
    refused = sdb.audit_log.find_one({"action": "refused", "actor": "ivy", "target.path": f"/api/projects/{pid}/location"})
    assert refused is not None and refused["detail"]["status"] in (403, 415)
    # The same change from the platform's own page still works (Origin and JSON from app.js).
    b.open(f"/projects/{pid}")
    status = b.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {method: "POST", headers: {"Content-Type": "application/json"},
              body: JSON.stringify({longitude: 113.08, latitude: 22.58})}).then(r => done(r.status));
    """, f"/api/projects/{pid}/location")
    assert status == 200
    assert sdb.projects.find_one({"_id": pid})["location"]["longitude"] == 113.08


def _lan_address() -> str | None:
    import psutil
    for addresses in psutil.net_if_addrs().values():
        for a in addresses:
            if a.family == 2 and not a.address.startswith("127."):
                return a.address
    return None


@pytest.fixture
def lan_web(mongo_uri, db_name):
    """The web server on this machine's non-loopback address, as a browser elsewhere on the LAN sees it."""
    from support import WebThread
    address = _lan_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to reach the web server by")
    started = []

    def make(**overrides):
        started.append(WebThread(mongo_uri, db_name, address=address, **overrides))
        return started[-1], f"http://{address}:{started[-1].port}"
    yield make
    for w in started:
        w.stop()


def _lan_browser(chromium, base):
    from support import Browser
    chromium.get(base + "/login")
    chromium.delete_all_cookies()
    return Browser(chromium, base)


def test_plain_http_on_the_lan_says_why_login_cannot_work(lan_web, make_account, chromium):
    """Chromium reaching the server by its LAN address over plain HTTP (what README's http://<host>:8080/
    gives a colleague): today the Secure cookie is dropped silently; now the page and the refusal say why."""
    make_account("ivy", "supervisor")
    web, base = lan_web()
    b = _lan_browser(chromium, base)
    b.open("/login")
    assert "HTTPS" in b.text("#transport-notice")
    b.fill({"username": "ivy", "password": PASSWORD, "captcha": "TEST"})
    b.submit("#login-form")
    assert "HTTPS" in b.wait_text(".form-error")
    assert "/login" in b.url and not b.driver.get_cookies()


def test_plain_http_on_the_lan_works_when_the_operator_chose_it(lan_web, make_account, chromium):
    make_account("ivy", "supervisor")
    web, base = lan_web(plain_http_login=True)
    b = _lan_browser(chromium, base)
    b.open("/login")
    b.fill({"username": "ivy", "password": PASSWORD, "captcha": "TEST"})
    b.submit("#login-form")
    b.wait_text_in("main", "欢迎")
    cookie = next(c for c in b.driver.get_cookies() if c["name"] == "realname_session")
    assert cookie["secure"] is False and cookie["httpOnly"] is True
    chromium.delete_all_cookies()
