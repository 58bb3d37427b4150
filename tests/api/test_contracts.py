"""Contracts (合同管理) over real HTTP on the real database: register with a PDF scan, refusals,
lists and filters, per-person view, audited downloads, scan replacement, export and scope."""
from __future__ import annotations

import datetime as dt
import io
import urllib.parse

import openpyxl
import pytest

from server.domain.site_clock import site_today
from support import PDF, refusal_names_field, WebThread, build_site, run_async


def terms(worker_no: int, **changes) -> dict:
    fields = {"worker_no": str(worker_no), "effective_date": "2026-01-01", "expiry_date": "2026-12-31",
              "term_type": "固定期限", "pay_unit": "按天", "unit_price": "350.5"}
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def register(web, site, worker_no=None, *, scan=PDF, name="../../etc/passwd.pdf", **changes):
    worker_no = site["workers"][0]["worker_no"] if worker_no is None else worker_no
    return web.upload(f"/api/projects/{site['project_id']}/contracts", files={"scan": (name, scan, "application/pdf")},
                      fields=terms(worker_no, **changes))


def test_register_list_view_download_and_replace(web, site, sdb):
    worker = site["workers"][0]
    status, body = register(web, site)
    assert status == 201, body
    assert (body["worker_no"], body["name"], body["enterprise_name"]) == (
        worker["worker_no"], worker["name"], "江门市测试建筑工程有限公司")
    assert (body["effective_date"], body["expiry_date"], body["term_type"], body["pay_unit"], body["unit_price"]) == (
        "2026-01-01", "2026-12-31", "固定期限", "按天", 350.5)
    assert body["id_number"] != worker["id_number"] and body["id_number"][-4:] == worker["id_number"][-4:]
    # The scan is in the database, and the client's file name went nowhere.
    stored = sdb.contract_files.find_one({"contract_id": sdb.contracts.find_one()["_id"]})
    assert bytes(stored["data"]) == PDF and "passwd" not in str(stored)

    status, listing = web.get(f"/api/projects/{site['project_id']}/contracts")
    assert status == 200 and listing["count"] == 1 and listing["contracts"][0]["id"] == body["id"]
    assert web.get(f"/api/projects/{site['project_id']}/contracts?name={urllib.parse.quote(worker['name'][:1])}")[1]["count"] == 1
    assert web.get(f"/api/projects/{site['project_id']}/contracts?worker_no={site['workers'][1]['worker_no']}")[1]["count"] == 0
    assert web.get(f"/api/contracts/{body['id']}")[1]["worker_no"] == worker["worker_no"]
    status, mine = web.get(f"/api/people/{worker['worker_no']}/contracts")
    assert status == 200 and [c["id"] for c in mine["contracts"]] == [body["id"]]

    status, data, headers = web.raw("GET", f"/api/contracts/{body['id']}/scan", token="test-admin-token-0123456789")
    assert status == 200 and data == PDF and headers["Content-Type"] == "application/pdf"
    assert "attachment" in headers["Content-Disposition"]
    assert sdb.audit_log.count_documents({"action": "contract_scan_download", "target.contract_id": body["id"]}) == 1

    newer = PDF.replace(b"1.4", b"1.7")
    status, replaced = web.upload(f"/api/contracts/{body['id']}/scan", files={"scan": ("x.pdf", newer, "application/pdf")})
    assert status == 200 and replaced["scan_replacements"] == 1
    assert web.raw("GET", f"/api/contracts/{body['id']}/scan", token="test-admin-token-0123456789")[1] == newer
    assert sdb.contract_files.count_documents({}) == 2  # the replaced scan is kept as evidence


def test_open_ended_contract_needs_no_expiry_and_expiring_filter(web, site):
    today = site_today()
    soon = (today + dt.timedelta(days=10)).isoformat()
    assert register(web, site, effective_date="2020-01-01", expiry_date="", term_type="无固定期限", pay_unit="按月",
                    unit_price="6000")[0] == 201
    status, body = register(web, site, site["workers"][1]["worker_no"], effective_date="2020-01-01", expiry_date=soon)
    assert status == 201 and body["state"] == "即将到期"
    status, listing = web.get(f"/api/projects/{site['project_id']}/contracts?expiring=true")
    assert [c["worker_no"] for c in listing["contracts"]] == [site["workers"][1]["worker_no"]]
    assert web.get(f"/api/projects/{site['project_id']}/contracts")[1]["count"] == 2


@pytest.mark.parametrize("changes, field", [
    ({"expiry_date": "2025-12-31"}, "expiry_date"),
    ({"expiry_date": ""}, "expiry_date"),              # 固定期限 must state its expiry
    ({"effective_date": "2026-02-30"}, "effective_date"),
    ({"term_type": "长期"}, "term_type"),
    ({"pay_unit": "按年"}, "pay_unit"),
    ({"unit_price": "0"}, "unit_price"),
    ({"unit_price": "abc"}, "unit_price"),
    ({"unit_price": "99999999"}, "unit_price"),
    ({"worker_no": ""}, "worker_no"),
])
def test_bad_terms_are_refused_naming_the_field(web, site, sdb, changes, field):
    status, body = register(web, site, **changes)
    assert status == 400 and refusal_names_field(body, field), body
    assert sdb.contracts.count_documents({}) == 0 and sdb.contract_files.count_documents({}) == 0


def test_scan_must_be_one_pdf_within_the_size_limit(web, site, sdb, mongo_uri, db_name):
    status, body = register(web, site, scan=b"\xff\xd8\xff\xe0 a jpeg, named .pdf", name="scan.pdf")
    assert status == 400 and body["field"] == "scan" and "PDF" in body["message"]
    status, body = web.upload(f"/api/projects/{site['project_id']}/contracts", files={},
                              fields=terms(site["workers"][0]["worker_no"]))
    assert status == 400 and body["field"] == "scan"
    small = WebThread(mongo_uri, db_name, contract_max_mb=1)
    try:
        status, body = register(small, site, scan=PDF + b"0" * (1024 * 1024))
    finally:
        small.stop()
    assert status == 413 and body["field"] == "scan"
    assert sdb.contracts.count_documents({}) == 0 and sdb.contract_files.count_documents({}) == 0


def test_only_people_entered_on_the_project_get_a_contract_there(web, site, mongo_uri, db_name):
    other = run_async(mongo_uri, db_name, lambda db: build_site(db, workers=1, devices=0, seed=8))
    status, body = register(web, site, other["workers"][0]["worker_no"])
    assert status == 400 and body["field"] == "worker_no" and "进场" in body["message"]
    status, body = register(web, site, 99999)
    assert status == 400 and body["field"] == "worker_no"


def test_scope_and_permissions(web, site, make_account, mongo_uri, db_name, sdb):
    other = run_async(mongo_uri, db_name, lambda db: build_site(db, workers=1, devices=0, seed=8))
    _, created = register(web, site)
    cid = created["id"]
    make_account("proj-own", "project", project_id=site["project_id"])
    make_account("proj-other", "project", project_id=other["project_id"])
    make_account("ana", "analyst")
    make_account("sup", "supervisor")
    own, stranger, analyst, supervisor = (web.login(u) for u in ("proj-own", "proj-other", "ana", "sup"))

    assert web.request("GET", f"/api/contracts/{cid}", cookie=own)[0] == 200
    assert web.request("GET", f"/api/contracts/{cid}", cookie=stranger)[0] == 404
    assert web.request("GET", f"/api/projects/{site['project_id']}/contracts", cookie=stranger)[0] == 404
    assert web.raw("GET", f"/api/contracts/{cid}/scan", cookie=stranger)[0] == 404
    status, body, _ = web.request("GET", f"/api/people/{site['workers'][0]['worker_no']}/contracts", cookie=stranger)
    assert status == 404  # not on any of the stranger's projects: looks absent
    status, body, _ = web.request("GET", f"/api/people/{site['workers'][0]['worker_no']}/contracts", cookie=own)
    assert status == 200 and body["count"] == 1
    assert web.request("GET", "/api/people/99999/contracts", cookie=own)[0] == 404
    # Analysts read contracts but never the scans; supervisors read and download but do not register.
    assert web.request("GET", f"/api/contracts/{cid}", cookie=analyst)[0] == 200
    assert web.raw("GET", f"/api/contracts/{cid}/scan", cookie=analyst)[0] == 403
    assert web.raw("GET", f"/api/contracts/{cid}/scan", cookie=supervisor)[0] == 200
    assert web.upload(f"/api/projects/{site['project_id']}/contracts", files={"scan": ("a.pdf", PDF, "application/pdf")},
                      fields=terms(site["workers"][1]["worker_no"]), token=None, cookie=supervisor)[0] == 403
    status, body = web.upload(f"/api/projects/{site['project_id']}/contracts", token=None, cookie=own,
                              files={"scan": ("a.pdf", PDF, "application/pdf")}, fields=terms(site["workers"][1]["worker_no"]))
    assert status == 201 and body["created_by"] == "proj-own"
    assert web.request("GET", "/api/contracts/not-an-id", cookie=own)[0] == 404
    assert sdb.audit_log.count_documents({"action": "contract_scan_download", "actor": "sup"}) == 1


def test_person_contracts_share_the_person_librarys_scope(web, site, make_account, mongo_uri, db_name):
    """/api/people/{n}/contracts answers exactly when /api/people/{n} does (one scope check): a person
    the project added (not yet entered) is visible with no contracts; a stranger sees neither."""
    make_account("proj-own", "project", project_id=site["project_id"])
    own = web.login("proj-own")
    status, added, _ = web.request("POST", "/api/people", {"id_number": "11010519491231002X", "name": "新增待进场"},
                                   cookie=own)
    assert status == 201, added
    number = added["worker_no"]
    assert web.request("GET", f"/api/people/{number}", cookie=own)[0] == 200
    status, body, _ = web.request("GET", f"/api/people/{number}/contracts", cookie=own)
    assert status == 200 and body == {"worker_no": number, "contracts": [], "count": 0}
    other = run_async(mongo_uri, db_name, lambda db: build_site(db, workers=1, devices=0, seed=8))
    make_account("proj-other", "project", project_id=other["project_id"])
    stranger = web.login("proj-other")
    assert web.request("GET", f"/api/people/{number}", cookie=stranger)[0] == 404
    assert web.request("GET", f"/api/people/{number}/contracts", cookie=stranger)[0] == 404


def test_export_is_masked_and_has_the_guides_columns(web, site):
    register(web, site)
    status, data, headers = web.raw("GET", f"/api/projects/{site['project_id']}/contracts/export",
                                    token="test-admin-token-0123456789")
    assert status == 200 and "spreadsheetml" in headers["Content-Type"]
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    assert rows[0][:9] == ("序号", "姓名", "工人编号", "身份证号", "合同签订企业", "签订时所在项目", "合同生效日期",
                           "合同失效日期", "合同期限类型")
    worker = site["workers"][0]
    assert rows[1][1] == worker["name"] and "*" in rows[1][3] and worker["id_number"] not in str(rows)


def test_contracts_page_lists_masked_contracts_with_the_register_form(web, site, make_account):
    _, created = register(web, site)
    worker = site["workers"][0]
    status, body, _ = web.raw("GET", f"/contracts?project={site['project_id']}", token="test-admin-token-0123456789")
    html = body.decode()
    assert status == 200 and "合同管理" in html and worker["name"] in html and worker["id_number"] not in html
    assert created["id_number"] in html and f"/api/contracts/{created['id']}/scan" in html
    assert "登记合同" in html and 'enctype="multipart/form-data"' in html and "合同扫描件" in html and "<progress" in html
    assert f'data-api="/api/projects/{site["project_id"]}/contracts"' in html
    make_account("ana", "analyst")
    status, body, _ = web.raw("GET", f"/contracts?project={site['project_id']}", cookie=web.login("ana"))
    html = body.decode()
    assert status == 200 and worker["name"] in html and "/scan" not in html and "登记合同" not in html
    status, body, _ = web.raw("GET", "/contracts", token="test-admin-token-0123456789")
    assert status == 200 and "请先选择一个项目" in body.decode()


def test_demo_contracts_are_idempotent_and_carry_a_pdf(web, site, sdb, mongo_uri, db_name):
    from server.demo.contracts_demo import seed_contracts

    sdb.projects.update_one({"_id": site["project_id"]}, {"$set": {"demo_complete": True}})
    assert run_async(mongo_uri, db_name, seed_contracts) == 1  # every third of the 3 workers
    assert run_async(mongo_uri, db_name, seed_contracts) == 0
    [contract] = web.get(f"/api/projects/{site['project_id']}/contracts")[1]["contracts"]
    status, data, _ = web.raw("GET", f"/api/contracts/{contract['id']}/scan", token="test-admin-token-0123456789")
    assert status == 200 and data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")


def test_a_fake_pdf_is_refused_and_downloads_are_never_rendered(web, site, sdb):
    # "%PDF-" then HTML: it would be served back as application/pdf and, sniffed, run as a page.
    for fake in (b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n%%EOF\n",
                 b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"):
        status, body = register(web, site, scan=fake)
        assert status == 400 and body["field"] == "scan" and "有效的 PDF" in body["message"], body
    assert sdb.contracts.count_documents({}) == 0
    status, body = register(web, site)
    assert status == 201, body
    status, data, headers = web.raw("GET", f"/api/contracts/{body['id']}/scan", token="test-admin-token-0123456789")
    assert status == 200 and data == PDF
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith("attachment; filename=\"")
    assert "sandbox" in headers["Content-Security-Policy"]
    # nosniff on every kind of response: JSON, a page, a static file, an error.
    for path in ("/api/health", "/login", "/static/app.js", "/api/no-such-thing", "/no-such-page"):
        assert web.raw("GET", path)[2]["X-Content-Type-Options"] == "nosniff", path
