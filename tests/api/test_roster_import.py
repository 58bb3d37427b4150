"""批量人员进场 from Excel over real HTTP: the template, a mixed workbook where every row is either
entered or reported with its row, column and reason, broken uploads refused naming `file`, the
job's progress only within the project's scope, and a 1,000-row import done in reasonable time."""
from __future__ import annotations

import datetime as dt
import io
import random
import time
import zipfile

from openpyxl import Workbook, load_workbook

from server import synthetic
from server.store import roster_import
from server.store import workforce
from server.store.db import SITE_TZ
from support import ADMIN_TOKEN, run_async

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = [c.title for c in roster_import.COLUMNS]


def workbook(rows: list[list], header=HEADER, notes=True) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    if notes:
        sheet.append([c.note for c in roster_import.COLUMNS])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(web, pid, data, **kw):
    return web.upload(f"/api/projects/{pid}/roster/import", files={"file": ("名单.xlsx", data, XLSX)}, **kw)


def wait_done(web, url, token=ADMIN_TOKEN, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = web.get(url, token=token)
        assert status == 200, job
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"import not finished: {job}")


def test_template_has_columns_and_format_notes(web):
    status, data, headers = web.raw("GET", "/api/roster/template", token=ADMIN_TOKEN)
    assert status == 200 and headers["Content-Type"] == XLSX and "attachment" in headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True, max_row=2))
    assert rows[0][0] == "身份证号码*" and "工种/岗位*" in rows[0] and "进场日期" in rows[0]
    assert rows[1][0].startswith("填写说明") and "YYYY-MM-DD" in rows[1][-1]
    # The template itself, filled in, imports (headers with * are understood).
    assert roster_import._header_keys(rows[0])


def test_mixed_workbook_every_row_entered_or_reported(web, site, sdb):
    pid = site["project_id"]
    rng = random.Random(41)
    unit, team = "江门市测试建筑工程有限公司", "土建"
    new_ids = [synthetic.id_number(rng) for _ in range(3)]
    library_person = sdb.people.find_one({"worker_no": site["workers"][0]["worker_no"]})
    # The library's person leaves first, so that importing them again is a valid re-entry.
    sdb.roster.delete_many({"worker_no": library_person["worker_no"]})
    bad_check = new_ids[0][:17] + ("0" if new_ids[0][17] != "0" else "1")
    rows = [
        [new_ids[0], "王小明", "男", "汉族", "江门市蓬江区某路 1 号", "13800138000", unit, team, "钢筋工", "2024-03-01"],  # 3 ok
        [library_person["id_number"], None, None, None, None, None, unit, team, "木工", None],               # 4 ok (library)
        [bad_check, "错号", None, None, None, None, unit, team, "木工", None],                               # 5 id_number
        [new_ids[1], None, None, None, None, None, unit, team, "木工", None],                                # 6 name
        [new_ids[2], "赵六", None, None, None, None, "不存在的公司", team, "木工", None],                          # 7 unit
        [synthetic.id_number(rng), "钱七", None, None, None, None, unit, "不存在的班组", "木工", None],           # 8 team
        [synthetic.id_number(rng), "孙八", None, None, None, None, unit, team, "项目经理", None],               # 9 job
        [new_ids[0], "王小明", None, None, None, None, unit, team, "钢筋工", None],                           # 10 duplicate
        [site["workers"][1]["id_number"], None, None, None, None, None, unit, team, "木工", None],           # 11 in site
        [synthetic.id_number(rng), "周九", None, None, None, None, unit, team, "木工", "2024-13-45"],          # 12 date
        [synthetic.id_number(rng), "吴十", None, "火星族", None, None, unit, team, "木工", None],               # 13 nation
        [int(new_ids[2][:17]), "郑十一", None, None, None, None, unit, team, "木工", None],                    # 14 numeric id
        [synthetic.id_number(rng), "冯十二", None, None, None, None, unit, "总承包单位项目部", "项目经理", None],   # 15 ok manager
    ]
    status, reply = upload(web, pid, workbook(rows))
    assert status == 202 and reply["job_url"].startswith("/api/imports/") and reply["total"] == 13, reply
    job = wait_done(web, reply["job_url"])
    assert job["state"] == "done" and job["done"] == 13 and job["entered"] == 3, job
    errors = {e["row"]: (e["field"], e["message"]) for e in job["errors"]}
    assert {r: f for r, (f, _) in errors.items()} == {
        5: "id_number", 6: "name", 7: "unit", 8: "team", 9: "job", 10: "id_number", 11: "id_number",
        12: "entry_date", 13: "nation", 14: "id_number"}
    assert "校验位" in errors[5][1] and "第 3 行" in errors[10][1] and "已在本项目在场" in errors[11][1]
    assert job["entered"] + len(job["errors"]) == job["total"]  # nothing dropped silently
    created = sdb.people.find_one({"id_number": new_ids[0]})
    assert created["name"] == "王小明" and created["phone"] == "13800138000" and created["nation"] == "01"
    entry = sdb.roster.find_one({"worker_no": created["worker_no"], "project_id": pid})
    assert entry["job"] == "钢筋工" and entry["entry_date"].astimezone(SITE_TZ).date().isoformat() == "2024-03-01"
    assert sdb.roster.count_documents({"worker_no": library_person["worker_no"], "exit_date": None}) == 1
    assert sdb.people.count_documents({"id_number": new_ids[1]}) == 0  # refused rows leave no person behind


def test_broken_uploads_are_refused_naming_file(web, site):
    pid = site["project_id"]
    cases = [
        (b"PK\x03\x04" + b"\x00" * 200, 400),                           # zip signature, corrupted body
        (b"%PDF-1.4 not a workbook", 400),                              # wrong kind
        (workbook([["x"]], header=["姓名", "班组"], notes=False), 400),   # required columns missing
        (workbook([], notes=True), 400),                                # no data rows
    ]
    for data, code in cases:
        status, body = upload(web, pid, data)
        assert (status, body.get("field")) == (code, "file"), body
    status, body = upload(web, pid, b"PK\x03\x04" + b"\x00" * (6 * 1024 * 1024))
    assert status == 413 and body["field"] == "file"
    status, body = web.upload(f"/api/projects/{pid}/roster/import", files={})
    assert status == 400 and body["field"] == "file"


def test_job_progress_only_within_project_scope(web, site, make_account, mongo_uri, db_name):
    pid = site["project_id"]
    row = [synthetic.id_number(random.Random(5)), "林一", None, None, None, None, "江门市测试建筑工程有限公司", "土建", "木工", None]
    status, reply = upload(web, pid, workbook([row]))
    assert status == 202
    make_account("own_project", "project", project_id=pid)
    own = web.login("own_project")
    status, job, _ = web.request("GET", reply["job_url"], cookie=own)
    assert status == 200 and job["project_id"] == pid
    other = run_async(mongo_uri, db_name, lambda db: workforce.create_project(db, name="别的项目", county="恩平市"))
    make_account("other_project", "project", project_id=other["_id"])
    cookie = web.login("other_project", ip="10.0.0.3")
    status, body, _ = web.request("GET", reply["job_url"], cookie=cookie)
    assert status == 404
    assert web.get("/api/imports/not-a-job")[0] == 404
    assert wait_done(web, reply["job_url"])["entered"] == 1


def test_thousand_rows_import_quickly(web, site, sdb):
    pid = site["project_id"]
    rng = random.Random(1000)
    rows = [[synthetic.id_number(rng), synthetic.chinese_name(rng), None, None, None, None,
             "江门市测试建筑工程有限公司", "土建", "普通工人", None] for _ in range(1000)]
    started = time.monotonic()
    status, reply = upload(web, pid, workbook(rows))
    assert status == 202, reply
    job = wait_done(web, reply["job_url"])
    elapsed = time.monotonic() - started
    # synthetic.id_number may repeat a number; such a row is reported, never lost.
    assert job["state"] == "done" and job["entered"] + len(job["errors"]) == 1000, job
    assert job["entered"] >= 990 and all(e["field"] == "id_number" for e in job["errors"])
    assert sdb.roster.count_documents({"project_id": pid, "exit_date": None}) == 3 + job["entered"]
    assert elapsed < 30, f"1,000-row import took {elapsed:.1f}s"
    numbers = [p["worker_no"] for p in sdb.people.find({}, {"worker_no": 1})]
    assert len(numbers) == len(set(numbers))


def test_job_cut_off_by_a_stopped_process_is_reported_failed(web, site, sdb):
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=30)
    job_id = sdb.import_jobs.insert_one({
        "project_id": site["project_id"], "state": "running", "total": 600, "done": 250, "entered": 250, "created": 0,
        "errors": [], "created_at": long_ago, "updated_at": long_ago}).inserted_id
    status, job = web.get(f"/api/imports/{job_id}")
    assert status == 200 and job["state"] == "failed" and "中断" in job["message"] and job["done"] == 250
    assert sdb.import_jobs.find_one({"_id": job_id})["state"] == "failed"


def test_compression_bomb_is_refused_before_unpacking(web, site):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * (80 * 1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024
    status, body = upload(web, site["project_id"], buffer.getvalue())
    assert status == 400 and body["field"] == "file" and "解压后" in body["message"]
