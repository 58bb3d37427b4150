"""Phones of 企业负责人 and 项目经理 are personal data: masked in pages, API and exports unless asked
for through the audited path; a masked value sent back by an edit form keeps the stored one."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from support import ADMIN_TOKEN


def _sheet(body: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))


def test_enterprise_contact_phone_is_masked_everywhere_unless_unmasked(web, site, sdb, make_account):
    enterprise = sdb.enterprises.find_one({})
    sdb.enterprises.update_one({"_id": enterprise["_id"]}, {"$set": {"contact_name": "李小明",
                                                                      "contact_phone": "13800138000"}})
    make_account("boss", "supervisor")
    cookie = web.login("boss")
    for path in ("/enterprises", f"/enterprises/{enterprise['_id']}"):
        _, body, _ = web.raw("GET", path, cookie=cookie)
        assert "138****8000" in body.decode() and "13800138000" not in body.decode(), path
    _, body, _ = web.raw("GET", "/api/enterprises/export", cookie=cookie)
    sheet = _sheet(body)
    column = sheet[0].index("负责人电话")
    assert [r[column] for r in sheet[1:]] == ["138****8000"]
    _, body, _ = web.raw("GET", "/api/enterprises/export?unmask=true", cookie=cookie)
    assert [r[column] for r in _sheet(body)[1:]] == ["13800138000"]
    assert sdb.audit_log.find_one({"action": "enterprises_export_unmasked"})["actor"] == "boss"
    # The edit form shows the masked phone; saving it unchanged keeps the number.
    status, reply, _ = web.request("PATCH", f"/api/enterprises/{enterprise['_id']}",
                                   {"contact_phone": "138****8000", "contact_name": "李大明"}, cookie=cookie)
    assert status == 200, reply
    stored = sdb.enterprises.find_one({"_id": enterprise["_id"]})
    assert stored["contact_phone"] == "13800138000" and stored["contact_name"] == "李大明"


def test_project_manager_phone_is_masked_unless_unmasked(web, site, sdb, make_account):
    pid = site["project_id"]
    unit = sdb.units.find_one({"project_id": pid})
    sdb.units.update_one({"_id": unit["_id"]}, {"$set": {"manager_name": "王经理", "manager_phone": "13912345678"}})
    make_account("clerk", "project", project_id=pid)
    cookie = web.login("clerk")
    for path in ("/units", f"/units/{unit['_id']}"):
        _, body, _ = web.raw("GET", path, cookie=cookie)
        assert "139****5678" in body.decode() and "13912345678" not in body.decode(), path
    _, reply, _ = web.request("GET", f"/api/projects/{pid}/units/{unit['_id']}", cookie=cookie)
    assert reply["manager_phone"] == "139****5678"
    _, reply, _ = web.request("GET", f"/api/projects/{pid}/units/{unit['_id']}?unmask=true", token=ADMIN_TOKEN)
    assert reply["manager_phone"] == "13912345678"
    assert sdb.audit_log.count_documents({"action": "unit_view_unmasked"}) == 1
    status, reply, _ = web.request("PATCH", f"/api/projects/{pid}/units/{unit['_id']}",
                                   {"manager_phone": "139****5678", "manager_name": "王大经理"}, cookie=cookie)
    assert status == 200, reply
    assert sdb.units.find_one({"_id": unit["_id"]})["manager_phone"] == "13912345678"


def test_person_library_export_is_masked_and_unmasking_it_is_audited(web, site, sdb, make_account):
    make_account("clerk", "project", project_id=site["project_id"])
    cookie = web.login("clerk")
    _, body, _ = web.raw("GET", "/people", cookie=cookie)
    assert 'href="/api/people/export"' in body.decode()
    status, body, headers = web.raw("GET", "/api/people/export", cookie=cookie)
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = _sheet(body)
    assert sheet[0][:3] == ("工人编号", "姓名", "身份证号码")
    numbers = {w["id_number"] for w in site["workers"]}
    assert len(sheet) - 1 == len(site["workers"]) and not numbers & {r[2] for r in sheet[1:]}
    assert all(r[2].endswith(n[-4:]) for r, n in zip(sorted(sheet[1:]), [w["id_number"] for w in sorted(
        site["workers"], key=lambda w: w["worker_no"])]))
    assert sdb.audit_log.count_documents({"action": "people_export_unmasked"}) == 0
    status, body, _ = web.raw("GET", "/api/people/export?unmask=true", cookie=cookie)
    assert status == 200 and numbers == {r[2] for r in _sheet(body)[1:]}
    unmasked = sdb.audit_log.find_one({"action": "people_export_unmasked"})
    assert unmasked["actor"] == "clerk" and unmasked["detail"]["rows"] == len(numbers)
