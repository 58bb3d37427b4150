"""Project attendance (项目考勤) over real HTTP on the real database: the monthly grid with 停工 days,
filters, punch detail, exports, the audited punch photo, and scope."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl

from server.store import attendance
from support import ADMIN_TOKEN, PUNCH_JPEG as JPEG, build_site, run_async, site_midnight as midnight, store_punches as punch

def arrange_march(mongo_uri, db_name, sdb, site):
    """Everyone entered since January; 10–11 March stopped (停工), work resumed on the 12th."""
    sdb.roster.update_many({"project_id": site["project_id"]}, {"$set": {"entry_date": midnight("2026-01-01")}})
    sdb.projects.update_one({"_id": site["project_id"]}, {"$set": {"stop_periods": [
        {"from": "2026-03-10", "to": "2026-03-12"}]}})  # as server/store/projects.py keeps them
    w1, w2, w3 = (w["worker_no"] for w in site["workers"])
    punch(mongo_uri, db_name, site, w1, "2026-03-01T07:55:00,2026-03-01T18:02:00,2026-03-02T08:00:00,2026-03-10T08:00:00")
    punch(mongo_uri, db_name, site, w2, "2026-03-31T23:59:59,2026-04-01T00:00:01")  # site-local days
    punch(mongo_uri, db_name, site, w3, "2026-03-05T08:00:00", test=True)           # test punches never count
    return w1, w2, w3


def test_month_grid_marks_attended_days_stopped_days_and_totals(web, site, sdb, mongo_uri, db_name):
    w1, w2, w3 = arrange_march(mongo_uri, db_name, sdb, site)
    status, body = web.get(f"/api/projects/{site['project_id']}/attendance?month=2026-03")
    assert status == 200, body
    assert body["month"] == "2026-03" and len(body["days"]) == 31 and body["stopped_days"] == 2
    assert [d["day"] for d in body["days"] if d["stopped"]] == [10, 11]
    rows = {r["worker_no"]: r for r in body["rows"]}
    assert sorted(rows) == [w1, w2, w3] and body["count"] == 3
    one = rows[w1]
    assert one["marks"][:3] == ["attended", "attended", None] and one["marks"][9] == "stopped" and one["total"] == 2
    assert (one["team"], one["job"], one["unit"]) == ("土建", "普通工人", "江门市测试建筑工程有限公司")
    assert "*" in one["id_number"] and one["id_number"] != site["workers"][0]["id_number"]
    assert rows[w2]["total"] == 1 and rows[w2]["marks"][30] == "attended"
    assert rows[w3]["total"] == 0 and set(rows[w3]["marks"]) == {None}
    status, april = web.get(f"/api/projects/{site['project_id']}/attendance?month=2026-04")
    assert {r["worker_no"]: r["total"] for r in april["rows"]}[w2] == 1


def test_grid_filters_and_bad_month(web, site, sdb, mongo_uri, db_name):
    w1, *_ = arrange_march(mongo_uri, db_name, sdb, site)
    base = f"/api/projects/{site['project_id']}/attendance?month=2026-03"
    assert [r["worker_no"] for r in web.get(f"{base}&q={w1}")[1]["rows"]] == [w1]
    assert web.get(f"{base}&team={site['team_id']}")[1]["count"] == 3
    assert web.get(f"{base}&team=000000000000000000000000")[1]["count"] == 0
    assert web.get(f"{base}&unit={site['unit_id']}")[1]["count"] == 3
    for bad in ("2026-13", "2026-3", "march"):
        status, body = web.get(f"/api/projects/{site['project_id']}/attendance?month={bad}")
        assert status == 400 and body["field"] == "month"


def test_grid_export_has_a_column_per_day_and_masked_ids(web, site, sdb, mongo_uri, db_name):
    w1, *_ = arrange_march(mongo_uri, db_name, sdb, site)
    status, data, headers = web.raw("GET", f"/api/projects/{site['project_id']}/attendance/export?month=2026-03",
                                    token=ADMIN_TOKEN)
    assert status == 200 and "spreadsheetml" in headers["Content-Type"]
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    header = rows[0]
    assert header[:7] == ("序号", "姓名", "工人编号", "身份证号", "参建单位", "班组", "工种/岗位")
    assert header[7] == "1日" and header[16] == "10日(停工)" and header[-1] == "天数总计(天)" and len(header) == 7 + 31 + 1
    first = next(r for r in rows[1:] if r[2] == w1)
    assert first[7:9] == ("√", "√") and first[16] == "停" and first[-1] == 2
    assert site["workers"][0]["id_number"] not in str(rows)


def test_punch_detail_for_a_day_a_person_and_a_period(web, site, sdb, mongo_uri, db_name):
    w1, w2, w3 = arrange_march(mongo_uri, db_name, sdb, site)
    base = f"/api/projects/{site['project_id']}/attendance/punches"
    status, body = web.get(f"{base}?date=2026-03-01")
    assert status == 200 and body["count"] == 2 and body["truncated"] is False
    first = body["punches"][0]
    assert (first["worker_no"], first["device_id"], first["mode_name"], first["has_photo"]) == (w1, "DEV-0001", "人脸", True)
    assert first["device_time"].startswith("2026-03-01T07:55:00+08:00") and first["received_at"]
    status, body = web.get(f"{base}?from=2026-03-01&to=2026-03-31&worker_no={w2}")
    assert [p["date"] for p in body["punches"]] == ["2026-03-31"]
    assert web.get(f"{base}?date=2026-03-05")[1]["count"] == 0  # the test punch is not attendance
    status, body = web.get(f"{base}?from=2026-03-01&to=2026-04-15")
    assert status == 400 and body["field"] == "to"
    status, body = web.get(f"{base}?date=2026-3-1")
    assert status == 400 and body["field"] == "date"

    async def first_two(db):
        return await attendance.punch_detail(db, site["project_id"], dt.date(2026, 3, 1), dt.date(2026, 3, 31), limit=2)
    rows, truncated = run_async(mongo_uri, db_name, first_two)
    assert truncated is True and [r["device_time"].hour for r in rows] == [23, 10]  # 07:55 and 18:02 site time, in UTC

    status, data, _ = web.raw("GET", f"{base}/export?from=2026-03-01&to=2026-03-31", token=ADMIN_TOKEN)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    assert status == 200 and rows[0][:5] == ("序号", "姓名", "工人编号", "考勤日期", "刷卡时间") and len(rows) == 1 + 5


def test_punch_photo_only_for_permitted_roles_and_audited(web, site, sdb, mongo_uri, db_name, make_account):
    arrange_march(mongo_uri, db_name, sdb, site)
    other = run_async(mongo_uri, db_name, lambda db: build_site(db, workers=1, devices=0, seed=8))
    punch_id = web.get(f"/api/projects/{site['project_id']}/attendance/punches?date=2026-03-01")[1]["punches"][0]["id"]
    photo_path = "/api/punches/" + punch_id.replace("|", "%7C") + "/photo"
    status, data, headers = web.raw("GET", photo_path, token=ADMIN_TOKEN)
    assert status == 200 and data == JPEG and headers["Content-Type"] == "image/jpeg"
    assert sdb.audit_log.count_documents({"action": "punch_photo_view", "target.punch_id": punch_id}) == 1

    make_account("ana", "analyst")
    make_account("proj-own", "project", project_id=site["project_id"])
    make_account("proj-other", "project", project_id=other["project_id"])
    analyst, own, stranger = web.login("ana"), web.login("proj-own"), web.login("proj-other")
    assert web.request("GET", f"/api/projects/{site['project_id']}/attendance?month=2026-03", cookie=analyst)[0] == 200
    assert web.raw("GET", photo_path, cookie=analyst)[0] == 403
    assert web.raw("GET", photo_path, cookie=own)[0] == 200
    assert web.raw("GET", photo_path, cookie=stranger)[0] == 404
    assert web.request("GET", f"/api/projects/{site['project_id']}/attendance?month=2026-03", cookie=stranger)[0] == 404
    assert web.raw("GET", "/api/punches/no-such-punch/photo", token=ADMIN_TOKEN)[0] == 404
    assert sdb.audit_log.count_documents({"action": "punch_photo_view"}) == 2


def test_attendance_page_renders_the_grid_and_hides_photos_from_analysts(web, site, sdb, mongo_uri, db_name,
                                                                          make_account):
    arrange_march(mongo_uri, db_name, sdb, site)
    path = f"/attendance?project={site['project_id']}&month=2026-03"
    status, body, _ = web.raw("GET", path, token=ADMIN_TOKEN)
    html = body.decode()
    assert status == 200 and "项目月考勤" in html and "导出月考勤" in html and "考勤明细" in html and "导出明细" in html
    assert site["workers"][0]["name"] in html and site["workers"][0]["id_number"] not in html
    assert "√" in html and '>停</span>' in html and "停工" in html and 'data-photos="1"' in html and "attendance.js" in html
    make_account("ana", "analyst")
    status, body, _ = web.raw("GET", path, cookie=web.login("ana"))
    assert status == 200 and 'data-photos="0"' in body.decode() and "考勤照片" not in body.decode()
    status, body, _ = web.raw("GET", f"/attendance?project={site['project_id']}&month=2026-13", token=ADMIN_TOKEN)
    assert status == 200 and "月份" in body.decode()
    assert web.raw("GET", "/static/attendance.js")[0] == 200


def test_grid_export_ends_with_the_headcount_rows(web, site, sdb, mongo_uri, db_name):
    arrange_march(mongo_uri, db_name, sdb, site)
    status, data, _ = web.raw("GET", f"/api/projects/{site['project_id']}/attendance/export?month=2026-03",
                              token=ADMIN_TOKEN)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    present, attended = rows[-2], rows[-1]
    assert status == 200 and present[1] == "在场人数" and attended[1] == "出勤人数"
    # Everyone entered since January: 3 在场 every day; 出勤 1 on the 1st and 2nd (w1), 停 on the 10th,
    # 1 on the 31st (w2); w3's test punch on the 5th does not count.
    assert present[7:7 + 31] == (3,) * 31
    assert attended[7:10] == (1, 1, 0) and attended[11] == 0 and attended[16] == "停" and attended[37] == 1


def test_person_days_give_first_and_last_punch_and_count_and_export_follows(web, site, sdb, mongo_uri, db_name):
    w1, w2, w3 = arrange_march(mongo_uri, db_name, sdb, site)
    punch(mongo_uri, db_name, site, w1, "2026-03-01T12:10:00")  # between the 07:55 and 18:02 punches
    base = f"/api/projects/{site['project_id']}/attendance/days"
    status, body = web.get(f"{base}?from=2026-03-01&to=2026-03-31")
    assert status == 200 and body["truncated"] is False, body
    days = [(d["date"], d["worker_no"], d["count"]) for d in body["days"]]
    # by day then worker; w2's 23:59:59 on the 31st is that day's; w3's test punch is no attendance
    assert days == [("2026-03-01", w1, 3), ("2026-03-02", w1, 1), ("2026-03-10", w1, 1), ("2026-03-31", w2, 1)]
    first = body["days"][0]
    assert first["first"].startswith("2026-03-01T07:55:00") and first["last"].startswith("2026-03-01T18:02:00")
    assert first["name"] == site["workers"][0]["name"]
    assert [d["date"] for d in web.get(f"{base}?from=2026-03-01&to=2026-03-31&worker_no={w2}")[1]["days"]] == [
        "2026-03-31"]
    assert web.get(f"{base}?from=2026-03-01&to=2026-04-15")[0] == 400

    status, data, _ = web.raw("GET", f"{base}/export?from=2026-03-01&to=2026-03-31", token=ADMIN_TOKEN)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    assert status == 200 and rows[0] == ("序号", "姓名", "工人编号", "考勤日期", "首次打卡", "末次打卡", "打卡次数")
    assert rows[1][2:] == (w1, "2026-03-01", "2026-03-01 07:55:00", "2026-03-01 18:02:00", 3)
    assert rows[2][2:] == (w1, "2026-03-02", "2026-03-02 08:00:00", None, 1) and len(rows) == 1 + 4
