"""审计日志 page and export: search by operator, action and dates; city supervisors and admins only."""
from __future__ import annotations

import datetime as dt
import io
import urllib.parse

import pytest
from openpyxl import load_workbook

from server.domain.site_clock import SITE_TZ

from support import ADMIN_TOKEN

DAY = dt.date(2026, 3, 10)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), SITE_TZ).astimezone(dt.timezone.utc)


@pytest.fixture
def entries(sdb):
    sdb.audit_log.insert_many([
        {"at": _at(DAY, 9), "actor": "alice", "action": "person_unmask", "target": {"worker_no": 7},
         "detail": {"ip": "10.1.1.1"}},
        {"at": _at(DAY + dt.timedelta(days=1), 9), "actor": "alice", "action": "login", "target": {},
         "detail": {"ip": "10.1.1.1"}},
        {"at": _at(DAY + dt.timedelta(days=2), 9), "actor": "bob", "action": "login", "target": {},
         "detail": {"ip": "10.2.2.2"}},
        {"at": _at(DAY + dt.timedelta(days=2), 10), "actor": "<b>mallory</b>", "action": "=cmd()", "target": {},
         "detail": {"ip": "10.3.3.3"}},
    ])


def _table_rows(html: str) -> int:
    body = html.split('<table class="list" id="audit-table">', 1)[1].split("</table>", 1)[0]
    return body.count("<tr><td>")


def test_city_supervisor_searches_the_log_on_the_page(web, entries, make_account):
    make_account("sup-city", "supervisor")
    cookie = web.login("sup-city")
    status, body, _ = web.raw("GET", "/audit", cookie=cookie)
    html = body.decode()
    assert status == 200 and "审计日志" in html and 'href="/audit"' in html
    assert "person_unmask" in html and "工人编号 7" in html and "来源地址 10.1.1.1" in html
    assert "<td title=\"login\">登录</td>" in html and "worker_no=7" not in html, "actions and details read Chinese"
    assert "<b>mallory</b>" not in html and "&lt;b&gt;mallory&lt;/b&gt;" in html, "entries are escaped"
    assert "2026-03-10 09:00:00" in html, "times shown in site time"
    status, body, _ = web.raw("GET", "/audit?actor=alice&action=&from=&to=", cookie=cookie)
    html = body.decode()
    assert status == 200 and _table_rows(html) == 2 and 'value="alice"' in html
    assert 'href="/api/audit/export?actor=alice"' in html
    _, body, _ = web.raw("GET", "/audit?action=login&from=2026-03-12&to=2026-03-12", cookie=cookie)
    html = body.decode()
    assert _table_rows(html) == 1 and "bob" in html and "10.1.1.1" not in html
    status, body, _ = web.raw("GET", "/audit?from=2026-13-01", cookie=cookie)
    assert status == 400 and "日期格式须为 YYYY-MM-DD" in body.decode() and "from:" not in body.decode()


def test_only_city_supervisors_and_admins_reach_the_log(web, entries, make_account):
    make_account("sup-county", "supervisor", county="蓬江区")
    make_account("ana", "analyst")
    status, _, headers = web.raw("GET", "/audit")
    assert status == 302 and headers["Location"].startswith("/login")
    for username in ("sup-county", "ana"):
        cookie = web.login(username)
        assert web.raw("GET", "/audit", cookie=cookie)[0] == 403, username
        assert web.raw("GET", "/api/audit/export", cookie=cookie)[0] == 403, username
    assert web.raw("GET", "/api/audit/export")[0] == 401
    assert web.raw("GET", "/audit", token=ADMIN_TOKEN)[0] == 200


def test_export_holds_the_filtered_entries_and_is_itself_audited(web, entries, sdb):
    status, body, headers = web.raw("GET", "/api/audit/export?actor=alice", token=ADMIN_TOKEN)
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    assert rows[0] == ("时间", "操作人", "操作", "对象", "详情")
    assert [(r[1], r[2]) for r in rows[1:]] == [("alice", "登录"), ("alice", "person_unmask")], "newest first"
    assert rows[2][0] == "2026-03-10 09:00:00" and rows[2][3] == "工人编号 7"
    logged = sdb.audit_log.find_one({"action": "audit_export"})
    assert logged and logged["actor"] == "admin-token" and logged["detail"]["rows"] == 2
    assert logged["detail"]["filters"] == {"actor": "alice"}
    _, body, _ = web.raw("GET", "/api/audit/export?from=2026-03-12&to=2026-03-12", token=ADMIN_TOKEN)
    rows = list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    assert {r[1] for r in rows[1:]} == {"bob", "<b>mallory</b>"}
    assert "'=cmd()" in [r[2] for r in rows[1:]], "a formula-like cell is neutralised"
    status, body, _ = web.raw("GET", "/api/audit/export?actor=bob&action=login&from=2026-03-01", token=ADMIN_TOKEN)
    assert status == 200 and len(list(load_workbook(io.BytesIO(body)).active.iter_rows())) == 2


def test_the_log_is_searched_by_the_chinese_action_name(web, entries, sdb, make_account):
    sdb.audit_log.insert_one({"at": _at(DAY + dt.timedelta(days=2), 11), "actor": "carol", "action": "login_failure",
                              "target": {}, "detail": {"ip": "10.4.4.4", "reason": "password"}})
    make_account("sup-city", "supervisor")
    cookie = web.login("sup-city")
    _, body, _ = web.raw("GET", "/audit?action=%E7%99%BB%E5%BD%95&from=2026-03-10&to=2026-03-12", cookie=cookie)
    html = body.decode()
    assert _table_rows(html) == 3 and "登录失败" in html and "person_unmask" not in html
    status, reply, _ = web.request("GET", "/api/audit?" + urllib.parse.urlencode({"action": "登录失败"}), token=ADMIN_TOKEN)
    assert status == 200 and [(e["actor"], e["action_name"]) for e in reply["entries"]] == [("carol", "登录失败")]
    _, body, _ = web.raw("GET", "/api/audit/export?" + urllib.parse.urlencode({"action": "登录", "from": "2026-03-12", "to": "2026-03-12"}), token=ADMIN_TOKEN)
    rows = list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    assert [(r[1], r[2]) for r in rows[1:]] == [("carol", "登录失败"), ("bob", "登录")], "merged newest first"


def test_device_fetches_are_folded_unless_asked_for(web, entries, sdb):
    sdb.audit_log.insert_many([{"at": _at(DAY, 8), "actor": "device:V1/D1", "action": "device_person_fetch",
                                "target": {"worker_no": n}, "detail": {"unmasked": ["id_number", "photos"]}}
                               for n in range(30)])
    _, body, _ = web.raw("GET", "/audit", token=ADMIN_TOKEN)
    html = body.decode()
    assert _table_rows(html) == 4 and "另有设备下发人员信息 30 条未列出" in html
    _, body, _ = web.raw("GET", "/audit?devices=1", token=ADMIN_TOKEN)
    html = body.decode()
    assert _table_rows(html) == 34 and "完整查看 身份证号码、照片" in html and "未列出" not in html
    _, reply, _ = web.request("GET", "/api/audit?" + urllib.parse.urlencode({"action": "设备下发"}), token=ADMIN_TOKEN)
    assert reply["count"] == 30 and {e["action_name"] for e in reply["entries"]} == {"设备下发人员信息"}


@pytest.mark.parametrize("query, field", [("from=yesterday", "from"), ("to=2026-02-30", "to"),
                                          ("from=2026-03-12&to=2026-03-10", "to")])
def test_bad_dates_are_refused_naming_the_field(web, entries, query, field):
    for path in ("/api/audit", "/api/audit/export"):
        status, body, _ = web.raw("GET", f"{path}?{query}", token=ADMIN_TOKEN)
        assert status == 400 and f'"field": "{field}"' in body.decode(), (path, body)
