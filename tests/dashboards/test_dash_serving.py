"""/dash/ over real HTTP: the web process is the only door to the dashboards process, which is a real
child (`realname dashboards`, waitress on loopback) verifying the signed caller on every request."""
from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.parse

from server.forwarded_caller import COUNTY, SIGNATURE, Caller, sign
from server.store.embedded import free_port

from support import ADMIN_TOKEN, FORWARD_SECRET, WebThread

# The shell's own callback: who is signed in and the scope the figures cover, from the verified caller.
IDENTITY_CALLBACK = {"output": "shell-identity.children", "outputs": {"id": "shell-identity", "property": "children"},
                     "changedPropIds": ["shell-url.search"], "state": []}


def identity_callback(search: str = "") -> bytes:
    body = dict(IDENTITY_CALLBACK, inputs=[{"id": "shell-url", "property": "search", "value": search}])
    return json.dumps(body).encode()


def callback_answer(body: bytes) -> str:
    return json.loads(body)["response"]["shell-identity"]["children"]


def test_anonymous_visitors_project_accounts_and_unchanged_passwords_are_refused_at_dash(dash_web, make_account,
                                                                                          site):
    status, _, headers = dash_web.raw("GET", "/dash/")
    assert status == 302 and headers["Location"] == "/login?next=%2Fdash%2F"
    status, body, _ = dash_web.raw("POST", "/dash/_dash-update-component", identity_callback(),
                                   headers={"Content-Type": "application/json"})
    assert status == 302 and b"shell-identity" not in body
    make_account("xmuser", "project", project_id=site["project_id"])
    status, body, _ = dash_web.raw("GET", "/dash/", cookie=dash_web.login("xmuser"))
    assert status == 403 and "无权访问" in body.decode() and b"_dash-config" not in body
    make_account("fresh", "supervisor", must_change=True)
    status, _, headers = dash_web.raw("GET", "/dash/", cookie=dash_web.login("fresh"))
    assert status == 302 and headers["Location"] == "/password"


def test_an_idle_session_no_longer_reaches_the_dashboards(dash_web, make_account, sdb):
    make_account("city", "supervisor")
    cookie = dash_web.login("city")
    assert dash_web.raw("GET", "/dash/", cookie=cookie)[0] == 200
    idle = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=dash_web.config.session_idle_minutes + 1)
    sdb.sessions.update_many({}, {"$set": {"last_seen": idle}})
    status, _, headers = dash_web.raw("POST", "/dash/_dash-update-component", identity_callback(),
                                      headers={"Content-Type": "application/json"}, cookie=cookie)
    assert status == 302 and headers["Location"].startswith("/login")


def _direct(dashboards, path: str, headers: dict | None = None, body: bytes | None = None) -> tuple[int, str]:
    import urllib.error
    import urllib.request
    request = urllib.request.Request(f"http://127.0.0.1:{dashboards.port}{path}", data=body,
                                     headers={**(headers or {}), **({"Content-Type": "application/json"} if body else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_dash_port_refuses_anything_not_signed_fresh_by_the_web_process(dashboards):
    city = Caller("sup", "supervisor", None, "10.0.0.1")
    county = Caller("sup", "supervisor", "蓬江区", "10.0.0.1")
    good = sign(FORWARD_SECRET, county)
    # The requests that must pass, so that the refusals below are the check at work.
    assert _direct(dashboards, "/dash/_dash-layout", good)[0] == 200
    status, body = _direct(dashboards, "/dash/_dash-update-component", good, identity_callback())
    assert status == 200 and callback_answer(body.encode()) == "sup（监管）· 范围：蓬江区"
    refusals = {
        "no headers": {},
        "forged identity, no signature": {k: v for k, v in good.items() if k != SIGNATURE},
        "another key": sign("not-the-secret", county),
        "tampered signature": {**good, SIGNATURE: good[SIGNATURE][:-1] + ("0" if good[SIGNATURE][-1] != "0" else "1")},
        "stale": sign(FORWARD_SECRET, county, now=time.time() - 120),
        "from the future": sign(FORWARD_SECRET, county, now=time.time() + 120),
        "county changed after signing": {**good, COUNTY: urllib.parse.quote("江海区")},
        "county removed after signing": {**sign(FORWARD_SECRET, county), COUNTY: ""},
        "city signature used for a county": {**sign(FORWARD_SECRET, city), COUNTY: urllib.parse.quote("蓬江区")},
        "a role without the dashboards": sign(FORWARD_SECRET, Caller("xmuser", "project", None)),
    }
    for what, headers in refusals.items():
        for path in ("/dash/", "/dash/_dash-layout", "/dash/_dash-dependencies"):
            status, body = _direct(dashboards, path, headers)
            assert status == 403, (what, path, status)
            assert re.search(r"[\u4e00-\u9fff]", body) and "_dash-config" not in body, (what, body)
        status, body = _direct(dashboards, "/dash/_dash-update-component", headers, identity_callback())
        assert status == 403 and "shell-identity" not in body, (what, "callback", status)


def test_a_city_supervisor_gets_the_dashboards_and_their_assets_through_the_web_process(dash_web, make_account):
    make_account("city", "supervisor")
    cookie = dash_web.login("city")
    status, body, headers = dash_web.raw("GET", "/dash/", cookie=cookie)
    page = body.decode()
    assert status == 200 and "<title>监管看板 — 江门市智慧工地监管平台</title>" in page and "正在加载监管看板" in page
    assert '"requests_pathname_prefix":"\\u002fdash\\u002f"' in page
    # Dash's own security headers come through: scripts from here and Dash's inline ones by hash only.
    assert headers.get_all("Content-Security-Policy") == [headers["Content-Security-Policy"]]  # Dash's, not two
    assert "script-src 'self' 'sha256-" in headers["Content-Security-Policy"] and headers.get_all("X-Frame-Options") == ["DENY"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    # Every script and stylesheet is this platform's own address (no CDN), and each comes back through /dash/.
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/dash/") for a in assets), assets
    for asset in assets:
        status, content, _ = dash_web.raw("GET", asset, cookie=cookie)
        assert status == 200 and content, asset
    status, body, _ = dash_web.raw("GET", "/dash/_dash-layout", cookie=cookie)
    assert status == 200 and "县区执行情况" in json.dumps(json.loads(body), ensure_ascii=False)  # the navigation


def test_a_callback_goes_through_the_proxy_and_answers_for_the_signed_in_caller(dash_web, make_account):
    make_account("city", "supervisor")
    status, body, _ = dash_web.raw("POST", "/dash/_dash-update-component", identity_callback(),
                                   headers={"Content-Type": "application/json"}, cookie=dash_web.login("city"))
    assert status == 200
    assert callback_answer(body) == "city（监管）· 范围：全市"


def test_a_county_supervisor_reaches_the_dashboards_as_that_county_whatever_the_browser_sends(dash_web, make_account):
    make_account("pjsup", "supervisor", county="蓬江区")
    cookie = dash_web.login("pjsup")
    # The browser asks for another county in the page address and makes up identity headers of its own.
    forged = sign(FORWARD_SECRET, Caller("pjsup", "supervisor", "江海区"))
    status, body, _ = dash_web.raw("POST", "/dash/_dash-update-component", identity_callback("?county=江海区"),
                                   headers={"Content-Type": "application/json", **forged}, cookie=cookie)
    assert status == 200
    assert callback_answer(body) == "pjsup（监管）· 范围：蓬江区（仅可查看蓬江区）"


def test_analysts_and_the_admin_token_get_the_dashboards_and_the_navigation_offers_them(dash_web, make_account, site):
    make_account("fxuser", "analyst")
    make_account("xmuser", "project", project_id=site["project_id"])
    status, body, _ = dash_web.raw("POST", "/dash/_dash-update-component", identity_callback(),
                                   headers={"Content-Type": "application/json"}, cookie=dash_web.login("fxuser"))
    assert status == 200 and callback_answer(body) == "fxuser（分析）· 范围：全市"
    assert dash_web.raw("GET", "/dash/", token=ADMIN_TOKEN)[0] == 200
    assert 'href="/dash/"' in dash_web.raw("GET", "/", cookie=dash_web.login("fxuser"))[1].decode()
    assert 'href="/dash/"' not in dash_web.raw("GET", "/", cookie=dash_web.login("xmuser"))[1].decode()


def test_when_the_dashboards_process_is_down_the_web_process_says_so_in_chinese(mongo_uri, db_name, make_account):
    web = WebThread(mongo_uri, db_name, dash_port=free_port(), forward_secret=FORWARD_SECRET)
    try:
        make_account("city", "supervisor")
        status, body, _ = web.raw("GET", "/dash/", cookie=web.login("city"))
        assert status == 502 and "监管看板服务暂不可用" in body.decode()
    finally:
        web.stop()
