"""上传省厅结果查询 over real HTTP on fixed upload records: counts per type with failures first, one project's
failing records with reasons and where to fix them, exports, scope; the lists' 上传省厅 column."""
from __future__ import annotations

import io
from urllib.parse import quote

import openpyxl

from server.store import uploads
from server.store.db import utcnow


def _set(sdb, kind, entity_id, pid, state, reason=""):
    doc = uploads.new_document(kind, entity_id, project_id=pid, content_hash="h", now=utcnow())
    doc.update(state=state, reason=reason)
    sdb.uploads.replace_one({"_id": doc["_id"]}, doc, upsert=True)


def test_results_counts_failures_and_where_to_fix_them(web, sdb, site, make_account):
    pid = site["project_id"]
    sdb.projects.update_one({"_id": pid}, {"$set": {"province": {"appid": "a", "appsecret": "s" * 16}}})
    _set(sdb, "unit", site["unit_id"], pid, uploads.SUCCEEDED)
    _set(sdb, "team", site["team_id"], pid, uploads.SUCCEEDED)
    refused = site["workers"][0]
    _set(sdb, "worker", f"{pid}:{refused['worker_no']}", pid, uploads.FAILED, "头像 headImage 大于 50KB")
    _set(sdb, "worker", f"{pid}:{site['workers'][1]['worker_no']}", pid, uploads.SUCCEEDED)
    make_account("jg_city", "supervisor")
    make_account("jg_jh", "supervisor", county="江海区")
    make_account("xm_site", "project", project_id=pid)
    city, jh, proj = web.login("jg_city"), web.login("jg_jh"), web.login("xm_site")

    status, summary, _ = web.request("GET", "/api/uploads", cookie=city)
    assert status == 200 and summary["state"] == uploads.FAILED and summary["count"] == 1
    row = summary["projects"][0]
    assert row["project_id"] == pid and row["failures"] == 1 and not row["qualified"]
    assert row["counts"]["worker"] == {"success": 1, "failure": 1} and row["counts"]["unit"] == {"success": 1, "failure": 0}
    assert web.request("GET", "/api/uploads", cookie=jh)[1]["count"] == 0  # another county's project
    assert web.request("GET", "/api/uploads?state=" + quote("全部"), cookie=proj)[1]["count"] == 1
    assert web.request("GET", "/api/uploads?state=x", cookie=city)[0] == 400

    status, listing, _ = web.request("GET", f"/api/projects/{pid}/uploads?kind=worker", cookie=proj)
    assert status == 200 and listing["count"] == 1
    record = listing["records"][0]
    assert record["reason"] == "头像 headImage 大于 50KB" and record["fix_url"] == f"/people/{refused['worker_no']}"
    assert refused["name"] in record["name"] and record["kind_label"] == "项目人员"
    assert web.request("GET", f"/api/projects/{pid}/uploads", cookie=jh)[0] == 404

    status, body, _ = web.raw("GET", f"/api/projects/{pid}/uploads/export?kind=worker", cookie=proj)
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert status == 200 and [c.value for c in sheet[2]][1:5] == ["项目人员", record["name"], "上传失败", "头像 headImage 大于 50KB"]
    status, body, _ = web.raw("GET", "/api/uploads/export", cookie=city)
    assert status == 200 and openpyxl.load_workbook(io.BytesIO(body)).active.max_row == 2

    # The lists' 上传省厅 column: the unit and team 成功, the enterprise 成功 through its unit.
    status, page, _ = web.raw("GET", f"/units?project={pid}", cookie=city)
    assert status == 200 and 'class="uploaded"><span class="tag ok"' in page.decode()
    _set(sdb, "unit", site["unit_id"], pid, uploads.FAILED, "corpCode 信用代码校验位错误")
    page = web.raw("GET", "/enterprises", cookie=city)[1].decode()
    assert "失败" in page and "corpCode 信用代码校验位错误" in page
    page = web.raw("GET", "/projects", cookie=city)[1].decode()
    assert "项目未上传成功（总承包单位未上传成功）" in page


def test_attendance_counts_per_punch_lists_each_refused_punch_and_the_page_shows_throughput(web, sdb, site, make_account):
    pid = site["project_id"]
    sdb.projects.update_one({"_id": pid}, {"$set": {"province": {"appid": "a", "appsecret": "s" * 16}}})
    now = utcnow()
    workers = site["workers"]
    items = [{"punch_id": f"V|D|{w['worker_no']}|0", "worker_no": w["worker_no"], "direction": "01", "received_at": now,
              "time": now.replace(hour=1, minute=2, second=3, microsecond=0)} for w in workers]
    batch = uploads.attendance_batch(pid, items, team_id=site["team_id"], now=now)
    refused = {"punch_id": items[1]["punch_id"], "reason": "考勤时间晚于当前时间"}
    batch.update(state=uploads.FAILED, refused=[refused], refused_n=1, reason="1 条考勤被拒：考勤时间晚于当前时间")
    waiting = uploads.attendance_batch(pid, [dict(items[0], punch_id="V|D|x|1")], team_id=None, now=now)
    sdb.uploads.insert_many([batch, waiting])
    make_account("jg_city", "supervisor")
    city = web.login("jg_city")

    status, summary, _ = web.request("GET", "/api/uploads", cookie=city)
    [row] = summary["projects"]
    assert row["counts"]["attendance"] == {"success": len(workers) - 1, "failure": 1} and row["failures"] == 1
    status, listing, _ = web.request("GET", f"/api/projects/{pid}/uploads?kind=attendance", cookie=city)
    assert status == 200 and listing["count"] == 1
    [record] = listing["records"]
    assert record["reason"] == "考勤时间晚于当前时间" and record["batch"] == batch["_id"]
    assert workers[1]["name"] in record["name"] and "09:02:03" in record["name"]   # the punch's site time
    assert record["fix_url"] == f"/attendance?project={pid}" and record["kind_label"] == "人员考勤"
    assert web.request("GET", f"/api/projects/{pid}/uploads?kind=attendance&state=" + quote("上传成功"),
                       cookie=city)[1]["count"] == len(workers) - 1
    page = web.raw("GET", f"/uploads/{pid}", cookie=city)[1].decode()
    assert 'id="backlog">1<' in page   # the waiting batch's one punch

    # Before the upload job ran: said so; after, the rate of its recent passes and the backlog it left.
    assert summary["throughput"] == {"passes": 0, "skipped": ""}
    assert "上传省厅任务尚未运行" in web.raw("GET", "/uploads", cookie=city)[1].decode()
    result = {"seconds": 2.0, "sent": 1500, "rate": 750.0, "marked": {}, "outcomes": {}, "released": 0, "backlog": 1,
              "backlog_by_kind": {"attendance": {uploads.TO_SEND: 1}},
              "recent": [{"at": now, "seconds": 2.0, "sent": 1500}, {"at": now, "seconds": 3.0, "sent": 500}]}
    sdb.jobs.insert_one({"_id": "periodic:province_upload", "kind": "province_upload", "params": {}, "state": "queued",
                         "due_at": now, "attempts": 0, "created_at": now, "finished_at": now, "result": result})
    throughput = web.request("GET", "/api/uploads", cookie=city)[1]["throughput"]
    assert throughput["recent_rate"] == 400.0 and throughput["last_rate"] == 750.0 and throughput["passes"] == 2
    assert throughput["backlog_by_kind"] == {"attendance": {uploads.TO_SEND: 1}}
    page = web.raw("GET", "/uploads", cookie=city)[1].decode()
    assert '<strong id="recent-rate">400.0</strong> 条/秒' in page
    assert '<span class="backlog-kind">人员考勤 待上传 1</span>' in page
